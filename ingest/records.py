"""The records that flow through every stage: a loaded Document and the Clauses split from it."""

from __future__ import annotations

from dataclasses import dataclass, field

PATH_SEP = " › "


@dataclass(frozen=True)
class DocMeta:
    """What is known about a document: its stable id (slug), title, issuing body, region and date."""

    doc_id: str
    title: str
    issuer: str = ""
    region: str = ""
    date: str = ""
    source: str = ""  # path relative to the corpus folder
    aliases: tuple[str, ...] = ()  # short names users call it by: 阳泉意见, 朔州
    duplicate_of: str = ""  # source of an earlier document with the same (or nearly the same) text


@dataclass(frozen=True)
class TableSpan:
    """A table in a document's text: its name ("" if none) and the span of each row's line."""

    name: str
    rows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Document:
    """A loaded document: original text (CRLF folded to LF, nothing else changed) and its metadata."""

    meta: DocMeta
    text: str
    content_hash: str  # sha256 of the raw file bytes
    format: str = "txt"
    tables: tuple[TableSpan, ...] = ()  # tables of html/docx files, rendered one row per line


@dataclass(frozen=True)
class Clause:
    """One numbered provision (or a part of one) with its place in the document.

    `span` indexes both the document's original text and its normalised form (normalisation is
    length-preserving). `text` is that span as a reader sees it: page furniture dropped and wrapped
    lines joined (`ingest.furniture.Layout.render`); for text without either they are equal.
    """

    id: str  # e.g. "yangquan-2017#二.(一).3"; parts of a long provision add "~2", "~3"
    doc_id: str
    doc_title: str
    path: tuple[str, ...]  # breadcrumb of headings, ending with this clause's own label
    text: str
    span: tuple[int, int]
    lead: tuple[str, ...] = ()  # 牵头单位
    departments: tuple[str, ...] = ()  # every responsible unit, lead units first
    region: str = ""
    part: int = 0  # 0 for a whole provision; 1, 2, ... for the parts of a split one
    tags: tuple[str, ...] = field(default=())  # the raw responsibility tag texts, as written
    cooperating: tuple[str, ...] = ()  # 配合单位: the units in `departments` that only support
    kind: str = ""  # preamble | article | item | section | annex | table_row | paragraph ("" if unknown)

    @property
    def path_text(self) -> str:
        """The breadcrumb as one readable string."""
        return PATH_SEP.join(self.path)

    def to_json(self) -> dict:
        """The JSON shape used by `policyqa clauses --json` and the API."""
        return {
            "id": self.id,
            "doc_id": self.doc_id,
            "doc_title": self.doc_title,
            "path": self.path_text,
            "text": self.text,
            "span": list(self.span),
            "lead": list(self.lead),
            "departments": list(self.departments),
            "cooperating": list(self.cooperating),
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, row: dict) -> "Clause":
        """Inverse of `to_json` plus the stored extras (region, part, tags); records written before a
        field existed (such as `kind`) read with its default."""
        return cls(
            id=row["id"],
            doc_id=row["doc_id"],
            doc_title=row["doc_title"],
            path=tuple(row["path"].split(PATH_SEP)) if row["path"] else (),
            text=row["text"],
            span=(row["span"][0], row["span"][1]),
            lead=tuple(row.get("lead", ())),
            departments=tuple(row.get("departments", ())),
            region=row.get("region", ""),
            part=row.get("part", 0),
            tags=tuple(row.get("tags", ())),
            cooperating=tuple(row.get("cooperating", ())),  # absent in records written before it existed
            kind=row.get("kind", ""),
        )

    def to_record(self) -> dict:
        """`to_json` plus the fields the index stores (region, part, tags)."""
        row = self.to_json()
        row.update(region=self.region, part=self.part, tags=list(self.tags))
        return row


@dataclass(frozen=True)
class Hit:
    """One retrieved clause: its score under the method that ranked it, and its 1-based rank."""

    clause: Clause
    score: float
    rank: int

    def to_json(self) -> dict:
        """The hit shape of `policyqa search --json` and the API."""
        c = self.clause
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "clause_id": c.id,
            "doc_id": c.doc_id,
            "doc_title": c.doc_title,
            "path": c.path_text,
            "text": c.text,
            "lead": list(c.lead),
            "departments": list(c.departments),
            "cooperating": list(c.cooperating),
            "kind": c.kind,
        }


@dataclass(frozen=True)
class Route:
    """What a question names, read once (index/routing.py): documents to restrict to (by name, place
    or short title), clause references as label paths ("二.(一).3", "第3条": articles in Arabic
    numerals), responsible units, and the distinct names the documents were named by (two names,
    "阳泉和朔州", ask about each; one place covering two documents is one name)."""

    doc_ids: tuple[str, ...] = ()
    clause_refs: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """{doc_ids, clause_refs, departments, names}."""
        return {"doc_ids": list(self.doc_ids), "clause_refs": list(self.clause_refs),
                "departments": list(self.departments), "names": list(self.names)}


@dataclass(frozen=True)
class SearchResult:
    """What a search returns: the question, ranked hits, and per-stage timings in milliseconds.

    `route` is what the question named and `exact` the ids of the clauses found by their number
    (ranked first); code reads these fields, `notes` are for people."""

    question: str
    hits: tuple[Hit, ...]
    timings_ms: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # routing decisions, e.g. "restricted to yangquan-2017"
    index_version: str = ""  # the index version every hit comes from
    route: Route = Route()
    exact: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The shape of `policyqa search --json`."""
        return {
            "question": self.question,
            "hits": [h.to_json() for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "notes": list(self.notes),
            "index_version": self.index_version,
            "route": self.route.to_json(),
            "exact": list(self.exact),
        }
