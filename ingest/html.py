"""Read a saved web page: the article text only, its tables as rows, and what the page says about itself.

Trade-offs: the article is found by trafilatura (a maintained main-content extractor), not by a list
of site words, so navigation, breadcrumbs, share bars, visit counters and footers go wherever the page
puts them; when trafilatura finds no article the whole visible page is kept rather than nothing.
Tables are rendered from the original markup (trafilatura keeps rows but not which cells were
spanned), matched to trafilatura's tables by their text. The title comes from the page's own
`ArticleTitle` meta tag (the government-site metadata standard), else trafilatura's title (the
article heading, or `<title>` without the site's suffix). The date comes from meta tags only
(htmldate without its guessing from body text, which takes 文号 years for dates); `ContentSource`
and `SiteName` meta tags are kept for the issuer and region (see `ingest.about`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import TableSpan
from ingest.tables import Cell, cell_text, table_lines, table_spans

_BLOCKS = {"head", "p", "item", "quote", "code", "cell"}
_CONTAINERS = {"body", "main", "div", "list", "doc"}
_GOV_META = {"articletitle": "title", "pubdate": "date", "contentsource": "source", "sitename": "site"}


@dataclass(frozen=True)
class Page:
    """A web page's article text (one block per line) and what the page states about itself."""

    text: str
    title: str = ""
    date: str = ""  # ISO yyyy-mm-dd
    source: str = ""  # the page's stated source (文章来源 / ContentSource)
    site: str = ""  # the site's own name (SiteName, og:site_name)
    tables: tuple[TableSpan, ...] = ()  # where the article's tables sit in `text`


