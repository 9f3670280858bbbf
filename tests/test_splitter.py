"""The clause splitter on the four seeds: properties (nothing lost, ids stable) and hand-checked fixtures."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from ingest.departments import find_tags, parse_tag
from ingest.records import DocMeta, Document
from ingest.splitter import split_document
from splitcheck import assert_partition

SEEDS = ["yangquan-2017", "xinzhou-2021", "county-innovation", "shuozhou-2014"]


def _doc(seed_corpus, doc_id):
    return next(d for d in seed_corpus.documents if d.meta.doc_id == doc_id)


def _clauses(seed_corpus, doc_id):
    return [c for c in seed_corpus.clauses if c.doc_id == doc_id]


def _assert_partition(doc, clauses):
    """Clause spans are disjoint; every non-space character outside them is a heading-only line."""
    assert_partition(doc, clauses)
    assert all(c.text == doc.text[c.span[0] : c.span[1]] for c in clauses)  # seeds have no furniture


@pytest.mark.parametrize("doc_id", SEEDS)
def test_no_text_lost_or_duplicated(seed_corpus, doc_id):
    _assert_partition(_doc(seed_corpus, doc_id), _clauses(seed_corpus, doc_id))


@pytest.mark.parametrize("doc_id", SEEDS)
def test_ids_unique_and_stable(seed_corpus, doc_id):
    doc = _doc(seed_corpus, doc_id)
    first = [c.id for c in _clauses(seed_corpus, doc_id)]
    again = [c.id for c in split_document(doc)]
    assert len(set(first)) == len(first)
    assert first == again


@pytest.mark.parametrize("doc_id", SEEDS)
def test_clauses_within_limit(seed_corpus, doc_id):
    assert all(0 < len(c.text) <= 400 for c in _clauses(seed_corpus, doc_id))


@pytest.mark.parametrize("doc_id", SEEDS)
def test_no_clause_starts_mid_sentence(seed_corpus, doc_id):
    doc = _doc(seed_corpus, doc_id)
    for c in _clauses(seed_corpus, doc_id):
        before = doc.text[: c.span[0]].rstrip(" \u00a0\u3000\t")
        assert before == "" or before.endswith("\n") or re.search(r"[。！？；;!?][”’\"')）]*$", before), c.id


FIXTURES = [
    ("yangquan-2017#前言", "前言"),
    ("yangquan-2017#一.(一)", "一、战略定位与创新目标 › (一)战略定位"),
    ("yangquan-2017#二", "二、战略部署与创新行动"),
    ("yangquan-2017#二.(一).3", "二、战略部署与创新行动 › (一)科技政策创新行动 › 3."),
    ("yangquan-2017#二.(十).1", "二、战略部署与创新行动 › (十)多元科技投入和科技金融融合发展行动 › 1."),
    ("yangquan-2017#三.(三)", "三、战略保障与创新环境 › (三)加大考核力度"),
    ("xinzhou-2021#一", "一、指导思想"),
    ("xinzhou-2021#四.(三).2", "四、科学建设创新驱动新体系 › (三)构建创新成果转移转化体系 › 2."),
    ("xinzhou-2021#七.(一).4", "七、营造创新生态新环境 › (一)完善创新制度 › 4."),
    ("xinzhou-2021#八.(三)", "八、强化组织保障措施 › (三)加强舆论宣传"),
    ("xinzhou-2021#六.(二).4", "六、培育金融支撑新机制 › (二)引导金融业加强创新支持 › 4."),
    ("county-innovation#前言", "前言"),
    ("county-innovation#一.(一)", "一、总体要求 › (一)指导思想"),
    ("county-innovation#二.(二)~2", "二、主要任务 › (二)支持县域科技型企业加快发展"),
    ("county-innovation#二.(九)", "二、主要任务 › (九)加大县域科学普及工作力度"),
    ("county-innovation#三.(四)", "三、保障措施 › (四)做好宣传总结"),
    ("shuozhou-2014#一~2", "一、行动纲领"),
    ("shuozhou-2014#二.(一).1", "二、重大创新工程 › (一)低碳创新发展工程 › 1."),
    ("shuozhou-2014#三.(三)", "三、企业技术创新主体建设行动 › (三)培育科技型中小微企业"),
    ("shuozhou-2014#四.(五)", "四、重点产业创新行动 › (五)节能环保"),
    ("shuozhou-2014#七.(二)", "七、保障措施 › (二)加大政府投入"),
]


@pytest.mark.parametrize(("clause_id", "path"), FIXTURES)
def test_hand_checked_paths(seed_corpus, clause_id, path):
    by_id = {c.id: c for c in seed_corpus.clauses}
    assert clause_id in by_id, f"missing {clause_id}"
    assert by_id[clause_id].path_text == path


def test_long_provision_parts_share_path(seed_corpus):
    parts = [c for c in seed_corpus.clauses if c.id.startswith("yangquan-2017#一.(二)~")]
    assert len(parts) >= 2
    assert {c.path for c in parts} == {("一、战略定位与创新目标", "(二)创新目标")}
    assert [c.part for c in parts] == list(range(1, len(parts) + 1))


# Each of the five tag shapes, twice: (clause id, tag index in clause, lead, all responsible units).
TAG_FIXTURES = [
    ("yangquan-2017#二.(一).3", 0, ("市人社局",), ("市人社局",)),  # 牵头单位:
    ("shuozhou-2014#七.(二)", 0, ("市财政局",), ("市财政局",)),
    ("shuozhou-2014#五.(三)", 0, ("市科技局", "各县区政府"), ("市科技局", "各县区政府")),
    ("xinzhou-2021#三.(一)", 0, ("市工信局",), ("市工信局",)),  # X牵头负责
    ("xinzhou-2021#七.(一).4", 0, ("市行政审批局", "市科技局"), ("市行政审批局", "市科技局")),
    ("xinzhou-2021#四.(四).2", 0, (), ("市发改委", "市商务局")),  # 分工负责
    ("xinzhou-2021#五.(三).3", 0, (), ("市人社局", "市科技局")),
    ("xinzhou-2021#四.(三).4", 0, ("市科技局",), ("市科技局", "市市场监管局")),  # 牵头,…等部门分工负责
    ("xinzhou-2021#四.(六).3", 0, ("市工信局", "市发改委"), ("市工信局", "市发改委", "市科技局")),
    ("shuozhou-2014#四.(五)", 1, (), ("市环境保护局", "市经信委", "市水务局")),  # bare list
    ("xinzhou-2021#四.(一).3", 0, (), ("市工信局", "市科技局", "市财政局", "市税务局", "市工业和信息化服务中心")),
]


@pytest.mark.parametrize(("clause_id", "index", "lead", "units"), TAG_FIXTURES)
def test_tag_shapes(seed_corpus, clause_id, index, lead, units):
    clause = next(c for c in seed_corpus.clauses if c.id == clause_id)
    tag = find_tags(clause.text)[index]
    assert (tag.lead, tag.departments) == (lead, units)
    assert set(units) <= set(clause.departments)


def _independent_tag_count(text: str) -> int:
    """Count tags by their closing words, without the parser: 牵头单位:…, …牵头负责, …分工负责, bare lists."""
    t = text.replace("（", "(").replace("）", ")").replace("：", ":")
    shaped = re.findall(r"\(牵头单位:[^()]+\)|\([^()]+牵头负责\)|\([^()]+分工负责\)", t)
    bare = re.findall(r"\((?:市[^()、,]{1,12}?(?:局|委|办|中心)、)+市[^()、,]{1,12}?(?:局|委|办|中心)\)", t)
    return len(shaped) + len(bare)


@pytest.mark.parametrize("doc_id", SEEDS)
def test_every_tag_found_and_kept(seed_corpus, doc_id):
    doc = _doc(seed_corpus, doc_id)
    clauses = _clauses(seed_corpus, doc_id)
    found = [t for c in clauses for t in c.tags]
    assert len(found) == _independent_tag_count(doc.text)
    assert len(find_tags(doc.text)) == len(found), "a tag was cut in two by a clause boundary"
    for c in clauses:
        for raw in c.tags:
            assert raw in c.text


def test_fallback_to_paragraphs_without_numbering():
    text = "这是第一段，没有编号。\n\n这是第二段。\n第三段紧跟着。\n"
    doc = Document(DocMeta("plain", "plain"), text, "")
    clauses = split_document(doc)
    assert [c.id for c in clauses] == ["plain#段1", "plain#段2", "plain#段3"]
    assert [c.text for c in clauses] == ["这是第一段，没有编号。", "这是第二段。", "第三段紧跟着。"]


def test_law_articles_under_chapters():
    text = "# 某某条例\n\n## 第一章 总则\n\n第一条 为了规范管理，制定本条例。\n\n第二条 本条例适用于全省。\n\n## 第二章 附则\n\n### 第一节 其他\n\n第三条 本条例自公布之日起施行。\n"
    clauses = split_document(Document(DocMeta("law", "某某条例"), text, ""))
    by_id = {c.id: c.path_text for c in clauses}
    assert by_id["law#第一章.第一条"] == "第一章 总则 › 第一条"
    assert by_id["law#第二章.第一节.第三条"] == "第二章 附则 › 第一节 其他 › 第三条"
    assert "law#前言" in by_id  # the title line is kept, not dropped


LINES = st.sampled_from([
    "一、总体要求", "（一）指导思想", "(二)发展目标。力争5年内取得突破。", "1.支持企业创新。加大投入。",
    "2、完善机制，强化保障。（市科技局牵头负责）", "（1）落实政策。", "──目标达到60%以上。",
    "各县区要高度重视。", "第一条 为了规范管理，制定本办法。", "支持科技型中小企业发展" * 30 + "。", "",
])


@settings(max_examples=150, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=25), st.sampled_from(["\n", "\n\n", "\r\n"]))
def test_property_partition_on_generated_documents(lines, sep):
    text = sep.join(lines).replace("\r\n", "\n")
    doc = Document(DocMeta("gen", "gen"), text, "")
    clauses = split_document(doc, limit=120)
    _assert_partition(doc, clauses)
    assert len({c.id for c in clauses}) == len(clauses)
    assert all(len(c.text) <= 120 for c in clauses)
    assert [c.id for c in split_document(doc, limit=120)] == [c.id for c in clauses]


def test_tag_units_as_written_and_the_corpus_aliases_applied_on_load(tmp_path):
    """The parser gives the names as the document writes them (what an answer must show a reader); the
    corpus folder's vocabulary.json gives one office's two spellings one name on its clauses."""
    import json

    from ingest.corpus import load_corpus

    tag = "（牵头单位：市委组织部、市人力资源社会保障局）"
    assert parse_tag(tag) == (("市委组织部", "市人力资源社会保障局"),) * 2
    assert parse_tag("市科技局牵头，市财政局等部门分工负责") == (("市科技局",), ("市科技局", "市财政局"))
    (tmp_path / "a.txt").write_text("一、就业\n1.做好见习工作。" + tag + "\n", encoding="utf-8")
    (tmp_path / "vocabulary.json").write_text(json.dumps({"unit_aliases": {"市人力资源社会保障局": "市人社局"}}),
                                              encoding="utf-8")
    tagged = [c for c in load_corpus(tmp_path).clauses if c.departments]
    assert tagged and tagged[0].lead == ("市委组织部", "市人社局")
