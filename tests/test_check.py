"""Answer checking against real clauses from the seed corpus: facts, markers, negation flips."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.check import check_answer, facts, parse_citations, split_sentences, supporting_sentences

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def clause(doc: str, phrase: str) -> str:
    """The one paragraph of corpus/<doc>.txt that contains `phrase`."""
    lines = [ln.strip() for ln in (CORPUS / f"{doc}.txt").read_text(encoding="utf-8").splitlines() if phrase in ln]
    assert len(lines) == 1, (phrase, len(lines))
    return lines[0]


RD = clause("shuozhou-2014", "研究与试验发展(R&D)经费占地区生产总值(GDP)的比重")  # 2.5% by 2020, no tag
HIGH_TECH = clause("shuozhou-2014", "建立高新技术企业培育库")  # 20家 by 2020, 牵头单位:市科技局
CONTRACTS = clause("shuozhou-2014", "技术合同交易总额")  # 5190 万元 -> 12850万元
TOLERANCE = clause("xinzhou-2021", "培育创新容错文化")  # 不作负面评价, 免除相关责任, 免除其决策责任


def test_correct_answer_passes_unchanged() -> None:
    answer = "朔州到2020年R&D经费占GDP比重要达到2.5%以上[1]。高新技术企业培育由市科技局牵头，到2020年达到20家以上[2]。"
    result = check_answer(answer, {1: RD, 2: HIGH_TECH})
    assert result.passed and result.dropped == []
    assert result.kept_text == answer
    assert result.supported_ratio == 1.0


def test_fabricated_percentage_is_dropped_with_its_number() -> None:
    answer = "朔州到2020年R&D经费占GDP比重要达到3.5%以上[1]。该项工作由市科技局牵头[2]。"
    result = check_answer(answer, {1: RD, 2: HIGH_TECH})
    assert not result.passed
    assert [s for s, _ in result.dropped] == ["朔州到2020年R&D经费占GDP比重要达到3.5%以上[1]。"]
    assert "number 3.5%" in result.dropped[0][1] and "[1]" in result.dropped[0][1]
    assert result.kept_text == "该项工作由市科技局牵头[2]。"
    assert result.supported_ratio == 0.5


def test_department_swap_is_caught() -> None:
    result = check_answer("高新技术企业培育由市财政局牵头[1]。", {1: HIGH_TECH})
    assert result.dropped and "unit 市财政局 not in [1]" in result.dropped[0][1]
    assert check_answer("高新技术企业培育由市科技局牵头[1]。", {1: HIGH_TECH}).passed


def test_known_unit_names_are_checked_too() -> None:
    assert facts("请联系忻州银保监局", known_units=["忻州银保监局"]).units == ("忻州银保监局",)
    result = check_answer("该工作由忻州银保监局负责[1]。", {1: TOLERANCE}, known_units=["忻州银保监局"])
    assert "unit 忻州银保监局" in result.dropped[0][1]


def test_unit_alias_spelling_counts_as_support() -> None:
    tagged = clause("shuozhou-2014", "省级以上企业技术中心")  # (牵头单位:市经信委、市发展改革委、市科技局)
    aliases = {"市发展改革委": "市发改委"}  # the corpus's vocabulary.json, as the answer chain passes it
    assert check_answer("该项由市发改委牵头[1]。", {1: tagged}, aliases=aliases).passed
    assert not check_answer("该项由市发改委牵头[1]。", {1: tagged}).passed


def test_invented_money_amount_is_caught() -> None:
    result = check_answer("到2020年技术合同交易总额要达到3000万元[1]。", {1: CONTRACTS})
    assert "number 3000万元 not in [1]" in result.dropped[0][1]
    assert check_answer("到2020年技术合同交易总额要达到12850万元[1]。", {1: CONTRACTS}).passed
    # Same amount written in 亿: value and scale are compared, not spelling.
    assert check_answer("到2020年技术合同交易总额要达到1.285亿元[1]。", {1: CONTRACTS}).passed


@pytest.mark.parametrize(
    "flipped",
    [
        "对政府部门、国有企业相关负责人创新履职中发生问题的，要作出负面评价并追究责任[1]。",
        "资助项目未达到预期发展效果的，相关领导干部要承担决策责任[1]。",
        "干部在改革创新中的失误将被严肃追责[1]。",
    ],
)
def test_backwards_negation_is_caught(flipped: str) -> None:
    result = check_answer(flipped, {1: TOLERANCE})
    assert not result.passed
    assert "drops the negation" in result.dropped[0][1]
    assert result.kept_text == ""


def test_faithful_exemption_passes() -> None:
    answer = (
        "忻州要培育创新容错文化，宽容干部在改革创新中的失误[1]。"
        "相关负责人勤勉尽责、未谋私利的，不作负面评价，依法依规免除相关责任或从轻处理[1]。"
        "资助项目未达到预期发展效果的，依法依规视情形免除其决策责任[1]。"
    )
    assert check_answer(answer, {1: TOLERANCE}).passed


def test_invented_negation_is_caught() -> None:
    result = check_answer("国有企业研发投入不得纳入业绩考评体系[1]。", {1: clause("shuozhou-2014", "纳入国有企业业绩考评体系")})
    assert "negation 不得 not in [1]" in result.dropped[0][1]


def test_dangling_marker_is_removed() -> None:
    text, cited = parse_citations("达到2.5%以上[1]。由市科技局牵头[3]。", 2)
    assert text == "达到2.5%以上[1]。由市科技局牵头。"
    assert cited == [1]
    text, cited = parse_citations("见[0]和[2]", 2)
    assert (text, cited) == ("见和[2]", [2])
    # In check_answer the marker goes too, and its sentence falls back to the clauses cited elsewhere.
    result = check_answer("R&D比重要达到2.5%以上[1]。到2020年高新技术企业达到20家以上[5]。", {1: RD})
    assert result.kept_text == "R&D比重要达到2.5%以上[1]。"
    assert result.dropped == [("到2020年高新技术企业达到20家以上。", "number 20家 not in [1]")]


def test_marker_forms_are_normalised() -> None:
    text, cited = parse_citations("甲[2][1]。乙［１］。丙【2】。丁[1,2]。戊[1、2]。己[１，２]。", 2)
    assert text == "甲[2][1]。乙[1]。丙[2]。丁[1][2]。戊[1][2]。己[1][2]。"
    assert cited == [2, 1]
    # A document number in brackets is not a marker.
    assert parse_citations("晋办发[2020]15号", 2) == ("晋办发[2020]15号", [])


def test_markers_stay_with_their_sentence() -> None:
    assert split_sentences("要达到2.5%以上[1]。由市科技局牵头[2][3]！\n1.另起一行。[4]最后") == [
        "要达到2.5%以上[1]。",
        "由市科技局牵头[2][3]！",
        "1.另起一行。[4]",
        "最后",
    ]


def test_number_boundaries_and_trailing_zeros() -> None:
    assert not check_answer("到2020年比重达到25%以上[1]。", {1: RD}).passed  # 25 is not inside 2.5
    assert not check_answer("到2020年达到250件以上[1]。", {1: clause("shuozhou-2014", "有效发明专利拥有量")}).passed
    assert check_answer("到2020年比重达到2.50%以上[1]。", {1: RD}).passed
    assert check_answer("到２０２０年比重达到２．５％以上［１］。", {1: RD}).passed


def test_facts_of_a_sentence() -> None:
    found = facts("到2020年高新技术企业达到70家以上，增加值力争达到100亿元，每县1-2个，不断提升，不得截留[1]。")
    assert found.numbers == ("70家", "100亿元", "1-2个")
    assert found.dates == ("2020年",)
    assert found.negations == ("不得",)  # 不断 is on the exception list
    assert facts("由市委组织部、市经信委和各县(区)人民政府负责").units == ("市委组织部", "市经信委", "各县(区)人民政府")
    assert facts("这是一句释义").numbers == () and not facts("这是一句释义")


def test_unmarked_sentence_is_checked_against_all_cited_clauses() -> None:
    cites = "R&D比重要达到2.5%以上[1]。该项由市科技局牵头[2]。"
    assert check_answer(cites + "高新技术企业到2020年达到20家以上。", {1: RD, 2: HIGH_TECH}).passed
    bad = check_answer(cites + "高新技术企业到2020年达到50家以上。", {1: RD, 2: HIGH_TECH})
    assert bad.dropped == [("高新技术企业到2020年达到50家以上。", "number 50家 not in [1][2]")]
    # Only clauses the answer cites count: clause 3 is in the prompt but cited nowhere.
    only_one = check_answer("R&D比重要达到2.5%以上[1]。高新技术企业达到20家以上。", {1: RD, 3: HIGH_TECH})
    assert only_one.dropped == [("高新技术企业达到20家以上。", "number 20家 not in [1]")]


def test_paraphrase_without_facts_passes_but_uncited_answer_does_not() -> None:
    assert check_answer("这项政策旨在让企业真正成为创新主体[1]。", {1: RD}).passed
    nothing = check_answer("这项政策旨在让企业真正成为创新主体。", {1: RD})
    assert not nothing.passed and "cites no clause" in nothing.dropped[0][1]


def test_supporting_sentences_pick_the_matching_sentence() -> None:
    picked = supporting_sentences(HIGH_TECH, "朔州到2020年高新技术企业要达到20家以上[1]。")
    assert 1 <= len(picked) <= 2
    assert all(p in HIGH_TECH for p in picked)
    assert any("20家以上" in p for p in picked)
    funding = supporting_sentences(TOLERANCE, "资助项目未达到预期效果的，免除其决策责任")
    assert any(p.startswith("对创新项目进行经费资助") for p in funding)
    assert supporting_sentences(RD, "完全无关的话") == []


def test_every_corpus_sentence_quoted_verbatim_passes(seed_corpus) -> None:
    units = sorted({u for c in seed_corpus.clauses for u in c.departments})
    failures = []
    for c in seed_corpus.clauses:
        for sentence in split_sentences(c.text):
            result = check_answer(sentence.rstrip("。；") + "[1]。", {1: c.text}, units)
            failures += [(c.id, reason) for _, reason in result.dropped]
    assert failures == []
