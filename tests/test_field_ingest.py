"""The real field documents (../shared/field, issue #13): web pages, a Word file with automatic numbering,
and corpora without metadata come out titled, dated and split as each case's expected.md says."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.corpus import load_corpus

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"

CHROME = ("登录", "退出", "繁體", "English", "IPV6", "无障碍", "所在的位置", "首页", "浏览次数", "分享",
          "返回顶部", "打印本页", "位访问者", "主办", "承办", "网站标识码", "ICP备案号", "公网安备", "网站地图")


def _case(name: str):
    docs = FIELD / name / "docs"
    if not docs.is_dir():
        pytest.skip(f"field case {name} not found at {docs} (the shared folder is not mounted)")
    return load_corpus(docs)


def _one(name: str):
    loaded = _case(name)
    assert not loaded.skipped, loaded.skipped
    assert len(loaded.documents) == 1
    return loaded.documents[0], loaded.clauses


def test_gov_page_title_date_and_source_come_from_the_page() -> None:
    doc, clauses = _one("gov-html-chrome")
    assert doc.meta.title == "广州市高校毕业生创业补贴，请查收"  # the page's title, not "16_一次性创业补贴_市人社局"
    assert doc.meta.date == "2025-04-08"
    assert doc.meta.issuer == "市人力资源社会保障局官网"  # ContentSource: the page names no other issuer
    assert "广州" in doc.meta.region  # the place check knows the page is about 广州 (ghc-4)
    preamble = clauses[0]
    assert preamble.path == ("前言",)
    assert preamble.text.startswith("广州市高校毕业生创业补贴，请查收")
    assert "文章来源：市人力资源社会保障局官网" in preamble.text  # ghc-5 is answerable from the text


def test_gov_page_chrome_is_in_no_clause() -> None:
    doc, clauses = _one("gov-html-chrome")
    for word in CHROME:
        assert word not in doc.text, word
        assert not any(word in c.text for c in clauses), word
    last = clauses[-1]
    assert last.text.rstrip().endswith("补贴期限：一次性。")  # the last clause is the article's, not the footer


def test_annex_table_rows_carry_their_headers() -> None:
    doc, clauses = _one("annex-table-last-article")
    lines = doc.text.splitlines()
    assert "|" not in lines and "基" not in lines  # no lone "|", no one-character vertical cells
    rows = [line for line in lines if line.startswith("类别：")]
    assert len(rows) == 3  # one line per table row; the header row itself is not repeated as a row
    assert rows[0].startswith("类别：基础指标；序号：1；指标：合法稳定住所；指标内容及分值：1. 在广州市办理")
    # The rowspan cell "加分指标" covers two rows: both rows say so.
    assert rows[1].startswith("类别：加分指标；序号：1；指标：文化程度；指标内容及分值：1. 本科及以上学历（30分）。")
    assert rows[2].startswith("类别：加分指标；序号：2；指标：创新能力；")
    assert "每项专利按20分/（人数）计算，最高不超过40分。" in rows[2]
    assert "备注：" in rows[2]
    assert lines[lines.index(rows[0]) - 1] == "广州市积分制入户指标体系及分值表"  # the table's name just above
    [table] = doc.tables  # where the rows are, for the splitter: one span per row line
    assert table.name == "广州市积分制入户指标体系及分值表"
    assert [doc.text[s:e] for s, e in table.rows] == rows
    for word in ("版权所有", "主办单位", "当前位置"):
        assert not any(word in c.text for c in clauses), word


def test_annex_page_title_issuer_region() -> None:
    doc, _ = _one("annex-table-last-article")
    assert doc.meta.title == "广州市人民政府办公厅关于重新发布广州市积分制入户管理办法的通知"  # no site suffix
    assert doc.meta.issuer == "广州市人民政府办公厅"
    assert doc.meta.region == "广州市"
    assert doc.meta.date == ""  # the page states no date; 穗府办规〔2023〕1号 is not one


def test_docx_automatic_numbering_gives_articles() -> None:
    doc, clauses = _one("docx-auto-numbering")
    by_id = {c.id.split("#", 1)[1]: c for c in clauses}
    articles = [f"第一章.第{n}条" for n in "一二三四"]
    assert [k for k in by_id if k != "前言"] == articles
    assert by_id["第一章.第一条"].path == ("第一章 总则", "第一条")
    assert by_id["第一章.第二条"].text.count("\n") == 1  # two paragraphs
    third = by_id["第一章.第三条"].text
    assert third.count("\n") == 2 and third.startswith("第三条")  # three paragraphs
    assert "市人力资源社会保障局是本市就业见习基地管理工作行政主管部门" in third  # dan-1
    assert by_id["第一章.第四条"].text.startswith("第四条 在本市行政区域范围内")  # dan-3
    assert doc.meta.title == "广州市就业见习基地管理办法"


def test_placeholder_heading_is_not_the_title() -> None:
    loaded = _case("parenthetical-false-unit")
    titles = {d.meta.source: d.meta.title for d in loaded.documents}
    assert titles["就业见习基地申请程序.txt"] == "广州市就业见习基地申请程序"  # not "附件"
    notice = next(d for d in loaded.documents if d.meta.source.startswith("最低生活保障"))
    assert notice.meta.title.endswith("关于印发我市2025年最低生活保障及相关社会救助标准的通知")
    assert notice.meta.issuer == "广州市民政局"  # 发布机关：
    assert notice.meta.date == "2025-05-30"  # the signature date
    assert notice.meta.region == "广州市"


@pytest.mark.parametrize("case, source, region", [
    ("tag-lead-cooperate", "官渡区稳增长促发展政策措施.txt", "官渡区"),
    ("tag-lead-cooperate", "杭州互联网+行动实施意见_征求意见稿.txt", "杭州市"),
    ("tag-lead-cooperate", "西宁市加快流通业发展实施意见.txt", "西宁市"),  # "加快西宁市…": not at the start
    ("article-number-lookup", "盐城市加快科技创新发展激励政策实施细则_节选.txt", "盐城市"),  # anl-3: its own city
    ("article-number-lookup", "广州市就业见习基地管理办法_总则.txt", "广州市"),
])
def test_region_without_metadata(case: str, source: str, region: str) -> None:
    loaded = _case(case)
    doc = next(d for d in loaded.documents if d.meta.source == source)
    assert doc.meta.region == region


def test_field_pages_loaded_twice_are_flagged_as_duplicates(tmp_path: Path) -> None:
    page = FIELD / "gov-html-chrome" / "docs" / "16_一次性创业补贴_市人社局.html"
    if not page.is_file():
        pytest.skip(f"field page not found at {page}")
    (tmp_path / "a.html").write_bytes(page.read_bytes())
    (tmp_path / "b-copy.html").write_bytes(page.read_bytes())
    loaded = load_corpus(tmp_path)
    assert [d.meta.duplicate_of for d in loaded.documents] == ["", "a.html"]
    assert loaded.duplicates == [("b-copy.html", "a.html", 1.0)]
