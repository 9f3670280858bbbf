"""Lexical retrieval: jieba tokens (own Tokenizer with a user dictionary) scored by bm25s.

bm25s keeps BM25 weights in a sparse matrix, so scoring all clauses for one question is a sparse
row sum (milliseconds at 150k clauses), where rank_bm25 loops in Python. The user dictionary adds
the corpus's own words (index/vocabulary.py: unit names, aliases, defined and quoted terms) so "市科技局" or "科技型中小企业" stay one token.
Each clause is indexed with its document context (title, region, aliases, breadcrumb), because
questions name places and documents that the clause text never mentions.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np

from policyqa.text import normalize
from policyqa.vocab import words

_TOKEN = re.compile(r"[\w\u4e00-\u9fff%.]+")


class Tokenizer:
    """jieba search-mode tokens over normalised, lower-cased text, without stop words or punctuation."""

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self.user_words = sorted({w.strip() for w in user_words if w and len(w.strip()) >= 2})
        self._jieba = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._jieba is None:
                import jieba

                base = _base_dictionary()
                tk = jieba.Tokenizer()  # a copy of the loaded dictionary (20 ms), not a fresh load (1.5 s)
                tk.FREQ, tk.total, tk.initialized = dict(base.FREQ), base.total, True
                for word in self.user_words:
                    tk.add_word(normalize(word).lower(), freq=20000)
                self._jieba = tk
        return self._jieba

    def words(self, text: str) -> list[str]:
        """Plain jieba words of normalised, lower-cased `text`, punctuation and stop words kept (no
        overlapping sub-words): the segmentation a reader would make."""
        return self._load().lcut(normalize(text).lower())

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens of `text` (overlapping sub-words included, as BM25 likes)."""
        text = normalize(text).lower()
        out = []
        stop = _stop_words()
        for tok in self._load().lcut_for_search(text):
            tok = tok.strip()
            if tok and tok not in stop and _TOKEN.fullmatch(tok):
                out.append(tok)
        return out


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    return frozenset(words("stop_words"))


def dictionary_count(word: str) -> int:
    """`word`'s count in jieba's general dictionary (0 for a word it does not know)."""
    return int(_base_dictionary().FREQ.get(word, 0))


def general_frequency(word: str) -> float:
    """How often `word` occurs in the language at large: its share of jieba's general dictionary counts
    (0.0 for a word the dictionary does not know)."""
    base = _base_dictionary()
    return base.FREQ.get(word, 0) / base.total


_BASE = None
_BASE_LOCK = threading.Lock()


def _base_dictionary():
    """jieba's own dictionary, loaded once per process: every index version's Tokenizer (each build, each
    reload after an upload) copies it and adds its user words instead of loading it again."""
    global _BASE
    with _BASE_LOCK:
        if _BASE is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            base = jieba.Tokenizer()
            base.initialize()
            _BASE = base
        return _BASE


class LexicalIndex:
    """BM25 over pre-tokenised clauses; `scores` gives one score per clause row."""

    def __init__(self, bm25) -> None:
        self._bm25 = bm25
        self._vocab = bm25.vocab_dict

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> "LexicalIndex":
        """Index clause token lists (row i = clause i)."""
        import bm25s

        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([t or [""] for t in token_lists], show_progress=False)
        return cls(bm25)

    def save(self, folder: Path) -> None:
        """Write the sparse matrices and vocabulary (npy + json; never pickle)."""
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        """Read an index written by `save` (allow_pickle stays False)."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False, allow_pickle=False))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every clause for the tokens (unknown tokens ignored)."""
        known = [t for t in query_tokens if t in self._vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    @property
    def size(self) -> int:
        """Number of indexed clauses."""
        return int(self._bm25.scores["num_docs"])
