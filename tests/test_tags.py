"""Responsibility tags in every common shape, false tags that must not parse, heading tags, annex task
tables, and the `cooperating` field through every JSON shape."""

from __future__ import annotations

import pytest

from ingest.departments import find_tags, parse_tag, read_tag, unit_counts, unit_role
from ingest.records import Clause, DocMeta, Document, Hit
from ingest.splitter import split_document
from ingest.units import has_unit_suffix, looks_like_unit, split_units, unit_suffixes

# (tag as written, lead, responsible, cooperating)
SHAPES = [
    ("(区政务服务局牵头,区发改局、区审改办、区级相关部门配合)", ("区政务服务局",), (), ("区发改局", "区审改办", "区级相关部门")),
    ("（市科技局牵头，市财政局、市人社局配合）", ("市科技局",), (), ("市财政局", "市人社局")),
    ("(牵头单位:市科委,配合单位:各区县市)", ("市科委",), (), ("各区县市",)),
    ("（牵头单位：市经信局；配合单位：市财政局、市税务局）", ("市经信局",), (), ("市财政局", "市税务局")),
    ("(牵头单位:市商务局  责任单位:市编办、市发改委、各区县政府)", ("市商务局",), ("市编办", "市发改委", "各区县政府"), ()),
    ("（牵头单位：市住建局\t责任单位：市城管局）", ("市住建局",), ("市城管局",), ()),
    ("（责任单位：市发改委、市财政局等；各区政府）", (), ("市发改委", "市财政局", "各区政府"), ()),
    ("（责任部门：县农业农村局、县林业局）", (), ("县农业农村局", "县林业局"), ()),
    ("（牵头部门：省教育厅；协办单位：省科技厅）", ("省教育厅",), (), ("省科技厅",)),
    ("(市交通委（市道运局）牵头，市公安局配合)", ("市交通委(市道运局)",), (), ("市公安局",)),
    ("（市工信局牵头负责）", ("市工信局",), (), ()),
    ("（市科技局、市工信局分工负责）", (), ("市科技局", "市工信局"), ()),
    ("（市科技局牵头，市财政局等部门分工负责）", ("市科技局",), ("市财政局",), ()),
    ("（市工信局、市科技局、市财政局）", (), ("市工信局", "市科技局", "市财政局"), ()),
    ("（区民政局负责，各街道办事处协助）", (), ("区民政局",), ("各街道办事处",)),
    # a deadline inside the tag is left out; "由" is not part of the unit
    ("（由市科技局牵头，市财政局配合；2025年底前完成）", ("市科技局",), (), ("市财政局",)),
    ("（责任单位：市科技局，完成时限：持续推进）", (), ("市科技局",), ()),
    ("（牵头单位：市科技局 配合单位：市财政局 完成时间：2025年）", ("市科技局",), (), ("市财政局",)),
]


@pytest.mark.parametrize(("tag", "lead", "responsible", "cooperating"), SHAPES)
def test_tag_shapes_keep_roles_apart(tag, lead, responsible, cooperating):
    assert read_tag(tag) == {"lead": lead, "responsible": responsible, "cooperating": cooperating}
    assert parse_tag(tag) == (lead, tuple(dict.fromkeys(lead + responsible + cooperating)))


@pytest.mark.parametrize("text", [
    "（以下简称市高指中心）", "（以下简称“市科技局”）", "(下称区民政局)", "（以下统称省级人民政府）",
    "（园区）", "(R&D)", "（晋办发〔2020〕15号）", "（不含6亩）", "（涉及水土保持项目）", "（鼓励龙头企业牵头）",
    "（企业负责）", "（高新区）", "（中央直辖市的街道办事处）", "（2025年版）", "（征求意见稿V2.2）", "（含50人）",
    "（试行）", "（市、区）", "（包括市科技局、市财政局）", "（2025年底前完成）", "（持续推进）",
])
def test_false_tags_do_not_parse(text):
    assert read_tag(text) is None
    assert find_tags(f"做好相关工作{text}。") == []


@pytest.mark.parametrize("text", [
    "当前位置：首页 > 市部门规范性文件 > 广州市民政局（广州市社会组织管理局）",
    "由乡镇卫生院（社区卫生服务中心）负责。",
    "报市交通委（市道运局）备案。",
])
def test_second_name_after_a_unit_is_not_a_tag(text):
    assert find_tags(text) == []


def test_a_tag_right_after_a_unit_like_word_still_counts():
    assert [t.lead for t in find_tags("加快建设技术中心(市科技局牵头)。")] == [("市科技局",)]
    assert [t.departments for t in find_tags("支持建设区域创新中心（市科技局、市发改委）")] == [("市科技局", "市发改委")]


def test_a_tag_wrapped_over_two_lines_is_one_tag():
    (tag,) = find_tags("推进数据共享。（牵头单位：市数据局，配合单\n位：市财政局、市公安\n局）\n")
    assert (tag.lead, tag.cooperating) == (("市数据局",), ("市财政局", "市公安局"))


