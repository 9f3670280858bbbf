"""政策计算器 matching on the gold profiles, and the judge's rules one by one (place, dates, thresholds,
refuting facts) on small hand-made cases that could each go wrong."""

from __future__ import annotations

import pytest

from conftest import ROOT
from ingest.items import Amount, SupportItem
from qa.conditions import judge
from qa.match import Profile, judge_item, match_profile
from qa.measures import MET, SOFT, UNKNOWN, UNMET, Place

CALC = ROOT / "tests" / "data" / "calculator"


@pytest.fixture(scope="module")
def matched():
    """(profiles, gold, items, pairs gold→extracted, documents)."""
    from eval.calculator import extract_folder, load_jsonl, score_items

    loaded, items, rows, texts = extract_folder(CALC)
    gold = load_jsonl(CALC / "items.jsonl")
    _, pairs = score_items(gold, rows, texts)
    return load_jsonl(CALC / "profiles.jsonl"), gold, items, pairs, {d.meta.doc_id: d.meta for d in loaded.documents}


def test_gold_profiles_expected_items_are_eligible_and_not_items_are_not(matched):
    profiles, gold, items, pairs, docs = matched
    by_name = {row["item"]: items[pairs[g]].id for g, row in enumerate(gold) if g in pairs}
    for p in profiles:
        result = match_profile(Profile.from_json(p), items, docs)
        eligible = {m.item.id for m in result.eligible}
        assert {by_name[n] for n in p["expected_items"]} <= eligible, p["id"]
        assert not {by_name[x["item"]] for x in p["not_items"]} & eligible, p["id"]


def test_each_unmet_item_names_why(matched):
    profiles, _, items, _, docs = matched
    result = match_profile(Profile.from_json(profiles[1]), items, docs)  # 2017 first recognised, 2023 renewed
    (renewed,) = [m for m in result.ineligible if "初次认定为国家高新技术企业" in m.item.conditions]
    assert any("早于本政策" in u for u in renewed.to_json()["unmet"])
    assert result.to_json()["total"]["unit"] == "万元" and result.total_wan > 0


def _item(region: str, conditions: tuple[str, ...] = ("首次认定为国家高新技术企业",), exclusions=()) -> SupportItem:
    return SupportItem("d#1/1", "奖励", "d", "d#1", "…", (0, 1), "奖励", Amount(20, "万元"), conditions=conditions,
                       region=region, exclusions=tuple(exclusions))


def _facts(region: str, *facts: str, kinds=(), **fields):
    return Profile(region=region, kinds=tuple(kinds), facts=tuple(facts), **fields).facts_view()


@pytest.mark.parametrize("item_region, profile_region, status", [
    ("广东省", "广东省深圳市南山区", "eligible"),     # a province's items reach its cities' enterprises
    ("东莞市", "广东省深圳市南山区", "ineligible"),   # a city's items do not reach another city's
    ("全国", "吉林省通化市柳河县", "eligible"),
    ("", "广东省东莞市", "possible"),                 # a document of unknown place decides nothing
    ("广东省", "深圳市南山区", "possible"),           # a profile naming no province: not ruled out
    ("广州市天河区", "深圳市南山区", "ineligible"),
])
def test_region_of_the_document_against_the_enterprise(item_region, profile_region, status):
    facts = _facts(profile_region, "2024年首次认定为国家高新技术企业")
    assert judge_item(_item(item_region), facts, {}).status == status


def test_an_excluded_place_rules_the_item_out():
    facts = _facts("广东省深圳市南山区", "2024年首次认定为国家高新技术企业")
    assert judge_item(_item("广东省", exclusions=("深圳",)), facts, {}).status == "ineligible"
    assert judge_item(_item("广东省", exclusions=("采矿",)), facts, {}).status == "eligible"


