"""The views the faces show, computed from one index snapshot (or from corpus clauses, for the CLI):
documents with their clause outline, and what one unit leads, cooperates on or shares.

Shapes: `DocumentInfo.to_json()` is one row of GET /api/documents; `DepartmentView.to_json()` is
`policyqa departments NAME --json` and GET /api/departments/{name}. Errors: NotFoundError when no
unit matches a name, AmbiguousError when several do (HTTP 404 / 409 on every API path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from index.snapshot import Snapshot
from index.store import doc_meta_to_json
from ingest.departments import clauses_for_unit, resolve_unit, unit_counts, unit_role
from ingest.records import Clause, DocMeta
from policyqa.errors import AmbiguousError, NotFoundError


# --------------------------------------------------------------------------- records

ROLE_ZH = {"lead": "牵头", "cooperating": "配合", "shared": "分工"}  # a unit's role in a provision, as shown


@dataclass(frozen=True)
class TreeNode:
    """One heading of a document's outline; `clause_id` is set when the heading is a clause itself."""

    title: str
    clause_id: str | None = None
    children: tuple["TreeNode", ...] = ()

    def to_json(self) -> dict:
        """{title, clause_id, children}."""
        return {"title": self.title, "clause_id": self.clause_id, "children": [c.to_json() for c in self.children]}


@dataclass(frozen=True)
class DocumentInfo:
    """A document in the index: metadata, file format, clause count and outline."""

    meta: DocMeta
    format: str
    clauses: int
    tree: tuple[TreeNode, ...]

    def to_json(self) -> dict:
        """The shape of one row of GET /api/documents."""
        return {"doc_id": self.meta.doc_id, **doc_meta_to_json(self.meta), "format": self.format,
                "clauses": self.clauses, "tree": [n.to_json() for n in self.tree]}


@dataclass(frozen=True)
class DepartmentView:
    """Every provision one unit leads or shares, grouped by document: (doc_id, title, clauses)."""

    name: str
    groups: tuple[tuple[str, str, tuple[Clause, ...]], ...]

    @property
    def total(self) -> int:
        """Number of provisions."""
        return sum(len(items) for _, _, items in self.groups)

    @property
    def lead(self) -> int:
        """Number of provisions the unit leads."""
        return sum(self.name in c.lead for _, _, items in self.groups for c in items)

    @property
    def cooperating(self) -> int:
        """Number of provisions the unit only supports (配合)."""
        return sum(self.role(c) == "cooperating" for _, _, items in self.groups for c in items)

    def role(self, clause: Clause) -> str:
        """The unit's role in one provision: "lead", "cooperating" (配合) or "shared" (responsible)."""
        return unit_role(self.name, clause)

    def to_json(self) -> dict:
        """The shape of `policyqa departments NAME --json`."""
        return {"name": self.name, "total": self.total, "lead": self.lead, "cooperating": self.cooperating,
                "documents": [
                    {"doc_id": doc_id, "doc_title": title,
                     "clauses": [dict(c.to_json(), role=self.role(c)) for c in items]}
                    for doc_id, title, items in self.groups]}


def clause_tree(clauses: Sequence[Clause]) -> tuple[TreeNode, ...]:
    """A document's outline from its clauses' breadcrumb paths (sections without clauses of their own included)."""
    root: dict = {}
    for c in clauses:
        node = root
        for depth, title in enumerate(c.path):
            if depth == len(c.path) - 1:
                node = node.setdefault((title, c.id), {})
            else:  # a heading that is also a clause ("一、总体要求" with text) holds its sub-clauses
                key = next((k for k in reversed(node) if k[0] == title), (title, None))
                node = node.setdefault(key, {})

    def freeze(node: dict) -> tuple[TreeNode, ...]:
        return tuple(TreeNode(title, cid, freeze(child)) for (title, cid), child in node.items())
    return freeze(root)




def department_view(clauses: Sequence[Clause], titles: Mapping[str, str], name: str) -> DepartmentView:
    """Every provision the unit `name` leads or shares, grouped by document (`titles`: doc_id → title)."""
    name = name.strip()
    matches = resolve_unit(name, [r.name for r in unit_counts(clauses)])
    if not matches:
        raise NotFoundError(f"no unit named '{name}'", what="unit", value=name,
                            hint="run `policyqa departments` (GET /api/departments) to list them",
                            zh=f"没有名为“{name}”的责任单位")
    if len(matches) > 1:
        raise AmbiguousError(f"'{name}' matches several units: {'、'.join(matches)}", value=name, choices=matches,
                             hint="give the full name", zh=f"“{name}”对应多个单位：{'、'.join(matches)}，请写全称")
    grouped = clauses_for_unit(clauses, matches[0])
    return DepartmentView(matches[0], tuple((d, titles.get(d, d), tuple(items)) for d, items in grouped.items()))


def document_infos(snap: Snapshot) -> list[DocumentInfo]:
    """Every document of one index version with metadata, file format, clause count and outline."""
    by_doc: dict[str, list[Clause]] = {}
    for c in snap.clauses:
        by_doc.setdefault(c.doc_id, []).append(c)
    return [DocumentInfo(meta, snap.doc_format(d), len(by_doc.get(d, [])), clause_tree(by_doc.get(d, [])))
            for d, meta in snap.documents.items()]
