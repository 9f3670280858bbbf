"""The field documents of issue #13 that concern text and splitting: PDF text, annexes, label lines,
article numbers. Each right value in a case's expected.md is a test on the real document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.corpus import load_document
from ingest.splitter import layout_of, split_document
from faces.cli import main

from splitcheck import assert_all_properties

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"
pytestmark = pytest.mark.skipif(not FIELD.is_dir(), reason=f"field cases not found at {FIELD} (../shared absent)")
FIELD_DOCS = sorted(p for p in FIELD.glob("*/docs/*") if p.suffix in (".txt", ".md", ".html", ".docx"))


def _load(case: str, name_part: str = ""):
    path = next(p for p in sorted((FIELD / case / "docs").iterdir()) if name_part in p.name)
    doc = load_document(path, path.name, None, max_bytes=20 * 1024 * 1024)
    return doc, split_document(doc)


def _own(clause) -> str:
    """A clause's own label: the last part of its id, without a part suffix."""
    return clause.id.split("#", 1)[1].split("~")[0].split(".")[-1]


def _holding(clauses, phrase: str):
    found = [c for c in clauses if phrase in c.text]
    assert found, f"no clause holds {phrase!r}"
    return found[0]


@pytest.mark.parametrize("path", FIELD_DOCS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_properties_hold_on_every_field_document(path):
    doc = load_document(path, path.name, None, max_bytes=20 * 1024 * 1024)
    assert_all_properties(doc, split_document(doc))


# pdf-text-dump: hard wraps, "— N —" page numbers, a wrapped cross-reference, a spaced heading.


def test_pdf_dump_has_articles_eleven_to_eighteen_and_no_fifth():
    _, clauses = _load("pdf-text-dump")
    numbers = ["第十一条", "第十二条", "第十三条", "第十四条", "第十五条", "第十六条", "第十七条", "第十八条"]
    assert [_own(c) for c in clauses] == numbers
    assert all(c.kind == "article" for c in clauses)


def test_pdf_dump_wrapped_cross_reference_stays_in_article_thirteen():
    _, clauses = _load("pdf-text-dump")
    thirteen = next(c for c in clauses if _own(c) == "第十三条")
    assert thirteen.text.startswith("第十三条") and thirteen.text.endswith("取消其见习基地资格。")
    assert "不再具备第五条所列认定条件的" in thirteen.text


def test_pdf_dump_spaced_chapter_heading_is_a_chapter():
    _, clauses = _load("pdf-text-dump")
    for c in clauses[2:]:
        assert c.path_text == f"第四章 见习基地管理 › {_own(c)}"
    twelve = next(c for c in clauses if _own(c) == "第十二条")
    assert "四 章" not in twelve.text and "见习基地管理" not in twelve.text


def test_pdf_dump_page_numbers_removed_and_reported():
    doc, clauses = _load("pdf-text-dump")
    removed = layout_of(doc).removed
    assert [(f.kind, f.text) for f in removed] == [("page_number", f"— {n} —") for n in (5, 6, 7)]
    assert all(doc.text[f.span[0] : f.span[1]] == f.text for f in removed)
    assert not any(re.search(r"— \d —", c.text) for c in clauses)


def test_pdf_dump_quotes_join_wrapped_lines():
    _, clauses = _load("pdf-text-dump")
    _holding(clauses, "两年内不予认定为就业见习基地")
    _holding(clauses, "按每月500元给予生活费补贴")
    _holding(clauses, "按每人3000元给予用人单位留用补贴")
    fourteen = _holding(clauses, "每两年对见习基地进行评估")  # joined across the "— 5 —" page break
    assert "就业见习人员见习期满就业率" in fourteen.text
    for c in clauses:  # every line of a clause ends a sentence or a list lead: no line ends mid-sentence
        for line in c.text.split("\n"):
            assert re.search(r"[。；：]$", line.strip()), (c.id, line)


# annex-table-last-article: the 附件 is its own part, not the last article's text.


def test_annex_is_not_part_of_the_last_article():
    _, clauses = _load("annex-table-last-article")
    thirteen = [c for c in clauses if _own(c) == "第十三条"]
    assert thirteen and "同时废止。" in thirteen[-1].text
    text = "".join(c.text for c in thirteen)
    assert "每项专利" not in text and "合法稳定住所" not in text and "本科及以上学历" not in text


def test_annex_rows_are_cited_under_the_annex():
    _, clauses = _load("annex-table-last-article")
    for phrase in ("每项专利按20分/（人数）计算，最高不超过40分", "本科及以上学历（30分）"):
        hit = _holding(clauses, phrase)
        assert hit.path[0].startswith("附件") and "#附件" in hit.id
        assert hit.kind != "article"  # annex, or a row or item inside it
    _holding(clauses, "有效期至2026年12月31日")


# gov-html-chrome: 补贴对象/补贴标准/补贴期限 belong to the subsidy, not its last numbered condition.


@pytest.mark.parametrize(("phrase", "subsidy"), [
    ("补贴标准：10000元", "1、一次性创业资助"),
    ("补贴标准：一等奖20万元，二等奖15万元，三等奖10万元", "2、优秀创业项目资助"),
    ("补贴标准：每连续租满1年补贴6000元", "3、创业租金补贴"),
    ("补贴期限：累计不超过3年", "3、创业租金补贴"),
    ("总额最高不超过3万元", "4、创业带动就业补贴"),
])
def test_label_lines_belong_to_the_subsidy(phrase, subsidy):
    _, clauses = _load("gov-html-chrome")
    hit = _holding(clauses, phrase)
    assert hit.path[-1] == subsidy, hit.path_text
    assert "(" not in hit.id.split("#", 1)[1], hit.id  # not under a numbered condition (k)


def test_numbered_conditions_do_not_hold_the_label_lines():
    _, clauses = _load("gov-html-chrome")
    three_three = _holding(clauses, "（3）初创企业申请补贴当月前连续3个月")
    assert "补贴标准" not in three_three.text and "补贴对象" not in three_three.text


# article-number-lookup: already right at c39279b; kept right.


def test_arabic_articles_keep_their_numbered_points_inside():
    _, clauses = _load("article-number-lookup", "盐城")
    first = next(c for c in clauses if _own(c) == "第1条")
    assert "1.支持对象" in first.text and "注册地为盐城市的企事业单位" in first.text
    second = next(c for c in clauses if _own(c) == "第2条")
    assert "获批牵头承担国家重大科技专项的企事业单位" in second.text


def test_regulation_article_three_is_its_own_clause():
    _, clauses = _load("article-number-lookup", "条例")
    three = next(c for c in clauses if _own(c) == "第三条")
    assert three.path_text == "第一章 总则 › 第三条" and "未经登记，不得以市场主体名义从事经营活动" in three.text


# titles: the document's own heading line, past "附件" labels and site breadcrumbs.


def test_annex_file_title_is_its_heading_not_the_annex_label():
    doc, clauses = _load("parenthetical-false-unit", "申请程序")
    assert doc.meta.title == "广州市就业见习基地申请程序"
    assert not any(c.kind == "annex" for c in clauses)  # the whole file is the annex: plain ids


def test_notice_title_is_the_guanyu_line():
    doc, _ = _load("parenthetical-false-unit", "最低生活保障")
    assert doc.meta.title == "广州市民政局 广州市财政局关于印发我市2025年最低生活保障及相关社会救助标准的通知"


def test_clauses_json_shows_kind_and_removed_furniture(capsys):
    path = next((FIELD / "pdf-text-dump" / "docs").iterdir())
    assert main(["clauses", str(path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    clauses = [r for r in rows if "id" in r]
    furniture = [r for r in rows if "furniture" in r]
    assert {r["kind"] for r in clauses} == {"article"} and len(clauses) == 8
    assert [(r["furniture"], r["text"]) for r in furniture] == [("page_number", f"— {n} —") for n in (5, 6, 7)]
    text = path.read_text(encoding="utf-8")
    assert all(text[r["span"][0] : r["span"][1]] == r["text"] for r in furniture)
