"""Hybrid clause search: dense (inner product) and BM25 from the version's engine, fused here.

Before ranking, the question is routed: a named document or place restricts both retrievers to that
document's clauses, a clause number is looked up exactly and ranked first, and a named department
is available to the answer chain. Explicit `doc` / `department` filters restrict hard.
Both retrievers are calls to the engine (index/engine.py: FAISS + bm25s, NumPy, Milvus) with a `Where`
filter; the engine neither routes nor fuses. Each route hands `FusionWeights.depth` candidates with its
own scores to `fuse` (index/fusion.py), a pure function, which puts cosine and BM25 on one footing per
question; with `FusionWeights.union` each route first scores the other's candidates too.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from index.embedder import Embedder
from index.engine import EngineSpec, Where
from index.fusion import FusionWeights, complete, fuse  # noqa: F401  (FusionWeights: part of this module's interface)
from index.lexical import Tokenizer
from index.routing import canonical_label, route
from index.snapshot import Snapshot, SnapshotHolder
from index.store import IndexData
from ingest.departments import resolve_unit
from policyqa.text import normalize
from ingest.records import Hit, Route, SearchResult
from policyqa.errors import NotFoundError, PolicyQAError, QuestionError

MODES = ("hybrid", "dense", "bm25")


def check_question(question: str, max_chars: int = 1000) -> str:
    """Return the trimmed question, or raise QuestionError for empty, too long or wordless input."""
    q = (question or "").strip()
    if not q:
        raise QuestionError("the question is empty", zh="问题为空：请输入一个问题")
    if len(q) > max_chars:
        raise QuestionError(f"the question is {len(q)} characters; the limit is {max_chars}", value=len(q),
                            hint="shorten it", zh=f"问题过长：{len(q)} 字，上限 {max_chars} 字，请精简后再问")
    if not re.search(r"[\w\u4e00-\u9fff]", normalize(q)):
        raise QuestionError("the question has no words to search for", value=q,
                            zh="问题里没有可检索的文字，只有标点或符号")
    return q


class Retriever:
    """Searches one index folder; loads the index and the embedding model once, on first use.

    Every search reads one `Snapshot` (index/snapshot.py) from start to end: pass `snapshot=` to
    make several calls (routing, search, answer checks) read the same version."""

    def __init__(self, index_dir: Path, embedder: Embedder, *, weights: FusionWeights = FusionWeights(),
                 max_question_chars: int = 1000, engine: EngineSpec = EngineSpec()) -> None:
        self.index_dir = Path(index_dir)
        self.embedder = embedder
        self.weights = weights
        self.max_question_chars = max_question_chars
        self.engine = engine  # what the next build writes; a version opens with the engine its manifest names
        self.holder = SnapshotHolder(self.index_dir, embedder.name, engine)

    def warm_up(self) -> "Retriever":
        """Load the index, the tokenizer and the model now rather than on the first question."""
        snap = self.snapshot()
        if snap.clauses:
            self.embedder.embed_query("预热")
        return self

    def snapshot(self) -> Snapshot:
        """The live index version with its lookups (loaded on first use); hold it for a whole request."""
        return self.holder.get()

    def close(self) -> None:
        """Release the engine the live version holds open (see SnapshotHolder.close)."""
        self.holder.close()

    def refresh(self) -> bool:
        """Switch to the version CURRENT now names, after verifying it; True if it switched.
        IndexFolderError if it fails its checks (the loaded version keeps serving)."""
        return self.holder.refresh()

    @property
    def data(self) -> IndexData:
        """The live version's loaded index (a snapshot's `data`)."""
        return self.snapshot().data

    @property
    def tokenizer(self) -> Tokenizer:
        """The jieba tokenizer with the live index's user dictionary."""
        return self.snapshot().tokenizer

    @property
    def units(self) -> tuple[str, ...]:
        """Every responsible unit named in the live index."""
        return self.snapshot().units

    def resolve_docs(self, doc: str | list[str] | None, snapshot: Snapshot | None = None) -> list[str] | None:
        """Doc ids matching an explicit filter value (id, title part, alias or region); error if none."""
        if not doc:
            return None
        documents = (snapshot or self.snapshot()).documents
        wanted = [doc] if isinstance(doc, str) else list(doc)
        out = []
        for w in wanted:
            w_norm = normalize(w.strip())
            matches = [d for d, m in documents.items()
                       if w_norm in (d, normalize(m.title)) or w_norm in normalize(m.title) or w_norm in m.aliases or (m.region and w_norm in normalize(m.region))]
            if not matches:
                known = "、".join(documents)
                raise NotFoundError(f"no document matches '{w}'", what="document", value=w,
                                    hint=f"known documents: {known}", zh=f"没有与“{w}”对应的文档；现有：{known}")
            out += matches
        return sorted(set(out))

    def search(self, question: str, k: int = 5, *, doc: str | list[str] | None = None,
               department: str | None = None, mode: str = "hybrid", steer: bool = True,
               snapshot: Snapshot | None = None, routed: Route | None = None) -> SearchResult:
        """The top-k clauses for `question`, with its route, the clauses found by number, routing notes
        and per-stage timings, all from one index version (`snapshot`, or the live one taken once here).
        `routed`: the question's route if the caller already read it (else it is read here; `steer`
        False searches without one)."""
        t_start = time.perf_counter()
        q = check_question(question, self.max_question_chars)
        if mode not in MODES:
            raise PolicyQAError(f"unknown search mode '{mode}'; use one of {', '.join(MODES)}")
        snap = snapshot or self.snapshot()
        data = snap.data
        n = len(data.clauses)
        timings: dict[str, float] = {}
        notes: list[str] = []
        r = (routed or route(q, snap.documents, snap.units)) if steer else Route()
        allowed, where = self._allowed_rows(snap, doc, department, r, notes)
        if allowed is not None and len(allowed) == 0 or n == 0:
            return SearchResult(q, (), {"total": (time.perf_counter() - t_start) * 1000},
                                tuple(notes + ["no clause matches the filters"]), snap.version, r)

        dense_rank, lexical_rank = self._routes(snap, q, mode, where, timings)

        t0 = time.perf_counter()
        scores = self._fuse(dense_rank, lexical_rank)
        # The clauses a number names, the most relevant first (several documents may have a 第三条).
        exact = sorted(self._exact_rows(snap, r, allowed), key=lambda row: -scores.get(row, 0.0))
        if exact:
            notes.append("clause number: " + "、".join(data.clauses[i].id for i in exact))
            top = max(scores.values(), default=0.0)
            for j, row in enumerate(exact):
                scores[row] = top + 1.0 - j * 1e-3
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if steer and not doc and len(r.doc_ids) > 1 and len(r.names) > 1 and not exact:
            ranked = self._interleave(data, ranked)  # "阳泉和朔州…分别": each named document gets its turn
        ranked = ranked[:k]
        hits = tuple(Hit(data.clauses[row], score, rank) for rank, (row, score) in enumerate(ranked, start=1))
        timings["fuse"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return SearchResult(q, hits, timings, tuple(notes), snap.version, r,
                            tuple(data.clauses[row].id for row in exact))

    def _allowed_rows(self, snap: Snapshot, doc, department, r: Route,
                      notes: list[str]) -> tuple[np.ndarray | None, Where | None]:
        """The rows the filters allow (None: all) and the same filter as the engine's `Where`."""
        rows = None
        doc_ids = self.resolve_docs(doc, snap)
        if doc_ids is None and r.doc_ids:
            doc_ids = list(r.doc_ids)
            notes.append("restricted to documents named in the question: " + "、".join(doc_ids))
        if doc_ids is not None:
            rows = np.concatenate([snap.rows_by_doc.get(d, np.zeros(0, np.int64)) for d in doc_ids])
        units = None
        if department:
            units = resolve_unit(department, list(snap.units))
            if not units:
                raise NotFoundError(f"no unit named '{department}' in the index", what="unit", value=department,
                                    hint="run `policyqa departments` to list them",
                                    zh=f"没有名为“{department}”的责任单位")
            dep_rows = np.asarray([i for i, c in enumerate(snap.clauses) if set(units) & set(c.departments)], dtype=np.int64)
            rows = dep_rows if rows is None else np.intersect1d(rows, dep_rows)
            notes.append("department filter: " + "、".join(units))
        if rows is None:
            return None, None
        return rows, Where(tuple(doc_ids) if doc_ids is not None else None, tuple(units) if units else None)

    def _routes(self, snap: Snapshot, q: str, mode: str, where: Where | None,
                timings: dict[str, float]) -> tuple[list[tuple[int, float]] | None, list[tuple[int, float]] | None]:
        """Each route's candidates with its scores, best first (None: the mode does not use it). With
        `weights.union` each list also scores the other's candidates, so fusion sees both scores of all."""
        engine, depth = snap.data.engine, self.weights.depth
        dense = lexical = None
        if mode in ("hybrid", "dense"):
            t0 = time.perf_counter()
            qvec = np.asarray(self.embedder.embed_query(q), np.float32).reshape(-1)
            timings["embed"] = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            dense = engine.dense(qvec, depth, where)
            timings["dense"] = (time.perf_counter() - t0) * 1000
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            tokens = snap.tokenizer.tokens(q)
            lexical = engine.lexical(tokens, depth, where)
            timings["bm25"] = (time.perf_counter() - t0) * 1000
        if dense and lexical and self.weights.union:
            t0 = time.perf_counter()
            dense, lexical = complete(dense, lexical, lambda rows: engine.vectors(rows) @ qvec,
                                      lambda rows: engine.lexical_scores(tokens, rows))
            timings["union"] = (time.perf_counter() - t0) * 1000
        return dense, lexical

    def _fuse(self, dense, lexical) -> dict[int, float]:
        return fuse(dense, lexical, self.weights)

    @staticmethod
    def _interleave(data: IndexData, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        """Round-robin over documents, each in its own rank order, documents by their best score."""
        by_doc: dict[str, list[tuple[int, float]]] = {}
        for row, score in ranked:
            by_doc.setdefault(data.clauses[row].doc_id, []).append((row, score))
        queues = list(by_doc.values())
        out = []
        for depth in range(max(len(q) for q in queues)):
            out += [q[depth] for q in queues if depth < len(q)]
        return out

    @staticmethod
    def _exact_rows(snap: Snapshot, r: Route, allowed: np.ndarray | None) -> list[int]:
        if not r.clause_refs:
            return []
        allowed_set = set(allowed.tolist()) if allowed is not None else None
        labels = snap.derived("labels", lambda: tuple(canonical_label(c.id.split("#", 1)[1].split("~")[0])
                                                      for c in snap.clauses))
        rows = []
        for row, label in enumerate(labels):
            if any(label == ref or label.endswith("." + ref) for ref in r.clause_refs):
                if allowed_set is None or row in allowed_set:
                    rows.append(row)
        return rows[:10]
