"""Read a Word (.docx) file as Word shows it: automatic numbers rendered into the text, tables as rows.

Trade-offs: python-docx gives paragraphs and tables in body order but not list numbers (the
"第一条" that Word draws from numbering.xml is not in the paragraph's text), and docx2python writes
'--' for chineseCounting and ignores lvlText, so the numbering is rendered here: one counter set per
abstract list (num instances of one abstract list continue each other unless a startOverride
restarts them), a level's counter restarts when a higher level is used, and lvlText ("第%1条",
"%1、", "（%1）", "%1.%2") is filled with each level's number in its numFmt. Bullets are not text
and are left out. Numbering from a paragraph's style is honoured as well as direct numbering.
The number is followed by one space (Word's tab or space suffix) unless the level says nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from ingest.records import TableSpan
from ingest.tables import Cell, cell_text, table_lines, table_spans
from policyqa.errors import IngestError

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_DIGITS = "〇一二三四五六七八九"
_UNITS = ((1000, "千"), (100, "百"), (10, "十"))
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_HEAVENLY = "甲乙丙丁戊己庚辛壬癸"


def chinese_count(n: int) -> str:
    """An integer in Chinese counting form as Word writes it: 1 -> 一, 10 -> 十, 21 -> 二十一, 105 -> 一百零五."""
    if n <= 0:
        return _DIGITS[0]
    if n >= 10000:
        return str(n)
    out, zero = "", False
    for value, unit in _UNITS:
        digit, n = divmod(n, value)
        if digit:
            if zero:
                out += "零"
            out += ("" if unit == "十" and digit == 1 and not out else _DIGITS[digit]) + unit
            zero = False
        elif out:
            zero = True
    if n:
        out += ("零" if zero else "") + _DIGITS[n]
    return out


def _roman(n: int) -> str:
    pairs = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"),
             (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = ""
    for value, sym in pairs:
        while n >= value:
            out, n = out + sym, n - value
    return out


def _letters(n: int) -> str:
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def format_number(n: int, fmt: str) -> str:
    """A list counter in a Word numFmt (decimal, chineseCounting, upperRoman, …); decimal if unknown."""
    if fmt in ("chineseCounting", "chineseCountingThousand", "japaneseCounting", "taiwaneseCounting",
               "chineseLegalSimplified"):
        return chinese_count(n)
    if fmt in ("ideographDigital", "taiwaneseDigital", "japaneseDigitalTenThousand"):
        return "".join(_DIGITS[int(d)] for d in str(n))
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return _CIRCLED[n - 1] if 0 < n <= len(_CIRCLED) else str(n)
    if fmt in ("ideographTraditional",):
        return _HEAVENLY[(n - 1) % 10]
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(d) + 0xFEE0) for d in str(n))
    if fmt in ("lowerRoman", "upperRoman"):
        return _roman(n) if fmt == "lowerRoman" else _roman(n).upper()
    if fmt in ("lowerLetter", "upperLetter"):
        return _letters(n) if fmt == "lowerLetter" else _letters(n).upper()
    return str(n)


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = ""
    suffix: str = "tab"
    legal: bool = False


@dataclass
class _Numbering:
    """numbering.xml read once: num id -> (abstract id, levels), and running counters."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)  # abstract id -> levels
    nums: dict[str, str] = field(default_factory=dict)  # num id -> abstract id
    overrides: dict[str, dict[int, int]] = field(default_factory=dict)  # num id -> level -> start
    counters: dict[str, dict[int, int]] = field(default_factory=dict)  # abstract id -> level -> n
    started: set[str] = field(default_factory=set)  # num ids whose overrides were applied

    def label(self, num_id: str, ilvl: int) -> str:
        """The number Word draws for the next paragraph of list `num_id` at level `ilvl`."""
        abstract = self.nums.get(num_id)
        if abstract is None or num_id == "0":
            return ""
        levels = self.levels.get(abstract, {})
        level = levels.get(ilvl)
        if level is None or level.fmt in ("bullet", "none"):
            return ""
        counters = self.counters.setdefault(abstract, {})
        if num_id not in self.started and num_id in self.overrides:
            self.started.add(num_id)
            for lvl, start in self.overrides[num_id].items():
                counters[lvl] = start - 1
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        text = level.text
        for k in range(9):
            token = f"%{k + 1}"
            if token in text:
                lv = levels.get(k, _Level())
                value = counters.get(k, lv.start)
                text = text.replace(token, format_number(value, "decimal" if level.legal and k < ilvl else lv.fmt))
        if not text:
            return ""
        return text + ("" if level.suffix == "nothing" else " ")


