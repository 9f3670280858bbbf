"""The default engine: a flat FAISS inner-product index and a bm25s index, files in the version folder.

    dense.faiss   IndexFlatIP, storage position p holds row ids[p] (ids are 0..n-1 after a build)
    lexical/      bm25s sparse matrices and vocabulary (npy + json, never pickle)
    ids.npy       only after a delete or upsert moved rows away from 0..n-1

Flat search is exact, so it agrees with the NumPy reference up to float rounding; a filter becomes an
IDSelectorBatch over the allowed positions (FAISS then scans only those). BM25 is bm25s over the
stored tokens, re-indexed after rows change (BM25 statistics belong to the whole version).
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Sequence

import numpy as np

from index.engine import EngineSpec, Ranked, Where, top_k
from index.engine_local import LocalIndex
from index.lexical import LexicalIndex
from policyqa.errors import IndexFolderError


class FaissIndex(LocalIndex):
    """FAISS IndexFlatIP + bm25s (see the module docstring)."""

    name = "faiss"
    DENSE, LEXICAL = "dense.faiss", "lexical"

    def __init__(self, folder, ids, clauses, tokens, dense, lexical: LexicalIndex | None) -> None:
        super().__init__(folder, ids, clauses, tokens)
        self.index = dense
        self._bm25 = lexical

    @classmethod
    def create(cls, folder: Path, spec: EngineSpec, dimension: int) -> "FaissIndex":
        """An empty flat index whose files go into `folder`."""
        import faiss

        return cls(folder, np.zeros(0, np.int64), [], [], faiss.IndexFlatIP(dimension), None)

    @classmethod
    def open(cls, folder, info, spec, clauses, tokens) -> "FaissIndex":
        """Read dense.faiss and lexical/ back; IndexFolderError if they are unreadable or disagree."""
        import faiss

        try:
            dense = faiss.read_index(str(folder / cls.DENSE))
            lexical = LexicalIndex.load(folder / cls.LEXICAL)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise IndexFolderError(f"cannot load the FAISS/BM25 files of {folder}: {exc}") from exc
        ids = cls._stored_ids(folder, dense.ntotal)
        if lexical.size != dense.ntotal:
            raise IndexFolderError(f"{folder}: {dense.ntotal} vectors but {lexical.size} BM25 rows")
        return cls(folder, ids, [clauses[i] for i in ids], [tokens[i] for i in ids], dense, lexical)

    def _append(self, vectors: np.ndarray) -> None:
        if len(vectors):
            self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def _remove(self, positions: np.ndarray) -> None:
        self.index.remove_ids(np.asarray(positions, dtype=np.int64))  # a flat index closes the gap

    def _vectors_at(self, positions: np.ndarray) -> np.ndarray:
        if not len(positions):
            return np.zeros((0, self.index.d), np.float32)
        return np.asarray(self.index.reconstruct_batch(np.asarray(positions, dtype=np.int64)), dtype=np.float32)

    def _changed(self) -> None:
        super()._changed()
        self._bm25 = None

    def _lexical_index(self) -> LexicalIndex:
        if self._bm25 is None:
            self._bm25 = LexicalIndex.build(self.tokens)
        return self._bm25

    def dense(self, query: np.ndarray, k: int, where: Where | None = None) -> Ranked:
        """Flat inner product, scanning only the allowed positions when filtered."""
        import faiss

        n, params = self.index.ntotal, None
        if where is not None and (where.doc_ids is not None or where.units is not None):
            allowed = self.positions(where)
            n = len(allowed)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        if min(k, n) <= 0:
            return []
        sims, pos = self.index.search(np.asarray(query, np.float32).reshape(1, -1), min(k, n), params=params)
        return [(int(self.ids[p]), float(s)) for p, s in zip(pos[0], sims[0]) if p >= 0]

    def lexical(self, tokens: Sequence[str], k: int, where: Where | None = None) -> Ranked:
        """bm25s scores of every row, the best k of the allowed ones."""
        if not self.ids.size:
            return []
        return top_k(self._lexical_index().scores(list(tokens)), self.positions(where), self.ids, k, positive=True)

    def save(self) -> dict:
        """Write dense.faiss and lexical/ (and ids.npy when rows are not 0..n-1)."""
        import faiss

        path = self.folder / self.DENSE
        try:
            faiss.write_index(self.index, str(path))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. ENOSPC) as RuntimeError
            raise OSError(errno.EIO, f"FAISS could not write {path} ({str(exc)[-80:]})") from exc
        self._lexical_index().save(self.folder / self.LEXICAL)
        self._save_ids()
        return {"name": self.name}
