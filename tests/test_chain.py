"""The answer chain with a scripted generator and a real (hashing) index: citations, checks, refusals,
whole lists, follow-ups, generator failures."""

from __future__ import annotations

import shutil

import pytest

from conftest import CORPUS, ROOT
from fake_openai import free_port, serve_fake_openai
from index.build import build_index
from index.embedder import HashingEmbedder
from index.search import Retriever
from qa.chain import Answerer
from qa.generators import OpenAIGenerator, ScriptedGenerator
from qa.prompts import PromptLibrary


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    shutil.copytree(CORPUS, root / "corpus")
    build_index(root / "corpus", root / "index", HashingEmbedder())
    return Retriever(root / "index", HashingEmbedder())


def _answerer(retriever, **generators):
    factories = {name: (lambda g=g: g) for name, g in generators.items()}
    return Answerer(retriever, factories, PromptLibrary(ROOT / "prompts"), default_generator=next(iter(generators), "extractive"))


Q_RD = "朔州的R&D经费占GDP比重目标是多少？"


def test_grounded_answer_keeps_citation_and_prompt_hash(retriever):
    gen = ScriptedGenerator(["朔州到2020年R&D经费占GDP比重达到2.5%以上[1]。"])
    answer = _answerer(retriever, scripted=gen).ask(Q_RD)
    assert not answer.refused and answer.checked.status == "passed"
    assert "2.5%" in answer.text and [c.n for c in answer.citations] == [1]
    assert "2.5%以上" in answer.citations[0].clause.text
    assert answer.prompt_hash and "+" in answer.prompt_hash
    system, user = gen.calls[0]
    assert "[1]" in user.content and Q_RD in user.content


def test_fabricated_number_is_caught(retriever):
    gen = ScriptedGenerator(["朔州到2020年R&D经费占GDP比重达到3.5%以上[1]。该目标由市科技局负责[1]。"])
    answer = _answerer(retriever, scripted=gen).ask(Q_RD)
    assert "3.5%" not in answer.text
    assert answer.checked.status in ("dropped", "fallback")


def test_every_sentence_fabricated_falls_back_to_extractive(retriever):
    gen = ScriptedGenerator(["目标是9.9%[1]。"])
    answer = _answerer(retriever, scripted=gen).ask(Q_RD)
    assert answer.generator == "extractive" and answer.checked.status == "fallback"
    assert "2.5%" in answer.text and "9.9%" not in answer.text


