"""Support items read from real subsidy documents (tests/data/calculator, the shared half of the gold set):
amounts (oracle cases), the shapes of several items in one sentence, quotes that are the document's
own text, and the gold set's recall, precision and amount exactness."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from ingest.amounts import Squeezed, find_amounts
from policyqa.text import match_key

CALC = ROOT / "tests" / "data" / "calculator"


@pytest.fixture(scope="module")
def calc():
    """(loaded corpus, items, gold rows, extracted rows with `doc`, texts) of the calculator documents."""
    from eval.calculator import extract_folder, load_jsonl

    loaded, items, rows, texts = extract_folder(CALC)
    return loaded, items, load_jsonl(CALC / "items.jsonl"), rows, texts


def _one(text: str):
    found = find_amounts(Squeezed.of(text).text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("text, value, unit, cap, low", [
    ("给予企业20 万元奖励", 20, "万元", False, None),          # a space inside the number, as PDF copies have
    ("设立总规模不低于1亿元的引导资金", 10000, "万元", False, None),  # 亿元 read as 万元
    ("每件资助费用最高800元", 800, "元", True, None),
    ("按每招用1人不超过1500元的标准给予补助", 1500, "元", True, None),
    ("按固定资产投资的5%—20%给予企业奖励", 20, "%", True, 5),      # a range: its top, a cap
    ("给予三十万元奖励", 30, "万元", False, None),
    ("登记费全额资助", 100, "%", False, None),
])
def test_amounts_read_value_unit_cap_and_range(text, value, unit, cap, low):
    m = _one(text)
    assert (m.value, m.unit, m.cap, m.low) == (value, unit, cap, low)


def test_amount_context_threshold_step_aggregate_raise_and_per_unit():
    assert _one("固定资产投资1000万元及以上的").threshold
    assert _one("对年纳税额超过500万元的企业").threshold
    assert _one("每增加100万元").threshold                     # the step of 每增加100万元给予30万元, not the benefit
    assert not _one("对其增值税实际税负超过3%的部分实行即征即退").threshold  # the base of a refund
    assert _one("同一申请人每年累计资助不超过8万元").aggregate
    assert _one("个人最高贷款额度可提高至60万元").raise_
    assert _one("给予企业100元/亩奖励").per == "每亩"
    assert [m.per for m in find_amounts(Squeezed.of("按博士每人10000元、硕士每人7000元").text)] == ["每人", "每人"]


def _items_of(calc, clause_suffix: str):
    # "#第9条" is the article whatever numbered headings enclose it ("doc#二.(四).第9条")
    return [i for i in calc[1] if i.clause_id.split("#")[-1].split(".")[-1] == clause_suffix.lstrip("#")]


def test_respectively_gives_one_item_per_listed_case_with_its_own_condition(calc):
    items = [i for i in _items_of(calc, "#第9条") if "企业技术" in i.quote and i.amount.value in (100, 30)]
    assert [(i.amount.value, i.conditions[0]) for i in items] == [
        (100, "初次认定为国家级企业技术(研发)中心"), (30, "初次认定为省级企业技术(研发)中心")]
    assert items[0].quote == items[1].quote


def test_rate_with_a_cap_is_one_item_valued_at_the_cap(calc):
    (item,) = _items_of(calc, "#第11条")
    assert (item.amount.value, item.amount.unit, item.amount.max, item.amount.ratio) == (20, "万元", True, 0.5)


def test_tiers_of_a_condition_make_one_capped_item_and_no_cap_means_no_cap(calc):
    (farm,) = [i for i in _items_of(calc, "#第2条") if "特色农业" in i.quote]
    assert (farm.amount.value, farm.amount.unit, farm.amount.max) == (90, "%", True)
    (hq,) = _items_of(calc, "#第5条")
    assert (hq.amount.value, hq.amount.max) == (90, False)  # 奖励额度不设上限


def test_a_total_replaces_the_per_head_amounts_of_its_sentence(calc):
    (item,) = [i for i in _items_of(calc, "#五") if "招用3人以下" in i.quote]
    assert (item.amount.value, item.amount.unit, item.amount.max) == (3, "万元", True)


def test_caps_over_sums_and_cash_out_schedules_are_no_items(calc):
    quotes = " ".join(i.quote for i in calc[1])
    assert "同一申请人每年累计资助不超过8万元" not in quotes
    assert "应奖励额的30%" not in match_key(quotes)


def test_bracketed_cap_is_the_amount_of_an_amountless_grant(calc):
    (item,) = _items_of(calc, "#第13条")
    assert (item.amount.value, item.amount.max) == (50, True)


def test_a_grant_referring_back_takes_the_earlier_amount(calc):
    (item,) = [i for i in calc[1] if "本地化改造" in i.quote]
    assert (item.amount.value, item.amount.unit) == (3, "%")


def test_quotes_are_the_document_text_and_amounts_are_in_their_quotes(calc):
    loaded = calc[0]
    texts = {d.meta.doc_id: d.text for d in loaded.documents}
    for item in calc[1]:
        a, b = item.span
        assert match_key(texts[item.doc_id][a:b]) == match_key(item.quote), item.id
        if item.amount.value is not None and item.amount.unit != "%":
            number = f"{item.amount.value:g}"
            assert number in re.sub(r"\s+", "", item.quote) or str(int(item.amount.value * 10000)) in item.quote \
                or item.amount.ratio is not None, item.id


def test_gold_set_recall_precision_and_amounts(calc):
    from eval.calculator import score_items

    summary, _ = score_items(calc[2], calc[3], calc[4])
    assert summary["item_recall"] >= 0.9 and summary["item_precision"] >= 0.9, summary
    assert summary["amount_exact"] >= 0.95, summary


def test_items_carry_region_validity_and_handling_unit(calc):
    (liuhe,) = [i for i in _items_of(calc, "#第15条") if i.amount.value == 100]
    assert liuhe.region == "柳河县" and (liuhe.valid_from, liuhe.valid_to) == ("2023-02-08", "2026-02-07")
    tax = [i for i in calc[1] if i.doc_id.startswith("财税")]
    assert {i.region for i in tax} == {"全国"}
    (robot,) = [i for i in calc[1] if "购置额的10%" in i.quote]
    assert robot.department == "市经信局技术进步与质量科" and robot.department_clause.endswith("#四")


def test_a_reply_that_is_not_a_json_array_is_counted_as_rejected():
    from ingest.item_model import checked_drafts

    assert checked_drafts("", None) == ([], 1)  # what a failed generator returns
    assert checked_drafts("[]", None) == ([], 0)  # the model found nothing: not a rejection