@pytest.mark.parametrize("condition, fact, status", [
    ("专利申请日在2016年2月23日及之前", "2件国内发明专利（申请日2016年5月）于2017年3月授权公告", UNMET),
    ("授权公告日在2017年1月1日至6月30日期间的国内发明专利", "2件国内发明专利（申请日2016年5月）于2017年3月授权公告", MET),
    ("规上工业企业年产值同比增长超过1000万元", "2024年工业总产值同比增长800万元", UNMET),
    ("规上工业企业年产值同比增长超过1000万元", "2024年工业总产值同比增长1500万元", MET),
    ("在天河区依法登记注册", "在天河区依法登记注册", MET),
    ("已认定的广东省工业机器人骨干企业", "不是广东省工业机器人骨干企业", UNMET),
    ("新列入国家级“专精特新”中小企业", "2024年新列入省级“专精特新”中小企业名单", UNMET),
    ("初次认定为国家高新技术企业", "2017年首次认定为国家高新技术企业", UNMET),   # years before a 2023 document
    ("有良好市场前景、对县域经济发展有带动作用", "主营中药", SOFT),
    ("在广州天英汇国际创新创业大赛港澳组赛事获奖", "2024年通过国家高新技术企业认定", UNKNOWN),
])
def test_judge_reads_dates_thresholds_places_and_refuting_facts(condition, fact, status):
    facts = _facts("广东省广州市天河区" if "天河" in condition else "吉林省通化市柳河县", fact,
                   kinds=("规模以上工业企业",))
    assert judge(condition, facts, Place("柳河县", 2023)).status == status


def test_own_place_words_follow_the_documents_place():
    inside = _facts("吉林省通化市柳河县", "新产品在柳河县投产")
    outside = _facts("吉林省通化市辉南县", "新产品在辉南县投产")
    assert judge("产品在县域内投产后", inside, Place("柳河县", 2023)).status == MET
    assert judge("产品在县域内投产后", outside, Place("柳河县", 2023)).status == UNMET


def test_profile_fields_settle_thresholds():
    facts = _facts("广东省东莞市", revenue_wan=900.0)
    assert judge("上年度营业收入不低于1000万元", facts, Place("东莞市", 2026)).status == UNMET
    facts = _facts("广东省东莞市", revenue_wan=1500.0)
    assert judge("上年度营业收入不低于1000万元", facts, Place("东莞市", 2026)).status == MET


def test_profile_json_errors_are_domain_errors():
    from policyqa.errors import PolicyQAError

    with pytest.raises(PolicyQAError):
        Profile.from_json(["not", "an", "object"])
    with pytest.raises(PolicyQAError):
        Profile.from_json({"employees": "many"})
    assert Profile.from_json({"profile": {"region": "广东省", "kinds": ["小微企业"]}}).kinds == ("小微企业",)


def test_a_handling_unit_answer_gives_way_to_a_clause_labelling_the_role_asked():
    from ingest.records import Clause, Hit
    from qa.item_answers import answer_from_items

    grant = Clause(id="d#第十六条", doc_id="d", doc_title="见习基地管理办法", path=("第十六条",), kind="article",
                   text="见习期满后，见习基地可向市公共就业服务机构提出申请，由市财政核拨经费补贴。", span=(0, 38))
    role = Clause(id="p#一.(一)", doc_id="p", doc_title="见习基地申请程序", path=("一、", "(一)"), kind="item",
                  text="（一）初核机构：市高校毕业生就业指导中心；", span=(0, 21))
    item = SupportItem(id="d#第十六条/1", name="见习基地经费补贴", doc_id="d", clause_id=grant.id, quote=grant.text,
                       span=(0, 38), form="补贴", amount=Amount(), department="市公共就业服务机构",
                       department_clause=grant.id)
    clauses = {c.id: c for c in (grant, role)}
    terms = ["就业", "见习", "基地", "初核", "机构", "单位"]
    asked = answer_from_items("见习基地的初核机构是哪个单位？", "见习基地的初核机构是哪个单位？", terms,
                              [Hit(role, 1.0, 1), Hit(grant, 0.9, 2)], [item], clauses)
    assert asked is None  # the clause search answers: its label line names the role asked
    plain = answer_from_items("见习基地补贴向哪个部门申请？", "见习基地补贴向哪个部门申请？", ["见习", "基地", "补贴", "申请"],
                              [Hit(grant, 1.0, 1), Hit(role, 0.9, 2)], [item], clauses)
    assert plain is not None and "市公共就业服务机构" in plain.text