def read_page(markup: str) -> Page:
    """The article of an HTML page as text lines plus its title, date, source and site name.

    Returns a Page whose text is "" when the page has no visible text at all (the caller refuses it).
    """
    import lxml.html
    import trafilatura

    meta = _gov_meta(markup)
    try:
        original = lxml.html.fromstring(markup)
    except Exception:  # lxml refuses documents that are empty after parsing
        return Page(text="")
    for hidden in original.xpath("//script|//style|//noscript|//template|//head"):
        hidden.drop_tree()
    extracted = trafilatura.bare_extraction(
        markup, include_tables=True, include_comments=False, with_metadata=True, favor_recall=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    lines: list[str] = []
    body = extracted.body if extracted is not None else None
    # trafilatura's last resort (no article found) is all page text in one <p>: then the page is the
    # article, and it is read block by block here so its tables stay tables.
    if body is not None and not (len(body) == 1 and "\n" in (body[0].text or "")):
        _walk(body, lines, _source_tables(original))
    if not any(line.strip() for line in lines):
        lines = _all_text(original)
    lines = [line for line in lines if line.strip()]
    title = meta.get("title") or (extracted.title if extracted is not None else "") or ""
    if lines and title.strip() and title.strip() not in lines[:5]:
        lines.insert(0, title.strip())  # trafilatura keeps the heading apart when it is the title
    text = "\n".join(lines)
    tables = table_spans(lines)
    date = meta.get("date", "")[:10] or (extracted.date if extracted is not None and extracted.date else "")
    site = meta.get("site") or (extracted.sitename if extracted is not None and extracted.sitename else "")
    return Page(text=text + "\n" if text else "", title=title.strip(), date=_iso(date),
                source=meta.get("source", "").strip(), site=(site or "").strip(), tables=tables)


def _iso(date: str) -> str:
    m = re.match(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", date or "")
    return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else ""


def _gov_meta(markup: str) -> dict[str, str]:
    """The government-site metadata tags (ArticleTitle, PubDate, ContentSource, SiteName)."""
    found: dict[str, str] = {}
    for tag in re.finditer(r"<meta\b[^>]*>", markup[:20000], re.I):
        name = re.search(r"""\bname\s*=\s*["']?([A-Za-z]+)""", tag.group(0))
        content = re.search(r"""\bcontent\s*=\s*(["'])(.*?)\1""", tag.group(0), re.S)
        if name and content and name.group(1).lower() in _GOV_META:
            found.setdefault(_GOV_META[name.group(1).lower()], " ".join(content.group(2).split()))
    return found


def _inline_text(element) -> str:
    """An element's text with trafilatura's <lb/> as line breaks."""
    parts = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            parts.append("\n")
        elif child.tag == "table":
            parts.append("\n")
        else:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _walk(element, lines: list[str], tables: list[tuple[str, object]]) -> None:
    for child in element:
        if child.tag == "table":
            lines.extend(_table(child, tables))
        elif child.tag in _CONTAINERS:
            _walk(child, lines, tables)
        else:
            if child.tag == "item" and child.find("list") is not None:
                own = [child.text or ""] + [(c.tail or "") for c in child]
                lines.extend(" ".join(s.split()) for s in "".join(own).split("\n"))
                _walk(child, lines, tables)
                continue
            lines.extend(" ".join(s.split()) for s in _inline_text(child).split("\n"))


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _source_tables(root) -> list[tuple[str, object]]:
    """Innermost tables of the original page with their compact text, in document order."""
    found = []
    for table in root.iter("table"):
        if table.find(".//table") is None:
            found.append((_compact(table.text_content()), table))
    return found


def _table(extracted, tables: list[tuple[str, object]]) -> list[str]:
    """Lines for one extracted table, rendered from the matching source table when there is one."""
    key = _compact("".join(extracted.itertext()))
    for i, (text, source) in enumerate(tables):
        caption = source.find("caption")
        if text and key in (text, text.replace(_compact(caption.text_content()), "", 1) if caption is not None else text):
            del tables[: i + 1]  # tables come in order; earlier ones were not part of the article
            caption = source.find("caption")
            name = [" ".join(caption.text_content().split())] if caption is not None else []
            return [n for n in name if n] + table_lines(_source_rows(source))
    rows = [[Cell(cell_text([_inline_text(c)]), header=c.get("role") == "head") for c in row.iter("cell")]
            for row in extracted.iter("row")]
    return table_lines(rows)


def _source_rows(table) -> list[list[Cell]]:
    rows = []
    for tr in table.iter("tr"):
        if tr.getparent() is not None and tr.getparent().tag not in ("table", "tbody", "thead", "tfoot"):
            continue
        cells = []
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            paragraphs = _cell_paragraphs(td)
            cells.append(Cell(cell_text(paragraphs), _span(td, "rowspan"), _span(td, "colspan"),
                              header=td.tag == "th" or (tr.getparent() is not None and tr.getparent().tag == "thead")))
        rows.append(cells)
    return rows


def _cell_paragraphs(td) -> list[str]:
    blocks = [el for el in td.iter("p", "div", "li") if el.find(".//p") is None and el.find(".//div") is None]
    if not blocks:
        return [td.text_content()]
    return [el.text_content() for el in blocks]


def _span(td, attr: str) -> int:
    try:
        return max(1, min(int(td.get(attr, "1")), 1000))
    except ValueError:
        return 1


_BLOCK_TAGS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
               "table", "blockquote", "header", "footer", "pre", "dl", "dt", "dd", "body", "form"}


def _all_text(root) -> list[str]:
    """Every visible text block of the page, one per line, tables rendered as rows."""
    parts: list[str] = []
    tables: dict[str, list[str]] = {}

    def flat(text: str | None) -> str:  # a line break in the markup is only a space on screen
        return re.sub(r"\s+", " ", text or "")

    def visit(element) -> None:
        if not isinstance(element.tag, str):  # comments and processing instructions are not shown
            parts.append(flat(element.tail))
            return
        block = element.tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if element.tag == "table" and element.find(".//table") is None:
            caption = element.find("caption")
            if caption is not None:
                parts.append(" ".join(caption.text_content().split()) + "\n")
            marker = f"\x00{len(tables)}\x00"  # stands for the rows until the text is cut into lines
            tables[marker] = table_lines(_source_rows(element))
            parts.append(marker)
        elif element.tag == "br":
            parts.append("\n")
        elif element.tag == "pre":
            parts.append(element.text_content())
        else:
            parts.append(flat(element.text))
            for child in element:
                visit(child)
        if block:
            parts.append("\n")
        parts.append(flat(element.tail))

    visit(root)
    lines: list[str] = []
    for line in "".join(parts).split("\n"):
        line = " ".join(line.split())
        lines.extend(tables.get(line, [line]))
    return lines