def _read_numbering(document) -> _Numbering:
    numbering = _Numbering()
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return numbering
    for abstract in root.iter(f"{_W}abstractNum"):
        aid = abstract.get(f"{_W}abstractNumId")
        numbering.levels[aid] = {int(lvl.get(f"{_W}ilvl", "0")): _level(lvl) for lvl in abstract.iter(f"{_W}lvl")}
    for num in root.iter(f"{_W}num"):
        nid = num.get(f"{_W}numId")
        ref = num.find(f"{_W}abstractNumId")
        if ref is None:
            continue
        numbering.nums[nid] = ref.get(f"{_W}val")
        for override in num.iter(f"{_W}lvlOverride"):
            start = override.find(f"{_W}startOverride")
            if start is not None:
                numbering.overrides.setdefault(nid, {})[int(override.get(f"{_W}ilvl", "0"))] = int(start.get(f"{_W}val", "1"))
    return numbering


def _level(lvl) -> _Level:
    def val(tag: str, default: str) -> str:
        el = lvl.find(f"{_W}{tag}")
        return el.get(f"{_W}val", default) if el is not None else default

    start = val("start", "1")
    return _Level(start=int(start) if start.lstrip("-").isdigit() else 1, fmt=val("numFmt", "decimal"),
                  text=val("lvlText", ""), suffix=val("suff", "tab"), legal=lvl.find(f"{_W}isLgl") is not None)


def _num_pr(paragraph) -> tuple[str, int] | None:
    """(numId, ilvl) from the paragraph's own properties, else from its style chain."""
    ppr = paragraph._p.pPr
    num_pr = ppr.numPr if ppr is not None else None
    style = paragraph.style if num_pr is None else None
    while num_pr is None and style is not None:
        sppr = style.element.pPr
        num_pr = sppr.numPr if sppr is not None else None
        style = style.base_style
    if num_pr is None or num_pr.numId is None:
        return None
    ilvl = num_pr.ilvl.val if num_pr.ilvl is not None else 0
    return str(num_pr.numId.val), int(ilvl)


def _paragraph_text(paragraph, numbering: _Numbering) -> str:
    ref = _num_pr(paragraph)
    label = numbering.label(*ref) if ref else ""
    return label + paragraph.text


def read_docx(raw: bytes, name: str) -> tuple[str, tuple[TableSpan, ...]]:
    """(text, tables) of a .docx: paragraphs one per line with automatic numbers, tables one row per
    line (their spans in `tables`). The core properties' title is not used: Word fills it with
    template names and old file names more often than with the document's title.

    Raises IngestError for a file that is not a valid .docx.
    """
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises zip, XML, KeyError and ValueError on bad input
        raise IngestError(name, f"not a valid .docx file ({type(exc).__name__}: {exc})",
                          "open it in Word or LibreOffice and save it again as .docx") from exc
    numbering = _read_numbering(document)
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(table_lines(_rows(block, numbering)))
        else:
            lines.append(_paragraph_text(block, numbering))
    return "\n".join(lines) + "\n", table_spans(lines)


def _rows(table, numbering: _Numbering) -> list[list[Cell]]:
    """Source rows of a Word table; a vertically merged continuation is dropped (its origin spans)."""
    from docx.table import _Cell

    grid: list[list[tuple[object, int]]] = []  # per row: (tc, gridSpan), continuation tcs included
    for tr in table._tbl.tr_lst:
        grid.append([(tc, tc.grid_span) for tc in tr.tc_lst])
    header_rows = 0
    for tr in table._tbl.tr_lst:
        trpr = tr.trPr
        if trpr is not None and trpr.find(f"{_W}tblHeader") is not None:
            header_rows += 1
        else:
            break
    rows: list[list[Cell]] = []
    for r, row in enumerate(grid):
        cells, col = [], 0
        for tc, span in row:
            if tc.vMerge == "continue":
                col += span
                continue
            rowspan = 1
            while r + rowspan < len(grid) and _continues_at(grid[r + rowspan], col):
                rowspan += 1
            paragraphs = [_paragraph_text(p, numbering) for p in _Cell(tc, table).paragraphs]
            cells.append(Cell(cell_text(paragraphs), rowspan=rowspan, colspan=span, header=r < header_rows))
            col += span
        rows.append(cells)
    return rows


def _continues_at(row: list[tuple[object, int]], col: int) -> bool:
    at = 0
    for tc, span in row:
        if at == col:
            return tc.vMerge == "continue"
        at += span
    return False
