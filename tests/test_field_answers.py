"""The field cases of issue #15 that concern answers (follow-ups, figures in the lines of an item, the
document's issuer, label lines, quotes as written), answered through the chain over each case's own
documents with the hashing embedder and extractive answers. Each right value is a test."""

from __future__ import annotations

import json
import re

import pytest

from conftest import ROOT
from index.build import build_index
from index.embedder import HashingEmbedder
from index.search import Retriever
from policyqa.text import match_key
from qa.chain import Answerer
from qa.extractive import extractive_answer, sentences
from qa.prompts import PromptLibrary
from qa.turn import place_index

FIELD = ROOT.parent / "shared" / "field"
pytestmark = pytest.mark.skipif(not FIELD.is_dir(), reason=f"field cases not found at {FIELD} (../shared absent)")
CASES = ("followup-and-refusal", "gov-html-chrome", "parenthetical-false-unit", "pdf-text-dump", "annex-table-last-article",
         "tag-lead-cooperate")


@pytest.fixture(scope="module")
def answerers(tmp_path_factory):
    """One extractive Answerer per field case, over an index of exactly that case's documents."""
    made = {}
    for case in CASES:
        index = tmp_path_factory.mktemp(case) / "index"
        build_index(FIELD / case / "docs", index, HashingEmbedder())
        made[case] = Answerer(Retriever(index, HashingEmbedder()), {}, PromptLibrary(ROOT / "prompts"),
                              default_generator="extractive")
    return made


def _ask(answerers, case, question, history=()):
    answer = answerers[case].ask(question, history=list(history), generator="extractive")
    return answer, [c.clause.id.split("#", 1)[1] for c in answer.citations]


def _quote(answerers, case, question):
    """The extractive answer to `question` over the case's top hits, before any refusal rule."""
    retriever = answerers[case].retriever
    snap = retriever.snapshot()
    terms = [t for t in snap.tokenizer.tokens(question) if t not in place_index(snap)[0]]
    hits = retriever.search(question, k=5).hits
    text, cited = extractive_answer(question, terms, list(hits), metas=snap.documents, clauses=snap.clauses)
    return text, [h.clause.id.split("#", 1)[1] for h in cited]


@pytest.mark.parametrize(("history", "question", "standalone"), [
    ("创业租金补贴的补贴标准是多少？", "那创业带动就业补贴呢？", "创业带动就业补贴的补贴标准是多少？"),
    ("一次性创业资助的补贴条件是什么？", "补贴标准呢？", "一次性创业资助的补贴标准是多少？"),
    ("创业租金补贴的补贴期限是多久？", "那优秀创业项目资助呢？", "优秀创业项目资助的补贴期限是多久？"),
])
def test_follow_ups_stand_alone_by_substitution(answerers, history, question, standalone):
    answer, _ = _ask(answerers, "followup-and-refusal", question, [history])
    assert answer.standalone_question == standalone


def test_follow_up_on_the_term_quotes_the_term_line(answerers):
    answer, cited = _ask(answerers, "followup-and-refusal", "那优秀创业项目资助呢？", ["创业租金补贴的补贴期限是多久？"])
    assert not answer.refused and "补贴期限：一次性。" in answer.text and cited == ["2~2"]


@pytest.mark.parametrize(("question", "opening", "quoted", "clause"), [
    ("创业带动就业补贴的补贴标准是多少？", "", "招用3人以下的按每人2000元给予补贴；招用4人以上的每增加1人给予3000元补贴，总额最高不超过3万元。", "4~2"),
    ("一次性创业资助的补贴标准是多少？", "10000元。", "补贴标准：10000元。", "1~2"),
    ("创业租金补贴的补贴标准是多少？", "6000元。", "补贴标准：每连续租满1年补贴6000元。", "3~2"),
    ("我招了5个员工，创业带动就业补贴最多能拿多少？", "最高不超过3万元。", "总额最高不超过3万元。", "4~2"),
    ("我开了一家民宿，一次性创业资助能拿多少钱？", "10000元。", "补贴标准：10000元。", "1~2"),
])
def test_amount_comes_from_the_label_line_of_the_item(answerers, question, opening, quoted, clause):
    """fr-1, fr-2, ghc-1, ghc-2, ghc-3: the extractive answer (the chain's refusal rules and its item step
    are other changes'; this is what the extractive answer says)."""
    text, cited = _quote(answerers, "gov-html-chrome", question)
    assert text.startswith(opening) and quoted in text and cited == [clause]


@pytest.mark.parametrize(("case", "question", "opening", "phrase", "clause"), [
    ("gov-html-chrome", "“赢在广州”创业大赛三等奖的项目资助是多少？", "10万元。", "三等奖10万元", "2~2"),
    ("gov-html-chrome", "这份创业补贴文件是哪个部门发布的？", "", "文章来源：市人力资源社会保障局官网", "前言"),
    ("followup-and-refusal", "个体户经营者是62岁的男性，还能申请创业租金补贴吗？", "", "男性不超过60周岁", "3.(1)"),
    ("parenthetical-false-unit", "就业见习基地的初核机构是哪个单位？", "", "初核机构：广州市高校毕业生就业指导中心", "一.(一)"),
    ("pdf-text-dump", "就业困难人员见习期间生活费补贴每月多少钱？", "500元。", "按每月500元给予生活费补贴", "第四章.第十七条"),
    ("pdf-text-dump", "留用见习学员的留用补贴是每人多少？", "3000元。", "按每人3000元给予用人单位留用补贴", "第四章.第十八条"),
])
def test_field_answers_open_with_what_was_asked(answerers, case, question, opening, phrase, clause):
    answer, cited = _ask(answerers, case, question)
    assert not answer.refused and phrase in answer.text and cited == [clause]
    assert opening.rstrip("。") in answer.text.splitlines()[0]  # the figure asked for comes first
    assert not answer.text.startswith(("可以", "不可以"))  # 男性不超过60周岁 settles 62岁 only by reasoning


@pytest.mark.parametrize(("question", "unit", "clause"), [
    ("发展众创空间由哪个单位牵头？", "由市科委牵头", "二.(一).1"),
    ("加强科创平台效能建设由哪个单位牵头？", "由区科技局牵头", "一.(一)"),  # the tag of its heading, not another document's
])
def test_who_leads_opens_with_the_unit(answerers, question, unit, clause):
    answer, cited = _ask(answerers, "tag-lead-cooperate", question)
    assert answer.text.startswith(unit) and cited == [clause]


def test_answer_names_the_document_briefly(answerers):
    answer, _ = _ask(answerers, "pdf-text-dump", "被取消见习基地资格的单位多久内不予认定？")
    assert "两年内不予认定为就业见习基地。”[1]" in answer.text
    assert "›" not in answer.text and "《" not in answer.text.split("：")[0]


@pytest.mark.parametrize("case", CASES)
def test_every_quote_is_the_cited_clause_as_written(answerers, case):
    """Nothing added: each “…”[n] is runs of its clause's sentences (tags removed, a gap marked ……), end
    marks as written."""
    for line in (FIELD / case / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        answer, _ = _ask(answerers, case, q["question"], q.get("history", ()))
        for quote, n in re.findall(r"：“(.*?)”\[(\d+)\]", answer.text, flags=re.S):
            clause = answer.citations[int(n) - 1].clause
            for run in quote.rstrip("…").split("……"):
                key = match_key(run)
                assert key in match_key("".join(sentences(clause.text))) or key in match_key(clause.text), (q["id"], run)