@pytest.mark.parametrize(("text", "raw", "lead", "units", "cooperating"), [
    ("推进数据共享。责任单位：市数据局、市财政局。", "责任单位：市数据局、市财政局", (), ("市数据局", "市财政局"), ()),
    ("推进数据共享。\n责任部门：区政务服务局\n", "责任部门：区政务服务局", (), ("区政务服务局",), ()),
    ("推进数据共享。牵头单位：市数据局；配合单位：各区政府。", "牵头单位：市数据局；配合单位：各区政府", ("市数据局",), ("市数据局", "各区政府"), ("各区政府",)),
    ("任务：推进数据共享；牵头单位：市数据局；配合单位：市财政局；完成时限：2025年底", "牵头单位：市数据局；配合单位：市财政局",
     ("市数据局",), ("市数据局", "市财政局"), ("市财政局",)),
])
def test_unparenthesised_labelled_tags(text, raw, lead, units, cooperating):
    (tag,) = find_tags(text)
    assert (tag.raw, tag.lead, tag.departments, tag.cooperating) == (raw, lead, units, cooperating)
    assert text[tag.start : tag.end] == tag.raw


@pytest.mark.parametrize("text", [
    "责任单位要加强管理。", "联系人：张三；联系电话：12345678。", "发布机关：广州市民政局", "初核机构：广州市高校毕业生就业指导中心；",
    "负责人：王五。", "实施日期：2025年06月01日", "主办：广州市越秀区人民政府    承办：广州市越秀区政务服务和数据管理局",
    "主办单位：广州市人民政府办公厅", "支持对象：在本市注册的企业。",
])
def test_labels_without_a_role_or_units_are_not_tags(text):
    assert find_tags(text) == []


def test_unit_shape_comes_from_the_suffix_file():
    assert "局" in unit_suffixes() and "中心" in unit_suffixes()
    assert looks_like_unit("市工业和信息化服务中心") and looks_like_unit("各县区政府")
    assert has_unit_suffix("忻州经济开发区") and not looks_like_unit("高新区")
    assert split_units("市交通委(市道运局)、各县(市、区)政府") == ["市交通委(市道运局)", "各县(市、区)政府"]
    assert split_units("各县、区人民政府") == ["各县区政府"]


def _split(text: str) -> dict[str, Clause]:
    return {c.id.split("#", 1)[1]: c for c in split_document(Document(DocMeta("d", "d"), text, ""))}


def test_heading_tag_covers_items_without_their_own():
    by = _split("一、主要任务（区发改局牵头，区统计局配合）\n（一）加强统计。做好统计。\n1.细化。做好。\n"
                "（二）推进转化。鼓励转化。（区科技局牵头）\n二、其他\n（一）做好宣传。加强宣传。\n")
    assert by["一.(一)"].lead == ("区发改局",) and by["一.(一)"].cooperating == ("区统计局",)
    assert by["一.(一).1"].departments == ("区发改局", "区统计局")
    assert by["一.(二)"].lead == ("区科技局",) and by["一.(二)"].cooperating == ()  # its own tag wins
    assert by["二.(一)"].departments == ()
    assert by["一.(一)"].tags == ()  # tags stay the texts written in the clause itself


def test_markdown_heading_tag_covers_its_items():
    by = _split("# 标题\n\n## 一、数字经济（牵头单位：市数据局；配合单位：市经信局）\n\n（一）建设算力中心。加快建设。\n"
                "## 二、其他\n\n（一）做好宣传。加强宣传。\n")
    item = next(c for k, c in by.items() if k.startswith("一、数字经济") and k.endswith(".(一)"))
    assert item.lead == ("市数据局",) and item.cooperating == ("市经信局",)
    assert by["二、其他.(一)"].departments == ()


def test_heading_clause_tag_covers_its_items():
    by = _split("一、强化科技创新(区科技局牵头)\n导语。力争达到目标。\n(一)加强平台建设。加快建设。\n")
    assert by["一"].lead == by["一.(一)"].lead == ("区科技局",)


TABLE_DOCS = {
    "cells": "## 附件 重点任务分工表\n序号\t工作任务\t牵头单位\t配合单位\n1\t加强平台效能建设\t区科技局\t区财政局、区人社局\n"
             "2\t推进成果转化应用\t区经信局\t区财政局\n",
    "spaced": "## 附件\n序号  工作任务  牵头单位  配合单位\n1  加强平台效能建设  区科技局  区财政局、区人社局\n"
              "2  推进成果转化应用  区经信局  区财政局\n",
    "pipes": "## 附件\n| 序号 | 工作任务 | 牵头单位 | 配合单位 |\n| 1 | 加强平台效能建设 | 区科技局 | 区财政局、区人社局 |\n"
             "| 2 | 推进成果转化应用 | 区经信局 | 区财政局 |\n",
    "fields": "## 附件\n序号：1；任务：加强平台效能建设；牵头单位：区科技局；配合单位：区财政局、区人社局\n"
              "序号：2；任务：推进成果转化应用；牵头单位：区经信局；配合单位：区财政局\n",
}
BODY = "一、主要任务\n（一）加强平台效能建设。加快建设研究院。\n（二）推进成果转化应用。鼓励转化。\n（三）做好宣传工作。加强宣传。\n"


