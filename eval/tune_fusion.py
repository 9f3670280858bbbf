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

from eval.harness import evaluate, load_questions
from index.embedder import make_embedder
from index.search import FusionWeights, Retriever
from policyqa.settings import Settings


class CachedEmbedder:
    """Wraps an embedder and remembers query vectors (passages are never embedded here)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self._cache = inner, inner.name, {}

    def embed_query(self, text):
        """The inner embedder's vector, computed once per text."""
        if text not in self._cache:
            self._cache[text] = self.inner.embed_query(text)
        return self._cache[text]


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
