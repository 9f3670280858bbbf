"""Synthetic shapes of the text faults in issue #13 that the field files do not show: other page-number
styles, running headers, OCR markup, spaced articles, banners, annex headings, other label nouns."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from ingest.corpus import guess_title
from ingest.furniture import scan
from policyqa.text import to_int
from ingest.records import Clause, DocMeta, Document
from ingest.splitter import layout_of, split_document

from splitcheck import assert_all_properties


def _split(text: str, doc_id: str = "t"):
    doc = Document(DocMeta(doc_id, doc_id), text, "")
    clauses = split_document(doc)
    assert_all_properties(doc, clauses)
    return doc, clauses


def _by_own(clauses):
    return {c.id.split("#", 1)[1]: c for c in clauses}


def _wrap(paragraphs: list[str], width: int = 20) -> str:
    """Lay paragraphs out as a PDF does: fixed-width lines, a break wherever the width runs out."""
    lines = []
    for p in paragraphs:
        lines.extend(p[i : i + width] for i in range(0, len(p), width))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("page", ["- 5 -", "－5－", "第5页 共12页", "第 5 页", "共12页 第5页", "— 12 —", "Page 5 of 12"])
def test_page_number_styles_are_removed_and_reported(page):
    text = f"第一条 为了规范管理，制定本办法。\n{page}\n第二条 本办法自印发之日起施行。\n"
    doc, clauses = _split(text)
    assert [f.kind for f in layout_of(doc).removed] == ["page_number"]
    assert page not in "".join(c.text for c in clauses)
    assert [c.id for c in clauses] == ["t#第一条", "t#第二条"]


def test_running_header_repeated_on_every_page_is_removed_but_the_title_kept():
    page = "某市人力资源和社会保障局文件"
    body = [f"第{n}条 第{n}项规定的内容{'，并按规定执行' * i}。" for i, n in enumerate("一二三四五六")]
    text = "\n".join([page, *body[:2], "- 1 -", page, *body[2:4], "- 2 -", page, *body[4:], "- 3 -"]) + "\n"
    doc, clauses = _split(text)
    removed = layout_of(doc).removed
    assert [f.kind for f in removed].count("running_header") == 2  # the first one opens the document
    assert clauses[0].id == "t#前言" and clauses[0].text == page
    assert not any(page in c.text for c in clauses[1:])


def test_repeated_lines_without_page_numbers_are_text():
    form = "文书一\n本院认为，申请成立。\n中华人民共和国某某法院\n（院印）\n"
    doc, clauses = _split(form * 3)
    assert layout_of(doc).removed == ()
    assert sum(c.text.count("（院印）") for c in clauses) == 3


def test_page_marker_and_ocr_markup_are_dropped():
    text = ('<div align="center">\n\n# 某某办法\n\n</div>\n第一条 为了规范管理，制定本办法。<img src="a.png"/>\n'
            "![](images/seal.jpg)\n（此页无正文）\n第二条 本办法自印发之日起施行。\n")
    doc, clauses = _split(text)
    kinds = sorted(f.kind for f in layout_of(doc).removed)
    assert kinds == ["markup", "markup", "markup", "markup", "page_marker"]
    joined = "".join(c.text for c in clauses)
    assert "<" not in joined and "此页无正文" not in joined and "seal" not in joined
    assert [c.id for c in clauses] == ["t#前言", "t#第一条", "t#第二条"]
    assert _by_own(clauses)["第一条"].text == "第一条 为了规范管理，制定本办法。"


def test_numbered_headings_above_articles_enclose_them_like_chapters():
    text = ("一、政策支持\n第 1 条 设立引导资金，用于产业发展奖励。\n二 、支持范围\n(一)投资奖励\n"
            "第 2 条 对新上项目给予企业奖励。\n第 3 条 重大项目实行一事一议。\n(二)绩效奖励\n"
            "第 4 条 按地方财政贡献给予奖励。\n三、 其他\n第 5 条 本政策自发布之日起施行。\n")
    _, clauses = _split(text)
    assert [c.id for c in clauses] == ["t#一.第1条", "t#二.(一).第2条", "t#二.(一).第3条", "t#二.(二).第4条", "t#三.第5条"]
    assert clauses[1].path_text == "二、支持范围 › (一)投资奖励 › 第2条"
    assert clauses[4].text.endswith("施行。") and "三、" not in clauses[3].text


def test_a_numbered_list_inside_an_article_stays_in_it():
    text = "第一条 下列收入免征：\n一、国债利息收入\n二、财政拨款\n第二条 本办法自印发之日起施行。\n"
    _, clauses = _split(text)
    assert [c.id for c in clauses] == ["t#第一条", "t#第二条"]
    assert "二、财政拨款" in clauses[0].text


def test_spaced_article_and_chapter_headings():
    text = "第 一 章　总则\n第 一 条　为了规范管理，制定本办法。\n第 十 二 条　本办法自印发之日起施行。\n"
    _, clauses = _split(text)
    assert [c.id for c in clauses] == ["t#第一章.第一条", "t#第一章.第十二条"]
    assert clauses[0].path_text == "第一章 总则 › 第一条"


def test_wrapped_latin_words_join_with_a_space_and_cjk_without():
    first = "第一条 为了规范管理，参照quality\nmanagement体系的要求和本市实际\n情况，制定本办法。\n"
    text = first + _wrap(["第二条 本办法由市人力资源社会保障局负责解释，自印发之日起施行，有效期五年。",
                          "第三条 本办法施行前已经认定的单位，按照原规定执行至认定期满为止，期满后按本办法重新认定。"])
    _, clauses = _split(text)
    assert clauses[0].text == "第一条 为了规范管理，参照quality management体系的要求和本市实际情况，制定本办法。"
    assert [c.id for c in clauses] == ["t#第一条", "t#第二条", "t#第三条"]
    assert "\n" not in clauses[1].text


def test_out_of_sequence_article_mid_sentence_is_a_cross_reference():
    text = ("第七条 见习基地实行动态管理，不再具备\n第五条所列认定条件的，取消其资格。\n"
            "第八条 见习基地应当按照\n第三条的规定报送材料。\n第九条 本办法自印发之日起施行。\n")
    _, clauses = _split(text)
    assert [c.id for c in clauses] == ["t#第七条", "t#第八条", "t#第九条"]
    assert clauses[0].text == "第七条 见习基地实行动态管理，不再具备第五条所列认定条件的，取消其资格。"


def test_article_gaps_after_a_finished_sentence_and_restarts_in_an_annex_are_articles():
    text = ("第三条 本办法适用于全市。\n第五条 本办法自印发之日起施行。\n第五条之一 过渡期另行规定。\n"
            "附件1\n某某实施细则\n第一条 为了执行本办法，制定本细则。\n第二条 本细则自公布之日起施行。\n")
    _, clauses = _split(text)
    assert [c.id for c in clauses] == ["t#第三条", "t#第五条", "t#第五条之一", "t#附件1", "t#附件1.第一条", "t#附件1.第二条"]
    assert [c.kind for c in clauses] == ["article", "article", "article", "annex", "article", "article"]


def test_annex_list_line_stays_with_the_body_and_inline_titled_annexes_split():
    text = ("一、总体要求\n（一）做好申报工作。\n附件：1.申请表\n2.承诺书\n"
            "附件1：申请表\n姓名、单位、联系电话。\n附件2：承诺书\n本单位承诺所填信息真实。\n")
    _, clauses = _split(text)
    ids = [c.id for c in clauses]
    assert ids[-2:] == ["t#附件1", "t#附件2"]
    assert clauses[-1].path_text == "附件2:承诺书" and clauses[-1].kind == "annex"
    assert "承诺所填" not in "".join(c.text for c in clauses[:-1])


def test_a_line_that_only_starts_with_the_word_annex_is_text():
    text = "一、申报要求\n（一）按时提交。\n附件材料清单\n（二）材料真实。\n"
    _, clauses = _split(text)
    assert not any(c.kind == "annex" for c in clauses)
    assert "附件材料清单" in _by_own(clauses)["一.(一)"].text


def test_table_rows_in_an_annex_are_row_clauses_with_their_header():
    text = ("第一条 本办法自印发之日起施行。\n附件\n积分指标表\n类别 | 指标 | 分值\n基础指标 | 住所 | 每满1年计8分\n"
            "加分指标 | 学历 | 本科30分\n")
    _, clauses = _split(text)
    rows = [c for c in clauses if c.kind == "table_row"]
    assert [c.id for c in rows] == ["t#附件.行1", "t#附件.行2", "t#附件.行3"]
    assert rows[2].path_text == "附件 › 积分指标表 › 类别 | 指标 | 分值 › 第3行" and rows[2].text == "加分指标 | 学历 | 本科30分"


def test_label_lines_close_a_run_of_sub_items_whatever_the_label_noun():
    text = ("一、项目支持\n1.技改补助\n申报条件：\n（1）在本市注册。\n（2）纳税信用良好。\n申报材料：营业执照复印件。\n"
            "支持方式：按投资额10%补助。\n2.研发补助\n（1）研发投入增长。\n")
    _, clauses = _split(text)
    by = _by_own(clauses)
    assert "申报材料" not in by["一.1.(2)"].text
    tail = by["一.1~2"]
    assert tail.path_text == "一、项目支持 › 1.技改补助" and "支持方式：按投资额10%补助。" in tail.text
    assert by["一.2.(1)"].text == "（1）研发投入增长。"


def test_label_lines_under_titled_sub_items_stay_with_each_sub_item():
    text = "一、资金支持\n（1）技改补助。\n补助标准：100万元。\n（2）研发补助。\n补助标准：50万元。\n"
    _, clauses = _split(text)
    by = _by_own(clauses)
    assert "100万元" in by["一.(1)"].text and "50万元" in by["一.(2)"].text and "一" not in by


def test_a_line_with_a_colon_that_is_not_a_label_stays_in_its_item():
    text = "一、工作要求\n（1）加强领导。\n其中：各区要落实责任。\n（2）强化考核。\n"
    _, clauses = _split(text)
    assert "其中：各区要落实责任。" in _by_own(clauses)["一.(1)"].text


@pytest.mark.parametrize(("text", "title"), [
    ("广州市人力资源和社会保障局文件\n\n穗人社规字〔2019〕6号\n\n广州市人力资源和社会保障局关于印发广州市就业见习基地管理办法的通知\n\n各区：\n",
     "广州市人力资源和社会保障局关于印发广州市就业见习基地管理办法的通知"),
    ("附件2\n\n某某市科技创新券管理办法（试行）\n\n第一条 为了…\n", "某某市科技创新券管理办法（试行）"),
    ("当前位置：首页 > 政务公开\n统一编号：GZ0320250043\n某某区关于加强安全生产的通知\n", "某某区关于加强安全生产的通知"),
    ("第一条 为了规范管理，制定本办法。\n", "fallback"),
])
def test_title_is_past_banner_number_and_annex_label(text, title):
    assert guess_title(text, "fallback") == title


def test_tidy_text_is_never_joined():
    text = "\n".join(["一、总体要求", "支持科技型中小企业发展，", "（一）指导思想"] + ["各县区要高度重视。"] * 8) + "\n"
    layout = scan(text)
    assert [e.start for e in layout.edits] == [text.index("，") + 1]  # only the comma-ended line
    assert layout.removed == ()


def test_old_records_without_kind_still_read():
    row = {"id": "d#一", "doc_id": "d", "doc_title": "D", "path": "一、总则", "text": "一、总则", "span": [0, 4]}
    clause = Clause.from_json(row)
    assert clause.kind == "" and Clause.from_json(clause.to_record()) == clause


@pytest.mark.parametrize(("numeral", "value"),
                         [("十二", 12), ("二十一", 21), ("一百零三", 103), ("12", 12), ("两", 2), ("x", None)])
def test_numerals(numeral, value):
    assert to_int(numeral) == value


PARAS = st.sampled_from([
    "第一条 为了规范见习基地管理，切实做好就业见习工作，制定本办法。", "（一）提供合适的见习岗位和安全健康的见习环境；",
    "本办法所指就业见习基地是指经过认定的就业见习单位，见习期满后按规定给予补贴。", "第 二 章　见习基地管理", "附件1", "补贴标准：每人每月500元。",
])


@settings(max_examples=80, deadline=None)
@given(st.lists(PARAS, min_size=1, max_size=14), st.integers(min_value=12, max_value=30), st.booleans())
def test_property_on_wrapped_documents_with_page_numbers(paras, width, numbered):
    lines = _wrap(paras, width).split("\n")
    if numbered:
        lines = [ln for i, ln in enumerate(lines) for ln in ([ln, f"— {i // 6 + 1} —"] if i % 6 == 5 else [ln])]
    doc = Document(DocMeta("gen", "gen"), "\n".join(lines), "")
    clauses = split_document(doc)
    assert_all_properties(doc, clauses)
    assert not any("—" in c.text for c in clauses)


def test_an_item_number_running_into_digits_opens_the_item_only_in_sequence():
    text = ("一、工程\n10.羊城学者项目。资助。\n11.121人才梯队项目。培养121名。\n12.珠江项目。支持。\n"
            "二、其他\n1.增长以上。\n3.5倍的说明文字在行首。\n2.第二项。\n")
    _, clauses = _split(text)
    ids = [c.id.split("#")[1] for c in clauses]
    assert "一.11" in ids and clauses[ids.index("一.11")].text.startswith("11.121人才梯队项目")
    assert "二.3" not in ids and "3.5倍" in clauses[ids.index("二.1")].text  # a decimal stays text
