"""Giving units to clauses that carry no tag of their own: heading tags and annex task tables.

After splitting, a clause's own tags (ingest/departments.py) decide its units. A clause without any
takes them, in this order, from
  1. a row of a task-division table (附件 重点任务分工表: columns 任务 / 牵头单位 / 配合单位 / 责任单位)
     whose task names the clause ("加强科创平台效能建设" is the clause's title, or contains it);
  2. its nearest enclosing heading that has a tag on its heading line ("一、强化科技创新(区科技局牵头)")
     or is itself named by a table row.
A table row is either a line of labelled fields ("任务:…;牵头单位:…;配合单位:…", the shape tables
take as text) or a line of cells under a header line that names the roles (cells split by "|", or
by runs of spaces/tabs). The trade-off: a task matches by its words, so a table that names tasks
only by number ("1", "(一)") gives units to its own rows and to nothing else.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache

from ingest.departments import find_tags, provision_id, read_tag, role_words, roles_units, tag_units
from policyqa.text import match_key
from ingest.records import Clause

_MARKER = re.compile(r"^\s*(?:第[一二三四五六七八九十百千零〇两\d]+[编章节条]|[一二三四五六七八九十百]+[、.]|\([一二三四五六七八九十百]+\)|\d{1,3}(?:[、.](?!\d)|\s)|\(\d{1,3}\))\s*")
_TASK_WORDS = re.compile(r"任务|事项|内容|措施|举措|工作|项目|名称")
_NUMBER_CELL = re.compile(r"[\d一二三四五六七八九十()、.]+")
Units = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # lead, departments, cooperating


@dataclass(frozen=True)
class TaskRow:
    """One row of a task-division table: where it is, the task it names, and its units."""

    start: int
    end: int
    task: str
    units: Units


def _title(text: str) -> str:
    """A clause's or heading's title: its first line without the number, up to the first stop."""
    line = _MARKER.sub("", text.strip().split("\n", 1)[0], count=1)
    return match_key(re.split(r"[。;:(]", line, maxsplit=1)[0])


def _role_header(cell: str) -> str | None:
    """The role word when a header cell names a role column (牵头单位, 配合部门, 责任单位)."""
    cell = re.sub(r"\s+", "", cell)
    m = re.fullmatch(r"(.+?)(?:单位|部门|主体)?", cell)
    word = m.group(1) if m else ""
    return word if word in role_words()["label"] else None


def _cells(line: str) -> list[str]:
    parts = line.strip().strip("|").split("|") if "|" in line else re.split(r"\s+", line.strip())
    return [p.strip() for p in parts]


def _row_units(header: list[str], cells: list[str]) -> Units | None:
    fields = [f"{h}:{c}" for h, c in zip(header, cells) if _role_header(h) and c.strip(" -—/无")]
    roles = read_tag(";".join(fields)) if fields else None
    if not roles:
        return None
    return roles_units(roles)


def _merge(found: list[Units]) -> Units | None:
    """Several rows' units together, lead first; a unit that leads anywhere is not cooperating."""
    if not found:
        return None
    lead = tuple(dict.fromkeys(u for f in found for u in f[0]))
    departments = tuple(dict.fromkeys(lead + tuple(u for f in found for u in f[1])))
    return lead, departments, tuple(dict.fromkeys(u for f in found for u in f[2] if u not in lead))


def _cell_rows(norm: str) -> list[TaskRow]:
    """Rows under a header line of cells that names role columns."""
    rows: list[TaskRow] = []
    header: list[str] | None = None
    for m in re.finditer(r"[^\n]+", norm):
        cells = _cells(m.group(0))
        if len(cells) >= 2 and any(_role_header(c) for c in cells):
            header = cells
            continue
        if header is None or len(cells) < 2:
            header = None if m.group(0).strip() else header
            continue
        roles_at = [i for i, h in enumerate(header) if _role_header(h)]
        if len(cells) != len(header):
            # Extra spaces inside the task cell: role columns are counted from the right.
            k = len(header) - roles_at[0]
            cells = cells[: len(header) - k - 1] + [" ".join(cells[len(header) - k - 1 : -k])] + cells[-k:]
            if len(cells) != len(header):
                continue
        units = _row_units(header, cells)
        task = _task(header, cells)
        if units and task:
            rows.append(TaskRow(m.start(), m.end(), task, units))
    return rows