@pytest.mark.parametrize("shape", sorted(TABLE_DOCS))
def test_annex_task_table_gives_units_to_the_tasks_it_names(shape):
    by = _split(BODY + TABLE_DOCS[shape])
    assert by["一.(一)"].lead == ("区科技局",) and by["一.(一)"].cooperating == ("区财政局", "区人社局")
    assert by["一.(二)"].lead == ("区经信局",) and by["一.(二)"].departments == ("区经信局", "区财政局")
    assert by["一.(三)"].departments == ()  # not named by the table
    annex = [c for k, c in by.items() if k.startswith("附件")]  # the table, one clause or one per row
    assert set().union(*(c.departments for c in annex)) == {"区科技局", "区财政局", "区人社局", "区经信局"}
    for row in (c for c in annex if c.kind == "table_row"):  # a row of its own carries only its row's units
        assert row.lead == (("区科技局",) if "加强平台效能建设" in row.text else ("区经信局",))


def test_own_tag_beats_the_table():
    by = _split(BODY.replace("鼓励转化。", "鼓励转化。（区商务局牵头）") + TABLE_DOCS["fields"])
    assert by["一.(二)"].lead == ("区商务局",)


def test_cooperating_in_every_json_shape_and_old_records_still_read():
    c = Clause("d#1", "d", "D", ("1.",), "做好工作。(区科技局牵头,区财政局配合)", (0, 20), ("区科技局",),
               ("区科技局", "区财政局"), cooperating=("区财政局",))
    assert c.to_json()["cooperating"] == ["区财政局"] and c.to_record()["cooperating"] == ["区财政局"]
    assert Clause.from_json(c.to_record()) == c and Clause.from_json(c.to_json()).cooperating == ("区财政局",)
    assert Hit(c, 1.0, 1).to_json()["cooperating"] == ["区财政局"]
    old = {k: v for k, v in c.to_record().items() if k != "cooperating"}
    assert Clause.from_json(old).cooperating == ()


def test_counts_and_roles_keep_cooperating_apart():
    by = _split("一、任务\n1.甲。做好。(区科技局牵头,区财政局配合)\n2.乙。做好。(区财政局牵头)\n3.丙。做好。(区财政局、区科技局分工负责)\n")
    rows = {r.name: r for r in unit_counts(by.values())}
    assert (rows["区财政局"].lead, rows["区财政局"].cooperating, rows["区财政局"].total) == (1, 1, 3)
    assert (rows["区科技局"].lead, rows["区科技局"].cooperating, rows["区科技局"].total) == (1, 0, 2)
    assert [unit_role("区财政局", by[k]) for k in ("一.1", "一.2", "一.3")] == ["cooperating", "lead", "shared"]


def _assert_roles_consistent(clauses):
    for c in clauses:
        assert set(c.lead) <= set(c.departments) and set(c.cooperating) <= set(c.departments), c.id
        assert not set(c.lead) & set(c.cooperating), c.id
        assert c.departments[: len(c.lead)] == c.lead, c.id  # lead units first
        assert all(raw in c.text for raw in c.tags), c.id


def test_roles_consistent_on_the_seeds(seed_corpus):
    _assert_roles_consistent(seed_corpus.clauses)
    assert not any(c.cooperating for c in seed_corpus.clauses)  # the seeds write no 配合 tag


def test_department_view_roles():
    from qa.service import DepartmentView

    by = _split("一、任务\n1.甲。做好。(区科技局牵头,区财政局配合)\n2.乙。做好。(区财政局牵头)\n3.丙。做好。(区财政局、区科技局分工负责)\n")
    view = DepartmentView("区财政局", (("d", "D", tuple(by.values())),))
    body = view.to_json()
    assert (body["total"], body["lead"], body["cooperating"]) == (3, 1, 1)
    assert [c["role"] for c in body["documents"][0]["clauses"]] == ["cooperating", "lead", "shared"]
    assert all("cooperating" in c for c in body["documents"][0]["clauses"])


def test_a_distributive_各_covers_every_level_listed_after_it():
    roles = read_tag("（牵头单位：市发展改革委，配合单位：市委组织部、市人力资源和社会保障局，各区、县级市）")
    assert roles["lead"] == ("市发展改革委",)  # as written: a corpus's aliases are applied when it is loaded
    assert roles["cooperating"] == ("市委组织部", "市人力资源和社会保障局", "各区", "各县级市")
    assert read_tag("（广州市、深圳市）") is None  # places alone are not units
