"""任务分工表: per document and per unit, 序号 / 任务 / 牵头单位 / 配合单位 / 完成时限 / 条款.

A unit belongs to its place: 朔州's 市科技局 and 阳泉's 市科技局 are two units (`Unit(place, name)`, the
place being the region of the document whose tag names it), so a unit's table never mixes cities.
One row per provision whose tags (parsed at ingest: lead, responsible, cooperating) name a unit, in
document order — the same provisions the department view lists for that unit in that place. The task
is the provision's title (its first sentence without its number), the deadline what the provision
states (ingest/deadlines.py). Downloads: CSV (UTF-8 with BOM, so spreadsheet programs read the
Chinese), XLSX (openpyxl) and a printable HTML page.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from ingest.deadlines import deadline
from ingest.departments import canonical, provision_id
from ingest.records import Clause, DocMeta
from ingest.segments import strip_numbering
from policyqa.errors import NotFoundError

HEADERS = ("序号", "任务", "牵头单位", "配合单位", "完成时限", "条款")
_TAG = re.compile(r"[(（][^()（）]*(?:牵头|负责|配合|责任单位|协助)[^()（）]*[)）]")


@dataclass(frozen=True, order=True)
class Unit:
    """A responsible unit in its place (the region of the document that names it)."""

    place: str
    name: str

    @property
    def label(self) -> str:
        """"阳泉市·市科技局" (the name alone when the place is unknown)."""
        return f"{self.place}·{self.name}" if self.place else self.name


@dataclass(frozen=True)
class TaskRow:
    """One row of the table: a provision, its units and its deadline."""

    n: int
    task: str
    lead: tuple[str, ...]
    cooperating: tuple[str, ...]
    deadline: str
    clause_id: str
    doc_id: str
    doc_title: str
    place: str
    path: str

    def cells(self) -> list:
        """The six columns, units joined with 、."""
        return [self.n, self.task, "、".join(self.lead), "、".join(self.cooperating), self.deadline or "—",
                f"{self.doc_title} {self.path}".strip()]

    def to_json(self) -> dict:
        """The row shape of `policyqa tasks --json` and GET /api/tasks."""
        return {"n": self.n, "task": self.task, "lead": list(self.lead), "cooperating": list(self.cooperating),
                "deadline": self.deadline, "clause_id": self.clause_id, "doc_id": self.doc_id,
                "doc_title": self.doc_title, "place": self.place, "path": self.path}


def task_title(text: str) -> str:
    """A provision's task: its first sentence without number or tag, at most 40 characters."""
    first = strip_numbering(_TAG.sub("", text.strip()).split("\n", 1)[0])
    title = re.split(r"[。；;]", first, maxsplit=1)[0].strip()
    return title if len(title) <= 40 else title[:39] + "…"


def _lead_of(c: Clause) -> tuple[str, ...]:
    """Lead units, or (a tag without 牵头) every responsible unit that is not only cooperating."""
    return c.lead or tuple(u for u in c.departments if u not in c.cooperating)


def units(clauses: Sequence[Clause], documents: Mapping[str, DocMeta]) -> list[tuple[Unit, int]]:
    """Every unit in its place with its number of provisions, most first."""
    seen: dict[Unit, set[str]] = {}
    for c in clauses:
        place = documents[c.doc_id].region if c.doc_id in documents else ""
        for name in c.departments:
            seen.setdefault(Unit(place, name), set()).add(provision_id(c.id))
    return sorted(((u, len(p)) for u, p in seen.items()), key=lambda x: (-x[1], x[0]))


def find_unit(name: str, place: str, known: Sequence[Unit]) -> list[Unit]:
    """Units named `name` (canonical, or containing it), in `place` when one is given."""
    wanted = canonical(name.split("·")[-1])
    place = place or (name.split("·")[0] if "·" in name else "")
    pool = [u for u in known if not place or place in u.place or u.place in place and u.place]
    exact = [u for u in pool if u.name == wanted]
    return exact or [u for u in pool if wanted and wanted in u.name]


def task_table(clauses: Sequence[Clause], documents: Mapping[str, DocMeta], *, doc_ids: Sequence[str] = (),
               unit: str = "", place: str = "") -> list[TaskRow]:
    """The rows for the chosen documents, unit (in its place) and place; NotFoundError for an unknown unit."""
    chosen: list[Unit] = []
    if unit:
        chosen = find_unit(unit, place, [u for u, _ in units(clauses, documents)])
        if not chosen:
            raise NotFoundError(f"no unit named '{unit}'" + (f" in {place}" if place else ""), what="unit", value=unit,
                                hint="`policyqa tasks` lists every row; GET /api/tasks/units lists the units",
                                zh=f"没有名为“{unit}”的责任单位" + (f"（{place}）" if place else ""))
    rows: list[TaskRow] = []
    seen: set[str] = set()
    for c in clauses:
        meta = documents.get(c.doc_id)
        where = meta.region if meta else ""
        pid = provision_id(c.id)
        if pid in seen or not c.departments or doc_ids and c.doc_id not in doc_ids:
            continue
        if place and not (place in where or where and where in place):
            continue
        if chosen and not any(u.name in c.departments and u.place == where for u in chosen):
            continue
        seen.add(pid)
        rows.append(TaskRow(len(rows) + 1, task_title(c.text), _lead_of(c), c.cooperating,
                            deadline(c.text + "".join(c.tags)), c.id, c.doc_id, meta.title if meta else c.doc_title,
                            where, c.path_text))
    return rows


def to_csv(rows: Sequence[TaskRow]) -> bytes:
    """The table as CSV bytes (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(r.cells() for r in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: Sequence[TaskRow], title: str = "任务分工表") -> bytes:
    """The table as an XLSX workbook (one sheet, header row frozen, columns sized for Chinese text)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "任务分工表"
    sheet.append([title])
    sheet.append(list(HEADERS))
    for row in rows:
        sheet.append(row.cells())
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDEF", (6, 40, 28, 28, 14, 40)):
        sheet.column_dimensions[col].width = width
    for line in sheet.iter_rows(min_row=3):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
