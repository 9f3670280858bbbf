"""Hybrid clause search: dense (inner product) and BM25 from the version's engine, fused here.

Before ranking, the question is routed: a named document or place restricts both retrievers to that
document's clauses, a clause number is looked up exactly and ranked first, and a named department
is available to the answer chain. Fusion by rank (not raw score) because cosine and BM25 scores live on
unrelated scales; the method and weights were chosen on the dev set (see FusionWeights). Explicit `doc` / `department` filters restrict hard.
Both retrievers are calls to the engine (index/engine.py: FAISS + bm25s, NumPy, Milvus) with a `Where`
filter; the engine neither routes nor fuses.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.embedder import Embedder
from index.engine import EngineSpec, Where
from index.lexical import Tokenizer
from index.routing import canonical_label, route
from index.snapshot import Snapshot, SnapshotHolder
from index.store import IndexData
from ingest.departments import resolve_unit
from policyqa.text import normalize
from ingest.records import Hit, Route, SearchResult
from policyqa.errors import NotFoundError, PolicyQAError, QuestionError

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class FusionWeights:
    """How the two ranked lists combine.

    method "rrf": score = dense/(k0 + dense rank) + bm25/(k0 + bm25 rank).
    method "score": score = dense * cosine' + bm25 * bm25', where ' is min-max over the candidates.
    Chosen with `python -m eval.tune_fusion eval/questions.jsonl` (99 answerable dev questions, k=5):
    score fusion with bm25=3.0 gave MRR 0.960 / hit@5 0.990 (2.0–5.0 all within 0.001), better than
    the best rank fusion (0.953 / 0.980) and than dense-only (0.838 / 0.919).
    """

    method: str = "score"
    dense: float = 1.0
    bm25: float = 3.0
    k0: float = 10.0
    depth: int = 100  # candidates taken from each side


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

        dense_rank = lexical_rank = None
        if mode in ("hybrid", "dense"):
            t0 = time.perf_counter()
            qvec = self.embedder.embed_query(q)
            timings["embed"] = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            dense_rank = data.engine.dense(qvec, self.weights.depth, where)
            timings["dense"] = (time.perf_counter() - t0) * 1000
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            lexical_rank = data.engine.lexical(snap.tokenizer.tokens(q), self.weights.depth, where)
            timings["bm25"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        scores = self._fuse(dense_rank, lexical_rank)
        exact = self._exact_rows(snap, r, allowed)
        if exact:
            notes.append("clause number: " + "、".join(data.clauses[i].id for i in exact))
            top = max(scores.values(), default=0.0)
            for j, row in enumerate(exact):
                scores[row] = top + 1.0 - j * 1e-3
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if steer and not doc and len(r.doc_ids) > 1 and not exact:
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

    def _fuse(self, dense, lexical) -> dict[int, float]:
        w = self.weights
        lists = [(ranked, weight) for ranked, weight in ((dense, w.dense), (lexical, w.bm25)) if ranked is not None]
        if len(lists) == 1:
            lists = [(lists[0][0], 1.0)]
        scores: dict[int, float] = {}
        for ranked, weight in lists:
            if not ranked:
                continue
            if w.method == "rrf":
                for pos, (row, _) in enumerate(ranked, start=1):
                    scores[row] = scores.get(row, 0.0) + weight / (w.k0 + pos)
            else:
                values = [v for _, v in ranked]
                low, span = min(values), (max(values) - min(values)) or 1.0
                for row, v in ranked:
                    scores[row] = scores.get(row, 0.0) + weight * (v - low) / span
        return scores

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
