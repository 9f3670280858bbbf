"""Render a table (from HTML or Word) as text that keeps it a table: one line per row, each value with
its column header, e.g. `类别：加分指标；序号：1；指标：文化程度；指标内容及分值：1. 本科及以上学历（30分）。`.

Trade-offs: merged cells are expanded onto the grid first (a rowspan/vMerge value repeats in every row
it covers, a colspan value is written once per row), so every row line reads on its own and the
splitter can cut between any two rows. Header rows are the leading rows marked as headers (`<th>`,
Word's repeat-header flag) or else the first row; a header row with horizontally merged cells (a
two-level header) takes the row below it too, and the column label joins both levels with "·".
A table of one row or one column has no header: its cells are written as they are, joined by "；".
A leading row that is one merged cell across the table is its name and becomes a line of its own.
The derived header labels drop the padding spaces that align characters in a cell ("类  别" -> "类别").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import TableSpan

_CJK = r"\u3400-\u9fff\uf900-\ufaff"
_PADDING = re.compile(rf"(?<=[{_CJK}])[ \u3000\u00a0]+(?=[{_CJK}])")
_ROW_SEP, _CELL_SEP, _LABEL_SEP = "；", "：", "·"


@dataclass(frozen=True)
class Cell:
    """One cell as written in the source: its text (paragraphs joined), spans and header flag."""

    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False


class RowLine(str):
    """A table row rendered as one line of text; `table` is shared by the rows of one table."""

    table: int

    def __new__(cls, text: str, table: int) -> "RowLine":
        line = super().__new__(cls, text)
        line.table = table
        return line


_next_table = iter(range(1, 1 << 62))


@dataclass(frozen=True)
class _Slot:
    text: str
    origin: tuple[int, int]  # (row, col) of the source cell, so a spanned cell is recognised
    header: bool


def cell_text(paragraphs: list[str]) -> str:
    """A cell's paragraphs on one line; single characters stacked vertically ("基/础/指/标") join up."""
    parts = [" ".join(p.split()) for p in paragraphs]
    parts = [p for p in parts if p]
    if parts and all(len(p) == 1 for p in parts):
        return "".join(parts)
    return " ".join(parts)


def _grid(rows: list[list[Cell]]) -> list[list[_Slot | None]]:
    """Place cells on a rectangular grid, expanding rowspan and colspan."""
    grid: list[list[_Slot | None]] = []
    for r, row in enumerate(rows):
        while len(grid) <= r:
            grid.append([])
        c = 0
        for cell in row:
            while c < len(grid[r]) and grid[r][c] is not None:
                c += 1
            slot = _Slot(cell.text, (r, c), cell.header)
            for dr in range(max(1, cell.rowspan)):
                while len(grid) <= r + dr:
                    grid.append([])
                target = grid[r + dr]
                for dc in range(max(1, cell.colspan)):
                    while len(target) <= c + dc:
                        target.append(None)
                    target[c + dc] = slot
            c += max(1, cell.colspan)
    width = max((len(row) for row in grid), default=0)
    return [row + [None] * (width - len(row)) for row in grid]


def _header_rows(grid: list[list[_Slot | None]]) -> int:
    """How many leading rows are the header."""
    marked = 0
    while marked < len(grid) and all(s is None or s.header for s in grid[marked]):
        marked += 1
    if marked:
        return min(marked, len(grid) - 1)
    count = 1
    # A merged cell across columns in the header means a second header level below it.
    while count < len(grid) - 1:
        row = grid[count - 1]
        merged = any(row[i] is not None and row[i] is row[i + 1] for i in range(len(row) - 1))
        if not merged:
            break
        count += 1
    return count


def _label(grid: list[list[_Slot | None]], n_header: int, col: int) -> str:
    parts: list[str] = []
    for r in range(n_header):
        slot = grid[r][col]
        text = _PADDING.sub("", slot.text).strip() if slot else ""
        if text and text not in parts:
            parts.append(text)
    return _LABEL_SEP.join(parts)


def table_lines(rows: list[list[Cell]]) -> list[str]:
    """The table as text lines: one per body row, each value prefixed by its column's header.

    `rows` are the source rows, each a list of Cells in reading order (a cell covered by a rowspan
    from above is not listed again). Returns [] for a table with no text. Rows whose cells are all
    empty are dropped; a row that only repeats the header is dropped too. Row lines are RowLines
    (see `table_spans`); a name row is a plain line.
    """
    grid = _grid(rows)
    if not grid or not any(s and s.text.strip() for row in grid for s in row):
        return []
    table = next(_next_table)
    width = len(grid[0])
    lines = []
    # A leading row that is one cell across the whole table is the table's name, not a header.
    while len(grid) > 1 and width > 1 and all(s is grid[0][0] for s in grid[0]):
        if grid[0][0] is not None and grid[0][0].text.strip():
            lines.append(grid[0][0].text.strip())
        grid = grid[1:]
    if len(grid) == 1 or width == 1:
        for row in grid:
            values = list(dict.fromkeys(s.text.strip() for s in row if s and s.text.strip()))
            if values:
                lines.append(RowLine(_ROW_SEP.join(values), table))
        return lines
    n_header = _header_rows(grid)
    labels = [_label(grid, n_header, c) for c in range(width)]
    for row in grid[n_header:]:
        pairs: list[str] = []
        seen: set[tuple[int, int]] = set()
        for col, slot in enumerate(row):
            if slot is None or slot.origin in seen or not slot.text.strip():
                continue
            seen.add(slot.origin)
            value = slot.text.strip()
            label = labels[col]
            pairs.append(f"{label}{_CELL_SEP}{value}" if label and label != value else value)
        if pairs and not all(p in labels for p in pairs):
            lines.append(RowLine("".join(p + ("" if p.endswith(("。", "；", ";")) or n == len(pairs) - 1 else _ROW_SEP)
                                         for n, p in enumerate(pairs)), table))
    return lines


def table_spans(lines: list[str]) -> tuple[TableSpan, ...]:
    """Where the tables are in `"\n".join(lines)`: one TableSpan per run of RowLines of one table.

    A table's name is the line just above its first row when that line is short and not a sentence
    (a caption, a merged title row, or the heading the document puts above the table).
    """
    spans: list[TableSpan] = []
    offset, current, rows, name, previous = 0, None, [], "", ""
    for line in lines:
        table = line.table if isinstance(line, RowLine) else None
        if table != current and current is not None:
            spans.append(TableSpan(name, tuple(rows)))
            rows = []
        if table is not None and table != current:
            name = previous if len(previous) <= 40 and not re.search(r"[。；;]$", previous) else ""
        if table is not None:
            rows.append((offset, offset + len(line)))
        current = table
        previous = line.strip() if table is None else previous
        offset += len(line) + 1
    if current is not None:
        spans.append(TableSpan(name, tuple(rows)))
    return tuple(spans)
