"""Engines that keep a version in this process's memory and in files of its folder, and the exact one.

`LocalIndex` holds what every in-process engine needs, written once: the row ids in storage order,
each row's document and units by role (for `Where` filters), its tokens, deleting and upserting by
document, and the optional `ids.npy` (only when rows are not simply 0..n-1, i.e. after a delete or an
upsert: a normal build writes the same files as before engines existed). Subclasses store vectors
and score.

`NumpyIndex` is the reference: vectors in one float32 matrix (`vectors.npy`, no pickle), dense search
by exact matrix product, and BM25 computed exactly from the tokens on every query (Lucene idf
log(1 + (N - df + 0.5) / (df + 0.5)), k1 1.2, b 0.75, statistics over all stored rows whatever the
filter). It is slow past ~100k rows and meant for tests and checking the others.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from index.engine import EngineIndex, EngineSpec, Ranked, Rows, Where, top_k, unit_roles
from ingest.records import Clause
from policyqa.errors import IndexFolderError

K1, B = 1.2, 0.75
IDS_FILE = "ids.npy"


class LocalIndex(EngineIndex):
    """Row bookkeeping shared by the in-process engines; subclasses store vectors and score."""

    def __init__(self, folder: Path, ids: np.ndarray, clauses: Sequence[Clause], tokens: Sequence[Sequence[str]]) -> None:
        self.folder = folder
        self.ids = np.asarray(ids, dtype=np.int64)
        self.doc_ids = [c.doc_id for c in clauses]
        self.roles = [unit_roles(c) for c in clauses]
        self.tokens = [list(t) for t in tokens]
        self._lookup: dict | None = None  # (doc -> positions, (role, unit) -> positions, row -> position)

    # storage order: hooks for subclasses
    def _append(self, vectors: np.ndarray) -> None:
        raise NotImplementedError

    def _remove(self, positions: np.ndarray) -> None:
        raise NotImplementedError

    def _vectors_at(self, positions: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _changed(self) -> None:
        """Rows were added or removed: drop what was derived from them."""
        self._lookup = None

    @classmethod
    def _stored_ids(cls, folder: Path, n: int) -> np.ndarray:
        path = folder / IDS_FILE
        ids = np.load(path, allow_pickle=False) if path.is_file() else np.arange(n, dtype=np.int64)
        if len(ids) != n:
            raise IndexFolderError(f"{path} lists {len(ids)} rows but the engine stores {n}")
        return ids

    def _save_ids(self) -> None:
        path = self.folder / IDS_FILE
        if np.array_equal(self.ids, np.arange(len(self.ids))):
            path.unlink(missing_ok=True)
        else:
            np.save(path, self.ids, allow_pickle=False)

    def _maps(self) -> dict:
        if self._lookup is None:
            docs: dict[str, list[int]] = {}
            units: dict[tuple[str, str], list[int]] = {}
            for pos, (doc, roles) in enumerate(zip(self.doc_ids, self.roles)):
                docs.setdefault(doc, []).append(pos)
                for role, names in roles.items():
                    for unit in names:
                        units.setdefault((role, unit), []).append(pos)
            self._lookup = {"docs": docs, "units": units, "rows": {int(r): p for p, r in enumerate(self.ids)}}
        return self._lookup

    def positions(self, where: Where | None) -> np.ndarray:
        """Storage positions a filter allows (all of them for None)."""
        if where is None or (where.doc_ids is None and where.units is None):
            return np.arange(len(self.ids))
        maps = self._maps()
        chosen = None
        if where.doc_ids is not None:
            chosen = {p for d in where.doc_ids for p in maps["docs"].get(d, ())}
        if where.units is not None:
            by_unit = {p for u in where.units for p in maps["units"].get((where.role, u), ())}
            chosen = by_unit if chosen is None else chosen & by_unit
        return np.asarray(sorted(chosen), dtype=np.int64)

    def upsert(self, rows: Rows) -> None:
        """Add rows, replacing stored rows with the same ids."""
        rows_map = self._maps()["rows"]
        stale = np.asarray(sorted(rows_map[int(r)] for r in rows.ids if int(r) in rows_map), dtype=np.int64)
        if len(stale):
            self._drop_positions(stale)
        self._append(np.asarray(rows.vectors, dtype=np.float32))
        self.ids = np.concatenate([self.ids, np.asarray(rows.ids, dtype=np.int64)])
        self.doc_ids += [c.doc_id for c in rows.clauses]
        self.roles += [unit_roles(c) for c in rows.clauses]
        self.tokens += [list(t) for t in rows.tokens]
        self._changed()

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove every row of these documents."""
        wanted = set(doc_ids)
        gone = np.asarray([p for p, d in enumerate(self.doc_ids) if d in wanted], dtype=np.int64)
        if len(gone):
            self._drop_positions(gone)
        return len(gone)

    def _drop_positions(self, positions: np.ndarray) -> None:
        self._remove(positions)
        keep = np.ones(len(self.ids), dtype=bool)
        keep[positions] = False
        self.ids = self.ids[keep]
        self.doc_ids = [d for d, k in zip(self.doc_ids, keep) if k]
        self.roles = [r for r, k in zip(self.roles, keep) if k]
        self.tokens = [t for t, k in zip(self.tokens, keep) if k]
        self._changed()

    def count(self) -> int:
        """Rows stored."""
        return len(self.ids)

    def vectors(self, rows: Sequence[int]) -> np.ndarray:
        """Stored vectors of `rows` (KeyError for a row not stored)."""
        rows_map = self._maps()["rows"]
        return self._vectors_at(np.asarray([rows_map[int(r)] for r in rows], dtype=np.int64))