def test_markers_pointing_nowhere_are_removed_and_only_cited_clauses_returned(retriever):
    gen = ScriptedGenerator(["朔州到2020年R&D经费占GDP比重达到2.5%以上[1][7]。"])
    answer = _answerer(retriever, scripted=gen).ask(Q_RD)
    assert "[7]" not in answer.text and [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize("question", ["明天阳泉的天气怎么样？", "红烧肉怎么做才好吃？", "大同市对科技型中小企业的创新券补助标准是多少？",
                                      "朔州到2025年研发经费投入强度的目标是多少？"])
def test_uncovered_questions_are_refused_without_calling_the_generator(retriever, question):
    gen = ScriptedGenerator([])
    answer = _answerer(retriever, scripted=gen).ask(question)
    assert answer.refused and not answer.citations and answer.related
    assert gen.calls == []
    assert answer.text.count("。") == 1


def test_answerable_question_is_not_refused(retriever):
    answer = _answerer(retriever, extractive=None).ask("阳泉的科研人员能不能带着项目和成果辞职出来自己开公司？", generator="extractive")
    assert not answer.refused and "离岗创业" in answer.text


def test_follow_up_is_rewritten(retriever):
    answer = _answerer(retriever).ask("那朔州呢？", history=["阳泉的高新技术企业目标是多少？"], generator="extractive")
    assert answer.standalone_question == "朔州的高新技术企业目标是多少？"
    assert all(c.clause.doc_id == "shuozhou-2014" for c in answer.citations)


def test_whole_list_question_returns_every_matching_clause(retriever):
    answer = _answerer(retriever).ask("市科技局牵头负责哪些工作", generator="extractive")
    expected = {c.id.split("~")[0] for c in retriever.data.clauses if "市科技局" in c.lead}
    assert answer.count == len(expected) == len(answer.citations) > 20
    assert {c.clause.id.split("~")[0] for c in answer.citations} == expected
    assert f"共 {len(expected)} 项" in answer.text


def test_unreachable_openai_endpoint_gives_clear_error_and_extractive_answer(retriever):
    gen = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", "test-model", "sk-secret", timeout_s=2)
    answer = _answerer(retriever, openai=gen).ask(Q_RD)
    assert answer.generator == "extractive" and "2.5%" in answer.text
    assert "openai failed" in answer.checked.text and "127.0.0.1" in answer.checked.text
    assert "sk-secret" not in answer.checked.text


def test_openai_generator_through_local_server(retriever):
    with serve_fake_openai(["朔州到2020年R&D经费占GDP比重达到2.5%以上[1]。"]) as base_url:
        gen = OpenAIGenerator(base_url, "test-model", "sk-test", timeout_s=5)
        events = list(_answerer(retriever, openai=gen).stream(Q_RD))
    tokens = [e.text for e in events if e.kind == "token"]
    answer = events[-1].answer
    assert len(tokens) > 1 and answer.generator == "openai" and answer.checked.status == "passed"


def test_extractive_answer_cites_one_clause_with_the_fact(retriever):
    """Quotes come from the single best clause, so every citation carries the fact (citation precision)."""
    answer = _answerer(retriever).ask("朔州到2020年R&D经费占GDP比重达到多少？", generator="extractive")
    assert len(answer.citations) == 1 and "2.5%" in answer.citations[0].clause.text
    assert "2.5%" in answer.text and answer.text.count("[1]") >= 1 and "[2]" not in answer.text


def test_comparison_quotes_one_clause_from_each_named_document(retriever):
    answer = _answerer(retriever).ask("阳泉和忻州对高校、科研院所人才到企业兼职的规定有什么不同？", generator="extractive")
    docs = {c.clause.doc_id for c in answer.citations}
    assert len(answer.citations) == 2 and len(docs) == 2
    assert "阳泉" in answer.citations[0].clause.region + answer.citations[1].clause.region


def test_generator_sees_short_labelled_clauses_and_the_check_uses_the_same_ones(retriever):
    gen = ScriptedGenerator(["朔州到2020年R&D经费占GDP比重达到2.5%以上[1]。"])
    answerer = _answerer(retriever, scripted=gen)
    answer = answerer.ask(Q_RD)
    user = gen.calls[0][1].content
    shown = [line for line in user.splitlines() if line.startswith("[")]
    # the clause the extractive answer cites, for a one-fact question (prompt tokens cost time)
    assert len(shown) == 1 and "2.5%" in shown[0]
    assert all(line.startswith(f"[{n}]（") for n, line in enumerate(shown, 1))  # a short label, not title + path
    assert "《" not in "".join(shown)
    assert answer.checked.status == "passed"  # the check judges [1] against the clause shown
    # a short answer is followed by the source sentence it comes from
    assert "原文：“——研究与试验发展(R&D)经费" in answer.text


def test_rate_question_answered_only_by_a_count_is_refused(retriever):
    answer = _answerer(retriever).ask("高新技术企业的企业所得税按多少税率征收？", generator="extractive")
    assert answer.refused and not answer.citations


def test_first_use_of_a_generator_creates_it_once_under_concurrency(retriever):
    import threading
    import time

    made = []

    def factory():
        time.sleep(0.05)
        made.append(1)
        return ScriptedGenerator(["好[1]。"] * 10)

    answerer = Answerer(retriever, {"slow": factory}, PromptLibrary(ROOT / "prompts"), default_generator="slow")
    threads = [threading.Thread(target=answerer.generator, args=("slow",)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1


def test_bare_yes_to_a_what_question_is_not_an_answer(retriever):
    """The small model opens who/what answers with 可以: stripped, and a bare 可以 falls back to quotes."""
    bare = _answerer(retriever, scripted=ScriptedGenerator(["可以[1]"])).ask(Q_RD)
    assert bare.checked.status == "fallback" and "2.5%" in bare.text
    opened = _answerer(retriever, scripted=ScriptedGenerator(["可以[1]。朔州到2020年R&D经费占GDP比重达到2.5%以上[1]。"])).ask(Q_RD)
    assert not opened.text.startswith("可以") and "2.5%" in opened.text
    yes_no = _answerer(retriever, scripted=ScriptedGenerator(["可以[1]。"])).ask("阳泉的科研人员能不能离岗创业？")
    assert yes_no.text.startswith("可以")


def test_framing_only_answer_falls_back_to_quotes(retriever):
    """"依据条款[1]和[2]。" says where an answer would come from, not what it is."""
    answer = _answerer(retriever, scripted=ScriptedGenerator(["依据条款[1]和[2]。"])).ask(Q_RD)
    assert answer.checked.status == "fallback" and "2.5%" in answer.text


def test_generated_responsibility_answer_carries_the_tag_as_written(retriever):
    """The model shortens 市人力资源社会保障局 to 市人社局; the tag as the document writes it is added."""
    question = "朔州完善人才培育、引进和使用机制由哪些部门牵头？"
    gen = ScriptedGenerator(["牵头部门是市委组织部、市人社局[1]。"])
    answer = _answerer(retriever, scripted=gen).ask(question)
    assert answer.generator == "scripted" and answer.checked.status == "passed"
    assert answer.text.startswith("牵头部门是市委组织部、市人社局[1]。")
    assert "市人力资源社会保障局" in answer.text and "原文标注" in answer.text
    complete = _answerer(retriever, scripted=ScriptedGenerator(["由市委组织部、市人力资源社会保障局牵头[1]。"])).ask(question)
    assert "原文标注" not in complete.text  # nothing to add when the answer names every unit of the tag


def test_generated_answer_to_a_named_clause_quotes_that_clause(retriever):
    """A summary that restates the heading is followed by the clause's own wording."""
    gen = ScriptedGenerator(["忻州方案六(三)是关于执行国家激励创新的税收政策的[1]。"])
    answer = _answerer(retriever, scripted=gen).ask("忻州方案六(三)是关于什么的？")
    assert answer.generator == "scripted" and "原文：“" in answer.text
    assert "税收优惠政策" in answer.text and [c.n for c in answer.citations] == [1]


def test_generated_comparison_quotes_every_named_document(retriever):
    """The model answered for one document only; each named document gets its quote and citation."""
    gen = ScriptedGenerator(["阳泉的目标是技术合同交易总额达到7000万元。"])  # unmarked: attributed by wording
    answer = _answerer(retriever, scripted=gen).ask("阳泉和朔州的技术合同交易总额目标分别是多少？")
    assert answer.generator == "scripted"
    assert "7000万元" in answer.text and "12850万元" in answer.text
    assert len({c.clause.doc_id for c in answer.citations}) == 2
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)


def test_sentence_naming_a_place_its_clause_is_not_from_is_dropped(retriever):
    """Every word of "阳泉…2.5%以上[1]" is in 朔州's clause except the place: the fact is attributed
    to the wrong city, so the sentence goes (here the only one: the answer falls back to quotes)."""
    wrong = _answerer(retriever, scripted=ScriptedGenerator(["阳泉到2020年R&D经费占GDP比重达到2.5%以上[1]。"])).ask(Q_RD)
    assert wrong.checked.status == "fallback" and "阳泉" in wrong.checked.text
    assert "阳泉到2020年" not in wrong.text and "2.5%" in wrong.text
    mixed = ScriptedGenerator(["朔州到2020年R&D经费占GDP比重达到2.5%以上[1]。阳泉的目标也是2.5%以上[1]。"])
    kept = _answerer(retriever, scripted=mixed).ask(Q_RD)
    assert kept.checked.status == "dropped" and len(kept.checked.reasons) == 1 and "阳泉" not in kept.text and "朔州到2020年" in kept.text


def test_amount_question_is_refused_when_the_only_amount_is_for_something_else(retriever):
    from dataclasses import replace

    from ingest.records import Hit
    from qa.turn import refusal_policy

    question = "阳泉对新认定的高新技术企业一次性奖励多少万元？"
    terms = [t for t in retriever.tokenizer.tokens(question) if t != "阳泉"]  # as the chain passes them
    target = next(c for c in retriever.data.clauses if c.doc_id == "yangquan-2017" and "100亿元" in c.text)
    assert "高新技术企业" in target.text  # same sentence as the amount, but the amount is an output target
    other = replace(target, text="对首次认定的企业一次性给予奖励。")  # on topic, no amount
    policy = refusal_policy(retriever.snapshot())
    refusal = policy.decide(question, terms, [Hit(target, 1.0, 1), Hit(other, 0.9, 2)])
    assert refusal and refusal.rule == "amount"
    stated = replace(other, text="对新认定的高新技术企业，给予一次性奖励10万元。")
    assert policy.decide(question, terms, [Hit(stated, 1.0, 1), Hit(other, 0.9, 2)]) is None


def test_when_question_is_refused_when_no_clause_states_a_time_for_it(retriever):
    from dataclasses import replace

    from ingest.records import Hit
    from qa.turn import refusal_policy

    question = "阳泉科技创新券的申领截止日期是什么时候？"
    terms = [t for t in retriever.tokenizer.tokens(question) if t != "阳泉"]
    target = next(c for c in retriever.data.clauses if c.doc_id == "yangquan-2017" and "创新券" in c.text)
    undated = replace(target, text="企业可申领科技创新券，用于购买科技服务。本意见自2017年3月1日起施行。")
    policy = refusal_policy(retriever.snapshot())
    refusal = policy.decide(question, terms, [Hit(undated, 1.0, 1)])  # the only date is for something else
    assert refusal and refusal.rule == "no_time"
    dated = replace(target, text="企业可申领科技创新券，申领截止日期为每年11月30日。")
    assert policy.decide(question, terms, [Hit(dated, 1.0, 1)]) is None


def test_json_reply_is_worded_by_the_code_streamed_as_its_quote_and_checked(retriever):
    """The reply shape of qa/structured.py: a clause number and a span of it; the client sees the span,
    the answer opens with the figure the quote states, and the model chooses within the clause the
    extractive answer cites."""
    gen = ScriptedGenerator(['{"clause":1,"quote":"到2020年达到2.5%以上"}'])
    events = list(_answerer(retriever, scripted=gen).stream(Q_RD))
    answer = events[-1].answer
    assert answer.checked.status == "passed" and answer.text.startswith("2.5%以上。到2020年达到2.5%以上[1]。")
    assert "".join(e.text for e in events if e.kind == "token") == "到2020年达到2.5%以上"
    root = gen.grammars[0].splitlines()[0]
    assert "quote1" in root and "answer" not in root  # not a yes/no question
    extractive = _answerer(retriever).ask(Q_RD)
    assert answer.citations[0].clause.id == extractive.citations[0].clause.id


def test_json_yes_no_reply_is_worded_by_what_its_quote_settles(retriever):
    """The yes/no word is the code's, from the quoted phrase's stance and the question's form: a model's
    不可以 to a supporting quote, or its 可以 to a 有没有 question, does not reach the reader."""
    quote = '"quote":"支持科研人员携带科研项目和科技成果离岗创业"'
    for word in ("可以", "不可以"):
        reply = '{"clause":1,%s,"answer":"%s"}' % (quote, word)
        answer = _answerer(retriever, scripted=ScriptedGenerator([reply])).ask("阳泉的科研人员能不能离岗创业？")
        assert answer.checked.status == "passed" and answer.text.startswith("可以，支持科研人员"), answer.text
    has = _answerer(retriever, scripted=ScriptedGenerator(['{"clause":1,%s,"answer":"可以"}' % quote])).ask(
        "阳泉有没有支持科研人员离岗创业的政策？")
    assert has.text.startswith("有，支持科研人员"), has.text


def test_json_reply_citing_a_clause_not_shown_or_inventing_a_figure_falls_back(retriever):
    stray = _answerer(retriever, scripted=ScriptedGenerator(['{"clause":5,"quote":"到2020年达到2.5%以上"}'])).ask(Q_RD)
    assert stray.checked.status == "fallback" and "cites clause 5" in stray.checked.text and "2.5%" in stray.text
    made_up = _answerer(retriever, scripted=ScriptedGenerator(['{"clause":1,"quote":"到2020年达到3.5%以上"}'])).ask(Q_RD)
    assert made_up.checked.status == "fallback" and "3.5%" not in made_up.text


def test_a_generator_raising_any_error_still_gets_the_quoted_answer(retriever, caplog):
    """A backend's own exception (an HTTP client error, llama.cpp, a bug) must not leave a chat waiting:
    the answer falls back to the cited clauses and the cause is logged once."""
    def broken(messages):
        raise ConnectionResetError("peer closed the stream")

    with caplog.at_level("ERROR", logger="qa.chain"):
        answer = _answerer(retriever, scripted=ScriptedGenerator(broken)).ask(Q_RD)
    assert answer.checked.status == "fallback" and "ConnectionResetError" in answer.checked.text
    assert "2.5%" in answer.text and answer.citations
    assert sum("ConnectionResetError" in r.getMessage() for r in caplog.records) == 1


def test_a_span_starting_with_a_yes_no_character_keeps_it():
    """"有效期至…" opens with 有: only a yes/no word standing alone is stripped from a what-answer."""
    from qa.verify import _BARE_YES_NO

    assert _BARE_YES_NO.sub("", "有效期至2026年12月31日[1]。", count=1) == "有效期至2026年12月31日[1]。"
    assert _BARE_YES_NO.sub("", "可以，由市科技局负责[1]。", count=1) == "由市科技局负责[1]。"
    assert _BARE_YES_NO.sub("", "有[1]。", count=1) == ""


def test_a_materials_question_is_refused_when_no_clause_found_names_materials(retriever):
    from dataclasses import replace

    from ingest.records import Hit
    from qa.turn import refusal_policy

    question = "申请科技创新券需要提交哪些材料？"
    terms = retriever.tokenizer.tokens(question)
    target = next(c for c in retriever.data.clauses if c.doc_id == "yangquan-2017" and "创新券" in c.text)
    policy = refusal_policy(retriever.snapshot())
    plain = replace(target, text="企业可申请科技创新券，用于购买科技服务。")
    refusal = policy.decide(question, terms, [Hit(plain, 1.0, 1)])
    assert refusal and refusal.rule == "missing_field" and "材料" in refusal.message
    listed = replace(target, text="申请科技创新券需提交以下材料：营业执照、服务合同。")
    assert policy.decide(question, terms, [Hit(listed, 1.0, 1)]) is None