def _task(header: list[str], cells: list[str]) -> str:
    """The task cell: the column headed 任务/事项/内容…, else the longest non-number, non-role cell."""
    plain = [(h, c) for h, c in zip(header, cells) if not _role_header(h) and not _NUMBER_CELL.fullmatch(c)]
    named = [c for h, c in plain if _TASK_WORDS.search(h)]
    return (named or sorted((c for _, c in plain), key=len, reverse=True) or [""])[0]


def _field_rows(norm: str) -> list[TaskRow]:
    """Lines of labelled fields with a role field: "任务:加强…;牵头单位:区科技局;配合单位:区财政局"."""
    rows = []
    for m in re.finditer(r"[^\n]+", norm):
        pairs = [f.split(":", 1) for f in m.group(0).split(";") if ":" in f]
        if len(pairs) < 2 or not any(_role_header(k) for k, _ in pairs):
            continue
        header, cells = [k.strip() for k, _ in pairs], [v.strip() for _, v in pairs]
        units = _row_units(header, cells)
        task = _task(header, cells)
        if units and task:
            rows.append(TaskRow(m.start(), m.end(), task, units))
    return rows


@lru_cache(maxsize=1)
def _role_column() -> re.Pattern[str]:
    """A role column's header (牵头单位, 配合部门): a document without one has no task table."""
    words = sorted(role_words()["label"], key=len, reverse=True)
    return re.compile(f"(?:{'|'.join(map(re.escape, words))})\\s*(?:单位|部门|主体)")


def task_rows(norm: str) -> list[TaskRow]:
    """Every task-division table row in a normalised document, in order."""
    if not _role_column().search(norm):
        return []
    return sorted(_cell_rows(norm) + _field_rows(norm), key=lambda r: r.start)


def _row_for(title: str, rows: list[TaskRow], span: tuple[int, int]) -> Units | None:
    """The units of the first row outside `span` whose task is `title` or contains it (or the reverse,
    for titles and tasks of six characters or more)."""
    if len(title) < 2:
        return None
    for row in rows:
        if span[0] <= row.start < span[1]:
            continue
        task = match_key(_MARKER.sub("", row.task, count=1)).rstrip("。;")
        if task == title or min(len(task), len(title)) >= 6 and (title in task or task in title):
            return row.units
    return None


class _Headings:
    """Finds the line of an enclosing heading (a path entry) nearest before a position."""

    def __init__(self, norm: str) -> None:
        self.norm = norm
        self._at: dict[str, list[int]] = {}

    def line_before(self, heading: str, pos: int) -> tuple[int, str] | None:
        """(start, line) of the last line starting with `heading` that begins before `pos`."""
        if heading not in self._at:
            pattern = re.compile(r"^[ ]*(?:#{1,6}[ ]+)?" + re.escape(heading), re.MULTILINE)
            self._at[heading] = [m.start() for m in pattern.finditer(self.norm)]
        starts = self._at[heading]
        i = bisect_right(starts, pos - 1)
        if not i:
            return None
        start = starts[i - 1]
        end = self.norm.find("\n", start)
        return start, self.norm[start : len(self.norm) if end < 0 else end]


def _inherited(clause: Clause, first: Clause, rows: list[TaskRow], headings: _Headings) -> Units | None:
    """Units from a table row naming the clause, else from the nearest tagged enclosing heading."""
    found = _row_for(_title(first.text), rows, clause.span)
    if found:
        return found
    for heading in reversed(clause.path[:-1]):
        located = headings.line_before(heading, first.span[0])
        if located is None:
            continue
        tags = find_tags(located[1])
        if tags:
            return tag_units(tags)
        found = _row_for(_title(located[1]), rows, (located[0], located[0] + len(located[1])))
        if found:
            return found
    return None


def assign_tags(clauses: list[Clause], norm: str) -> list[Clause]:
    """`clauses` of one document (split from normalised text `norm`), each clause without tags of its
    own given the units of the table row that names it or of its nearest tagged heading; a clause
    holding a table row takes that row's units. Clauses with their own tags are returned unchanged."""
    rows = task_rows(norm)
    if not rows and not find_tags(norm, norm):
        return clauses
    headings = _Headings(norm)
    firsts: dict[str, Clause] = {}
    out = []
    for c in clauses:
        first = firsts.setdefault(provision_id(c.id), c)
        units = None
        if not c.departments:
            inside = _merge([r.units for r in rows if c.span[0] <= r.start < c.span[1]])
            units = inside or _inherited(c, first, rows, headings)
        if units:
            c = replace(c, lead=units[0], departments=units[1], cooperating=units[2])
        out.append(c)
    return out
