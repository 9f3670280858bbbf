"""The engine seam: where an index version's clause vectors and BM25 rows live, behind one small class.

An engine stores one row per clause of a version, keyed by the clause's row (line i of clauses.jsonl
is row i): its unit vector, its jieba tokens (BM25 is scored where they are stored), its document id
and its units by role. It answers two questions under an optional `Where` filter: the rows nearest to
a query vector (inner product) and the best BM25 rows for query tokens. It also reads vectors back
(an incremental build reuses them, whichever engine wrote them), deletes and upserts by document, and
counts. Routing, exact clause-number lookups and fusion stay the project's own (index/search.py): an
engine neither embeds, routes nor fuses.

    engine   stored                                   dense           BM25 (k1 1.2, b 0.75, Lucene idf)
    numpy    vectors.npy in the version folder        exact matmul    exact, in NumPy: the reference
    faiss    dense.faiss + lexical/ (the default)     flat IP         bm25s sparse matrix
    milvus   one collection per version at a URI      FLAT IP         Milvus's BM25 function on our tokens

The factory (index/engines.py `engine_class`) picks the engine by the name the manifest records, so a
version opens with the engine that wrote it whatever the settings say now; the settings choose the
engine of the next build. Adding an engine is one subclass, one name in that factory and one line in
tests/test_engines.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterable, Sequence

import numpy as np
from pydantic import SecretStr

from ingest.records import Clause
from policyqa.errors import PolicyQAError

ENGINES = ("faiss", "numpy", "milvus")
ROLES = ("any", "lead", "responsible", "cooperating")  # any = every responsible unit (departments)


def unit_roles(clause: Clause) -> dict[str, tuple[str, ...]]:
    """The clause's units by role: lead (牵头), responsible (分工/责任: neither lead nor cooperating),
    cooperating (配合), and any (all of them, `clause.departments`)."""
    lead, cooperating = set(clause.lead), set(clause.cooperating)
    responsible = tuple(u for u in clause.departments if u not in lead and u not in cooperating)
    return {"any": tuple(clause.departments), "lead": tuple(clause.lead), "responsible": responsible,
            "cooperating": tuple(clause.cooperating)}


@dataclass(frozen=True)
class Where:
    """Which rows a search may return: of one of `doc_ids` (None: any document) and naming one of
    `units` in `role` (None: no unit condition). Both given means both must hold."""

    doc_ids: tuple[str, ...] | None = None
    units: tuple[str, ...] | None = None
    role: str = "any"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise PolicyQAError(f"unknown department role '{self.role}'; use one of {', '.join(ROLES)}")

    @property
    def empty(self) -> bool:
        """True when the filter can match nothing (an empty list of documents or units)."""
        return self.doc_ids == () or self.units == ()


@dataclass(frozen=True)
class EngineSpec:
    """Which engine the next build writes and how to reach it: `name` (one of ENGINES), `uri` (milvus:
    "" for a Milvus Lite file inside the index folder, a `.db` path, or http(s)://host:19530) and the
    cluster's `token`, which is never written to a manifest or a log."""

    name: str = "faiss"
    uri: str = ""
    token: SecretStr = field(default_factory=lambda: SecretStr(""), repr=False)

    def __post_init__(self) -> None:
        if self.name not in ENGINES:
            raise PolicyQAError(f"unknown index engine '{self.name}'; set POLICYQA_ENGINE to one of {', '.join(ENGINES)}")


def engine_spec(settings) -> EngineSpec:
    """The EngineSpec of a Settings object (POLICYQA_ENGINE, POLICYQA_MILVUS_URI, POLICYQA_MILVUS_TOKEN)."""
    return EngineSpec(settings.engine, settings.milvus_uri, settings.milvus_token)


@dataclass(frozen=True)
class Rows:
    """Rows to store: `ids[i]` is the clause row of `clauses[i]`, `tokens[i]` its BM25 tokens and
    `vectors[i]` its unit vector (float32, shape (n, dimension))."""

    ids: np.ndarray
    clauses: Sequence[Clause]
    tokens: Sequence[Sequence[str]]
    vectors: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ids)
        if not (len(self.clauses) == len(self.tokens) == len(self.vectors) == n):
            raise ValueError(f"Rows: {n} ids, {len(self.clauses)} clauses, {len(self.tokens)} token lists, "
                             f"{len(self.vectors)} vectors: they must be as many")

    @classmethod
    def of(cls, clauses: Sequence[Clause], tokens: Sequence[Sequence[str]], vectors: np.ndarray,
           start: int = 0) -> "Rows":
        """Rows numbered start, start+1, … in the order given."""
        ids = np.arange(start, start + len(clauses), dtype=np.int64)
        return cls(ids, list(clauses), list(tokens), np.asarray(vectors, dtype=np.float32).reshape(len(clauses), -1))


