"""The 政策计算器 and 任务分工表 over one index: items, profile matching, task tables, units in their
places — each call reads one snapshot from start to end (index/snapshot.py), like every other view.

Used by the service (the web app) and the CLI alike; it needs a Retriever only for its snapshot and its
document resolution (id, title, alias or region), never for embeddings, so the CLI loads no model.
"""

from __future__ import annotations

from index.search import Retriever
from ingest.items import SupportItem
from qa.match import MatchResult, Profile, match_profile
from qa.tasks import TaskRow, Unit, task_table, units


class Calculator:
    """Items, matching and task tables of the index a Retriever reads."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def items(self, doc: str | None = None) -> list[SupportItem]:
        """The support items of the index (of one document, by id, title, alias or region)."""
        snap = self.retriever.snapshot()
        doc_ids = self.retriever.resolve_docs(doc, snap) if doc else None
        return [i for i in snap.items if not doc_ids or i.doc_id in doc_ids]

    def match(self, profile: Profile) -> MatchResult:
        """Eligible, possible and ineligible items for an enterprise profile."""
        snap = self.retriever.snapshot()
        return match_profile(profile, snap.items, snap.documents)

    def tasks(self, *, doc: str | None = None, unit: str | None = None, place: str | None = None) -> list[TaskRow]:
        """任务分工表 rows for a document, a unit in its place ("阳泉市·市科技局" or unit + place), or a place."""
        snap = self.retriever.snapshot()
        doc_ids = self.retriever.resolve_docs(doc, snap) if doc else None
        return task_table(snap.clauses, snap.documents, doc_ids=doc_ids or (), unit=unit or "", place=place or "")

    def units(self) -> list[tuple[Unit, int]]:
        """Every unit in its place with its number of provisions, most first."""
        snap = self.retriever.snapshot()
        return units(snap.clauses, snap.documents)

    def places(self) -> list[str]:
        """The places of the indexed documents (their regions), in document order."""
        return list(dict.fromkeys(m.region for m in self.retriever.snapshot().documents.values() if m.region))
