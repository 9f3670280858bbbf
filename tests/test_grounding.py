"""Bigram grounding of generated sentences against real seed clauses."""

from __future__ import annotations

from conftest import CORPUS
from qa.grounding import best_clause, support

YQ = (CORPUS / "yangquan-2017.txt").read_text(encoding="utf-8")
CLAUSE_7 = YQ[YQ.index("7.制定、落实更开放的人才流动政策"):YQ.index("8.制定、落实鼓励科技创新的政策措施")]
CLAUSE_8 = YQ[YQ.index("8.制定、落实鼓励科技创新的政策措施"):YQ.index("9.制定、落实更有创新激励作用的用地政策")]
Q = "阳泉的科研人员能不能带着项目和成果辞职出来自己开公司？"


def test_faithful_sentence_is_supported():
    assert support("可以，支持科研人员携带科研项目和科技成果离岗创业", CLAUSE_7, Q) > 0.8


def test_backwards_yes_no_is_not_supported():
    assert support("不可以。", CLAUSE_7, Q) < 0.5


def test_outside_knowledge_is_not_supported():
    assert support("2022年世界杯冠军是法国", CLAUSE_8, "2022年世界杯冠军是哪个国家？") < 0.5


def test_unmarked_sentence_goes_to_the_clause_it_quotes():
    index, score = best_clause("支持科研人员离岗创业", [CLAUSE_8, CLAUSE_7], Q)
    assert index == 1 and score > 0.5


def test_restating_the_question_adds_nothing_to_check():
    assert support("阳泉的科研人员", CLAUSE_8, Q) == 1.0


def test_restatement_with_one_new_bigram_is_not_judged():
    assert support("阳泉支持科技型中小企业融资", CLAUSE_8, "阳泉如何支持科技型中小企业融资？") == 1.0


def test_framing_words_do_not_count_against_a_sentence():
    clause = "加大天然气对成品油替代步伐,2020年城市气化率达到98%。（牵头：市发改委；责任单位：市发改委）"
    q = "朔州提高城市气化率、加快煤制天然气管线建设由哪个部门牵头？"
    assert support("根据条款[1]，朔州提高城市气化率、加快煤制天然气管线建设由市发改委牵头", clause, q) >= 0.5