class ExactBM25:
    """BM25 scores of every stored row for query tokens, computed from the token lists (the reference)."""

    def __init__(self, token_lists: Sequence[Sequence[str]]) -> None:
        self.postings: dict[str, tuple[list[int], list[int]]] = {}
        for pos, tokens in enumerate(token_lists):
            for term, tf in Counter(tokens).items():
                entry = self.postings.setdefault(term, ([], []))
                entry[0].append(pos)
                entry[1].append(tf)
        self.n = len(token_lists)
        self.lengths = np.asarray([len(t) for t in token_lists], dtype=np.float64)
        self.avgdl = float(self.lengths.mean()) if self.n else 1.0

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """One score per stored row; a token repeated in the query counts as often (as bm25s does)."""
        out = np.zeros(self.n, dtype=np.float64)
        norm = K1 * (1 - B + B * self.lengths / (self.avgdl or 1.0))
        for term, times in Counter(query).items():
            if term not in self.postings:
                continue
            pos, tf = (np.asarray(a) for a in self.postings[term])
            idf = math.log(1 + (self.n - len(pos) + 0.5) / (len(pos) + 0.5))
            out[pos] += times * idf * tf * (K1 + 1) / (tf + norm[pos])
        return out


class NumpyIndex(LocalIndex):
    """The exact reference engine: a float32 matrix and BM25 from the tokens."""

    name = "numpy"
    FILE = "vectors.npy"

    def __init__(self, folder, ids, clauses, tokens, matrix: np.ndarray) -> None:
        super().__init__(folder, ids, clauses, tokens)
        self.matrix = np.asarray(matrix, dtype=np.float32)
        self._bm25: ExactBM25 | None = None

    @classmethod
    def create(cls, folder: Path, spec: EngineSpec, dimension: int) -> "NumpyIndex":
        """An empty index whose file goes into `folder`."""
        return cls(folder, np.zeros(0, np.int64), [], [], np.zeros((0, dimension), np.float32))

    @classmethod
    def open(cls, folder, info, spec, clauses, tokens) -> "NumpyIndex":
        """Read vectors.npy (and ids.npy) back."""
        try:
            matrix = np.load(folder / cls.FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFolderError(f"cannot read {folder / cls.FILE}: {exc}") from exc
        ids = cls._stored_ids(folder, len(matrix))
        return cls(folder, ids, [clauses[i] for i in ids], [tokens[i] for i in ids], matrix)

    def _append(self, vectors: np.ndarray) -> None:
        self.matrix = np.vstack([self.matrix, vectors.reshape(len(vectors), self.matrix.shape[1])])

    def _remove(self, positions: np.ndarray) -> None:
        self.matrix = np.delete(self.matrix, positions, axis=0)

    def _vectors_at(self, positions: np.ndarray) -> np.ndarray:
        return self.matrix[positions]

    def _changed(self) -> None:
        super()._changed()
        self._bm25 = None

    def dense(self, query: np.ndarray, k: int, where: Where | None = None) -> Ranked:
        """Exact inner product over the allowed rows."""
        return top_k(self.matrix @ np.asarray(query, np.float32).reshape(-1), self.positions(where), self.ids, k)

    def lexical(self, tokens: Sequence[str], k: int, where: Where | None = None) -> Ranked:
        """Exact BM25 over the allowed rows."""
        if self._bm25 is None:
            self._bm25 = ExactBM25(self.tokens)
        return top_k(self._bm25.scores(tokens), self.positions(where), self.ids, k, positive=True)

    def save(self) -> dict:
        """Write vectors.npy (and ids.npy when rows are not 0..n-1)."""
        np.save(self.folder / self.FILE, self.matrix, allow_pickle=False)
        self._save_ids()
        return {"name": self.name}
