"""Synthetic shapes the field documents do not show: Word numbering definitions, tables with captions,
rowspan and two-level headers, Big5 and traditional script, metadata derived from the text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ingest.about import describe, is_placeholder, region_of, regions
from ingest.corpus import load_corpus
from ingest.docx import chinese_count, format_number
from ingest.loaders import load_text
from policyqa.text import match_key, normalize, to_simplified
from ingest.tables import Cell, table_lines

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


# --- Word automatic numbering -------------------------------------------------------------------


@pytest.mark.parametrize("n, text", [(1, "一"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"), (21, "二十一"),
                                     (100, "一百"), (105, "一百零五"), (110, "一百一十"), (1010, "一千零一十")])
def test_chinese_counting(n: int, text: str) -> None:
    assert chinese_count(n) == text


def test_number_formats() -> None:
    assert [format_number(3, f) for f in ("decimal", "decimalEnclosedCircle", "upperRoman", "lowerLetter",
                                          "ideographTraditional", "decimalZero")] == ["3", "③", "III", "c", "丙", "03"]


def _numbered_docx(path: Path) -> Path:
    """A docx whose list numbers exist only in numbering.xml: 第%1条 / （%1） levels and a %1、 list."""
    import docx
    from docx.oxml import parse_xml

    document = docx.Document()
    numbering = document.part.numbering_part.element
    levels = (f'<w:lvl xmlns:w="{W}" w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
              f'<w:lvlText w:val="第%1条"/><w:suff w:val="space"/></w:lvl>'
              f'<w:lvl xmlns:w="{W}" w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
              f'<w:lvlText w:val="（%2）"/><w:suff w:val="nothing"/></w:lvl>')
    numbering.insert(0, parse_xml(f'<w:abstractNum xmlns:w="{W}" w:abstractNumId="70">{levels}</w:abstractNum>'))
    numbering.insert(1, parse_xml(f'<w:abstractNum xmlns:w="{W}" w:abstractNumId="71"><w:lvl w:ilvl="0">'
                                  f'<w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1、"/>'
                                  f'<w:suff w:val="nothing"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num xmlns:w="{W}" w:numId="80"><w:abstractNumId w:val="70"/></w:num>'))
    numbering.append(parse_xml(f'<w:num xmlns:w="{W}" w:numId="81"><w:abstractNumId w:val="71"/></w:num>'))
    numbering.append(parse_xml(f'<w:num xmlns:w="{W}" w:numId="82"><w:abstractNumId w:val="71"/>'
                               f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'))

    def numbered(text: str, num_id: int, ilvl: int = 0) -> None:
        p = document.add_paragraph(text)
        p._p.get_or_add_pPr().append(parse_xml(
            f'<w:numPr xmlns:w="{W}"><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>'))

    document.add_paragraph("某市促进就业办法")
    for n in range(1, 12):
        numbered(f"条文{n}。", 80)
        if n == 2:
            numbered("第一项。", 80, 1)
            numbered("第二项。", 80, 1)
    numbered("另一列表甲。", 81)
    numbered("另一列表乙。", 81)
    numbered("重新开始。", 82)  # a startOverride restarts the shared abstract list
    document.save(str(path))
    return path


def test_docx_numbering_rendered_as_word_shows_it(tmp_path: Path) -> None:
    lines = load_text(_numbered_docx(tmp_path / "numbered.docx")).text.splitlines()
    assert lines[:6] == ["某市促进就业办法", "第一条 条文1。", "第二条 条文2。", "（一）第一项。", "（二）第二项。", "第三条 条文3。"]
    assert "第十一条 条文11。" in lines  # counting past ten
    assert lines[-3:] == ["1、另一列表甲。", "2、另一列表乙。", "1、重新开始。"]


def test_docx_numbered_articles_become_clauses(tmp_path: Path) -> None:
    _numbered_docx(tmp_path / "numbered.docx")
    ids = [c.id.split("#")[1] for c in load_corpus(tmp_path).clauses]
    assert "第二条" in ids and "第十一条" in ids


def test_docx_vertical_merge_repeats_in_each_row(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("补贴标准表")
    table = document.add_table(rows=3, cols=3)
    for c, text in enumerate(["类别", "项目", "标准"]):
        table.cell(0, c).text = text
    table.cell(1, 0).merge(table.cell(2, 0)).text = "创业补贴"
    for r, (item, amount) in enumerate([("租金补贴", "6000元"), ("带动就业", "2000元")], start=1):
        table.cell(r, 1).text, table.cell(r, 2).text = item, amount
    path = tmp_path / "table.docx"
    document.save(str(path))
    assert load_text(path).text.splitlines() == [
        "补贴标准表", "类别：创业补贴；项目：租金补贴；标准：6000元", "类别：创业补贴；项目：带动就业；标准：2000元"]


# --- tables -------------------------------------------------------------------------------------


def test_two_level_header_joins_labels() -> None:
    rows = [[Cell("项目", rowspan=2), Cell("补贴标准", colspan=2)], [Cell("一档"), Cell("二档")],
            [Cell("租金"), Cell("6000元"), Cell("3000元")]]
    assert table_lines(rows) == ["项目：租金；补贴标准·一档：6000元；补贴标准·二档：3000元"]


def test_empty_cell_is_not_filled_from_above() -> None:
    rows = [[Cell("指标"), Cell("备注")], [Cell("学历"), Cell("只取最高分")], [Cell("专利"), Cell("")]]
    assert table_lines(rows) == ["指标：学历；备注：只取最高分", "指标：专利"]


HTML_TABLE = """<html><head><meta charset="utf-8"><title>某市补贴标准 - 某市人民政府网</title></head><body>
<div class="nav"><a href="/">首页</a> <a href="/a">机构</a> <a href="/b">政策</a></div>
<div class="article"><h1>某市关于调整创业补贴标准的通知</h1>
<p>各区人民政府，市政府各部门：经市政府同意，现将创业补贴标准调整如下，请认真贯彻执行。本次调整覆盖全部创业补贴项目，自发文之日起执行。</p>
<p>补贴项目分为两类，具体标准见下表。各区应按照下表所列标准及时足额发放补贴，不得擅自降低标准或者附加条件。</p>
<table><caption>表1 创业补贴标准</caption>
<thead><tr><th rowspan="2">类别</th><th colspan="2">标准</th></tr><tr><th>一档</th><th>二档</th></tr></thead>
<tbody><tr><td rowspan="2">资助</td><td>1万元</td><td>5000元</td></tr><tr><td>2万元</td><td></td></tr></tbody></table>
<p>本通知自印发之日起施行，执行中遇到的问题请及时向市人力资源社会保障局反映。</p></div>
<div class="footer">主办：某市人民政府办公室 网站标识码：0000000000</div></body></html>"""


def test_html_table_with_caption_and_spanned_headers(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_TABLE, encoding="utf-8")
    loaded = load_text(path)
    lines = loaded.text.splitlines()
    rows = [line for line in lines if line.startswith("类别：")]
    assert rows == ["类别：资助；标准·一档：1万元；标准·二档：5000元", "类别：资助；标准·一档：2万元"]
    assert "表1 创业补贴标准" in lines
    assert loaded.title == "某市关于调整创业补贴标准的通知"
    assert "网站标识码" not in loaded.text


# --- encodings and traditional script ------------------------------------------------------------

TRADITIONAL = "第三條　市人力資源社會保障局是本市就業見習基地管理工作行政主管部門，負責本辦法組織實施。"
SIMPLIFIED = "第三条　市人力资源社会保障局是本市就业见习基地管理工作行政主管部门，负责本办法组织实施。"


def test_big5_file_decodes_as_big5(tmp_path: Path) -> None:
    path = tmp_path / "big5.txt"
    path.write_bytes(TRADITIONAL.encode("big5"))
    loaded = load_text(path)
    assert loaded.text == TRADITIONAL
    assert loaded.encoding in ("cp950", "big5hkscs")


def test_traditional_text_matches_simplified_and_keeps_its_length() -> None:
    assert to_simplified(TRADITIONAL) == SIMPLIFIED
    assert normalize(TRADITIONAL) == normalize(SIMPLIFIED)
    assert len(normalize(TRADITIONAL)) == len(TRADITIONAL)
    assert match_key(TRADITIONAL) == match_key(SIMPLIFIED)
    simplified_only = "显著提高著作权乾坤"  # characters of the simplified set stay as they are
    assert normalize(simplified_only) == simplified_only


def test_traditional_document_is_found_by_simplified_question_and_quoted_as_written(tmp_path: Path) -> None:
    from index.build import build_index
    from index.embedder import HashingEmbedder
    from index.search import Retriever

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "trad.txt").write_bytes(("某市就業見習基地管理辦法\n" + TRADITIONAL + "\n").encode("big5"))
    (corpus / "other.txt").write_text("某县农业补贴办法\n第一条 农机购置补贴按照每台3000元发放。\n", encoding="utf-8")
    build_index(corpus, tmp_path / "index", HashingEmbedder())
    result = Retriever(tmp_path / "index", HashingEmbedder()).warm_up().search("人力资源社会保障局负责什么？", k=1)
    assert result.hits[0].clause.doc_id == "trad"
    assert "人力資源社會保障局" in result.hits[0].clause.text  # quoted as written


# --- metadata from the document itself ------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("内蒙古自治区鄂尔多斯市准格尔旗人民政府关于印发…的通知", ["内蒙古自治区鄂尔多斯市准格尔旗"]),
    ("本市其他行政区及各区开发区", []),
    ("根据《山西省科技创新条例》，结合朔州市实际", ["朔州市"]),  # a cited document's place is not the region
])
def test_regions_are_runs_of_divisions(text: str, expected: list[str]) -> None:
    assert regions(text) == expected


def test_later_source_refines_region() -> None:
    assert region_of(["某某市促进就业办法", "", "广州市越秀区人民政府门户网站"]) in ("", "广州市越秀区")
    assert region_of(["广州市就业补贴", "广州市越秀区人民政府门户网站"]) == "广州市越秀区"


@pytest.mark.parametrize("line", ["---", "***", "附件", "附件2：", "# 附件", "目录"])
def test_placeholder_headings(line: str) -> None:
    assert is_placeholder(line)


def test_title_issuer_date_from_text() -> None:
    text = ("---\n\n某某县人民政府关于印发促进就业若干措施的通知\n\n各乡镇人民政府：\n现将措施印发给你们。\n"
            "一、总则\n（一）支持企业。\n\n\n\n\n\n某某县人民政府\n2024年3月5日\n")
    about = describe(text, "file-name")
    assert about.title == "某某县人民政府关于印发促进就业若干措施的通知"
    assert about.issuer == "某某县人民政府"
    assert about.date == "2024-03-05"


def test_metadata_json_only_overrides(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("平鲁区关于支持返乡创业的若干措施\n一、支持创业。\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("平鲁区关于支持返乡创业的若干措施\n一、支持创业。\n二、另外一条。\n", encoding="utf-8")
    (tmp_path / "metadata.json").write_text(json.dumps({"b.txt": {"region": "山西省朔州市平鲁区", "date": "2020-01-01"}}),
                                            encoding="utf-8")
    docs = {d.meta.source: d.meta for d in load_corpus(tmp_path).documents}
    assert (docs["a.txt"].region, docs["a.txt"].date) == ("平鲁区", "")
    assert (docs["b.txt"].region, docs["b.txt"].date) == ("山西省朔州市平鲁区", "2020-01-01")
    assert docs["b.txt"].title == "平鲁区关于支持返乡创业的若干措施"


def test_near_duplicate_is_flagged_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sentences = [f"第{n}条 本市对符合条件的第{n}类企业给予每户{n}000元的一次性补贴。" for n in range(1, 21)]
    (tmp_path / "a.txt").write_text("\n".join(sentences), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(sentences[:-1] + ["第20条 本办法自发布之日起施行。"]), encoding="utf-8")
    (tmp_path / "c.txt").write_text("完全不同的一份文件。\n内容与前两份无关。\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ingest.corpus"):
        loaded = load_corpus(tmp_path)
    assert [d.meta.duplicate_of for d in loaded.documents] == ["", "a.txt", ""]
    assert any("b.txt" in r.message and "a.txt" in r.message for r in caplog.records)


def test_table_spans_name_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(HTML_TABLE, encoding="utf-8")
    loaded = load_text(path)
    [table] = loaded.tables
    assert table.name == "表1 创业补贴标准"
    assert [loaded.text[s:e] for s, e in table.rows] == ["类别：资助；标准·一档：1万元；标准·二档：5000元",
                                                         "类别：资助；标准·一档：2万元"]


def test_small_page_without_article_keeps_its_table_rows(tmp_path: Path) -> None:
    page = ("<html><body><p>申报条件如下。</p><table><tr><th>条件</th><th>分值</th></tr>"
            "<tr><td>本科</td><td>30分</td></tr></table></body></html>")
    path = tmp_path / "small.html"
    path.write_text(page, encoding="utf-8")
    loaded = load_text(path)
    assert "条件：本科；分值：30分" in loaded.text.splitlines()
    assert [loaded.text[s:e] for s, e in loaded.tables[0].rows] == ["条件：本科；分值：30分"]


@pytest.mark.parametrize(("title", "region"), [
    ("上海市人民政府关于深化完善政策支持临港地区发展的若干意见", "上海市"),  # jieba keeps 上海市人民政府 as one word
    ("北京市人民政府办公厅关于印发某某办法的通知", "北京市"),
    ("浙江省人民政府关于某某的意见", "浙江省"),
    ("广州市人民政府办公厅关于某某的通知", "广州市"),
])
def test_the_region_of_a_title_whose_government_jieba_keeps_whole(title, region):
    from ingest.about import region_of

    assert region_of([title]) == region
