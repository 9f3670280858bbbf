"""Sweep the fusion weights on a question file and print MRR / hit@k per setting, best first.

Query vectors are computed once and cached, so each setting costs only the search itself.
Run: `.venv/bin/python -m eval.tune_fusion eval/questions.jsonl [--index DIR] [--k 5]`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.harness import evaluate, load_questions
from index.embedder import make_embedder
from index.search import FusionWeights, Retriever
from policyqa.settings import Settings


class CachedEmbedder:
    """Wraps an embedder; embeds each distinct query and passage once (eval/tune_passage.py builds
    several indexes of one corpus) and counts the characters of the passages asked for."""

    def __init__(self, inner) -> None:
        self.inner, self.name = inner, inner.name
        self.passages: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        self.chars = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_passages(self, texts, progress=None):
        """Vectors for `texts`, embedding only the ones not seen before."""
        distinct = list(dict.fromkeys(texts))
        new = [t for t in distinct if t not in self.passages]
        if new:
            self.passages.update(zip(new, self.inner.embed_passages(new)))
        self.chars += sum(len(t) for t in distinct)
        if progress:
            progress(len(texts))
        return np.stack([self.passages[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def embed_query(self, text):
        """The inner embedder's vector, computed once per text."""
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]


def main(argv: list[str] | None = None) -> int:
    """Run the grid and print one line per setting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions")
    parser.add_argument("--index")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    settings = Settings()
    questions, _ = load_questions(Path(args.questions))
    embedder = CachedEmbedder(make_embedder(settings.embedding_model))
    retriever = Retriever(Path(args.index) if args.index else settings.index_dir, embedder)
    rows = []
    grid = [("rrf", b, k0) for b, k0 in itertools.product([0.5, 1.0, 2.0, 3.0], [5.0, 10.0, 60.0])]
    grid += [("score", b, 0.0) for b in [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0]]
    for method, bm25, k0 in grid:
        retriever.weights = replace(FusionWeights(), method=method, bm25=bm25, k0=k0)
        s = evaluate(questions, lambda q: retriever.search(q, k=args.k), args.k).summary
        rows.append((s["mrr"], s["hit@k"], s["hit@1"], method, bm25, k0))
    print("mrr     hit@k   hit@1   method bm25  k0")
    for mrr, hk, h1, method, bm25, k0 in sorted(rows, reverse=True):
        print(f"{mrr:.4f}  {hk:.4f}  {h1:.4f}  {method:<6} {bm25:<5} {k0}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
