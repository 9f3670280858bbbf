"""Tiers with the real models: e5 retrieval on the seeds (model) and a handful of real LLM answers (llm)."""

from __future__ import annotations

import pytest

from conftest import ROOT
from policyqa.text import match_key
from policyqa.settings import Settings
from qa.chain import Answerer
from faces.wiring import generator_factories
from qa.prompts import PromptLibrary


def _found(result, phrase):
    return any(match_key(phrase) in match_key(h.clause.text) for h in result.hits)


@pytest.mark.model
@pytest.mark.parametrize(("question", "phrase"), [
    ("没有抵押物的小企业怎么贷款", "无担保、无抵押"),
    ("创新券", "科技创新券"),
    ("阳泉意见 二(一)3 是什么", "人才分类评价和职称评定政策"),
    ("朔州对高新技术企业的培育目标", "每年培育 2家科技型企业"),
])
def test_real_hybrid_search_finds_gold(real_retriever, question, phrase):
    assert _found(real_retriever.search(question, k=5), phrase)


@pytest.fixture(scope="module")
def llama_answerer(real_retriever):
    settings = Settings()
    if not settings.llm_path.is_file():
        pytest.skip(f"LLM not assembled at {settings.llm_path}; run `make setup`")
    return Answerer(real_retriever, generator_factories(settings), PromptLibrary(ROOT / "prompts"), default_generator="llama")


@pytest.mark.model
@pytest.mark.llm
def test_real_llm_answers_grounded_question_with_checked_citation(llama_answerer):
    events = list(llama_answerer.stream("朔州的R&D经费占GDP比重目标是多少？"))
    answer = events[-1].answer
    assert not answer.refused and "2.5%" in answer.text
    assert answer.citations and any("2.5%" in c.clause.text for c in answer.citations)
    assert answer.timings_ms["first_token"] <= answer.timings_ms["total"]


@pytest.mark.model
@pytest.mark.llm
def test_real_llm_pipeline_refuses_off_topic(llama_answerer):
    answer = llama_answerer.ask("红烧肉怎么做才好吃？")
    assert answer.refused and not answer.citations


@pytest.mark.model
@pytest.mark.llm
def test_real_llm_does_not_flip_the_exemption(llama_answerer):
    answer = llama_answerer.ask("忻州国企的负责人搞创新出了问题，只要没谋私利，会不会被追责？")
    assert not answer.refused
    text = answer.text
    assert ("免" in text or "不会" in text or "不作" in text or "宽容" in text), text


@pytest.mark.llm
def test_real_llm_reply_follows_the_grammar():
    """llama.cpp accepts the grammar of qa/structured.py and the reply is a span of the shown clause."""
    from qa.generators import LlamaGenerator, Message
    from qa.structured import grammar, parse

    settings = Settings()
    if not settings.llm_path.is_file():
        pytest.skip(f"LLM not assembled at {settings.llm_path}; run `make setup`")
    clauses = ["对首次认定的高新技术企业，给予一次性奖励10万元。", "支持科研人员离岗创业。"]
    system = PromptLibrary(ROOT / "prompts").get("answer_system").render()
    user = "条款：\n" + "\n".join(f"[{n}]{c}" for n, c in enumerate(clauses, 1)) + "\n\n问题：首次认定的高新技术企业奖励多少？"
    gen = LlamaGenerator(settings.llm_path, n_threads=settings.llm_threads)
    raw = gen.generate([Message("system", system), Message("user", user)], max_tokens=60,
                       grammar=grammar(clauses, yes_no=False))
    reply = parse(raw, len(clauses))
    assert reply is not None and reply.quote in clauses[reply.clause - 1], raw
    assert reply.clause == 1 and "10万元" in reply.quote, raw