Ranked = list[tuple[int, float]]  # (row, score), best first


class EngineIndex(ABC):
    """One index version stored in one engine. Rows are clause rows of that version (int)."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def create(cls, folder: Path, spec: EngineSpec, dimension: int) -> "EngineIndex":
        """A new, empty index for the version folder `folder` (which exists): files go inside it, or
        the engine makes its own storage named after it."""

    @classmethod
    @abstractmethod
    def open(cls, folder: Path, info: dict, spec: EngineSpec, clauses: Sequence[Clause],
             tokens: Sequence[Sequence[str]]) -> "EngineIndex":
        """The index `save` wrote for `folder`; `info` is what it returned, `clauses`/`tokens` are the
        version's records by row. IndexFolderError if it is missing or damaged."""

    @abstractmethod
    def upsert(self, rows: Rows) -> None:
        """Add rows; a row whose id is already stored is replaced."""

    @abstractmethod
    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove every row of these documents; returns how many rows went."""

    @abstractmethod
    def count(self) -> int:
        """Rows stored."""

    @abstractmethod
    def dense(self, query: np.ndarray, k: int, where: Where | None = None) -> Ranked:
        """Up to k rows by inner product with `query` (shape (dimension,)), best first."""

    @abstractmethod
    def lexical(self, tokens: Sequence[str], k: int, where: Where | None = None) -> Ranked:
        """Up to k rows by BM25 over `tokens`, best first; rows scoring 0 are left out."""

    @abstractmethod
    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of `rows`, in that order (shape (len(rows), dimension))."""

    @abstractmethod
    def save(self) -> dict:
        """Make what was written durable; returns the manifest's "engine" entry (its "name" included,
        never a secret)."""

    @classmethod
    def session(cls, index_dir: Path, spec: EngineSpec):
        """What a build keeps open from its start (a connection, with `close()`), so that an engine that
        is unreachable or busy fails before any embedding; None for engines that need nothing."""
        return None

    def close(self) -> None:
        """Release connections or files (the index is unusable afterwards); idempotent."""

    def drop(self) -> None:
        """Remove what this version stored outside its folder (a discarded or pruned version)."""

    @classmethod
    def prune(cls, index_dir: Path, info: dict, spec: EngineSpec, removed: Sequence[str]) -> None:
        """Drop storage kept outside the folder for the versions named in `removed`, after `publish`
        deleted their folders; `info` is the live version's "engine" entry."""


def top_k(scores: np.ndarray, positions: np.ndarray, ids: np.ndarray, k: int, positive: bool = False) -> Ranked:
    """The k best (row, score) among `positions` of a score array (ties keep position order);
    `positive` drops scores <= 0 (BM25 rows sharing no token)."""
    if k <= 0 or len(positions) == 0:
        return []
    sub = scores[positions]
    k = min(k, len(sub))
    best = np.argpartition(-sub, k - 1)[:k] if k < len(sub) else np.arange(len(sub))
    best = best[np.lexsort((best, -sub[best]))]
    return [(int(ids[positions[i]]), float(sub[i])) for i in best if not positive or sub[i] > 0]
