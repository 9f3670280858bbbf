"""Seed-corpus benchmark: index build throughput and warm search latency per retrieval mode.

Builds a fresh index of corpus/ in a temporary folder with the configured embedding model (clauses/s
for the whole build and for embedding alone), then runs every dev-set question through each search
mode after one warm-up pass and prints p50/p95 in milliseconds.
Run: `.venv/bin/python -m eval.bench_search [--questions eval/questions.jsonl] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from eval.harness import load_questions, percentile
from index.build import build_index
from index.embedder import make_embedder
from index.search import Retriever
from policyqa.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Print build throughput and latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", default="eval/questions.jsonl")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings()
    questions, _ = load_questions(Path(args.questions))
    embedder = make_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = build_index(settings.corpus_dir, Path(tmp) / "index", embedder)
        build_s = time.perf_counter() - t0
        print(f"build: {report.clauses} clauses in {build_s:.1f}s = {report.clauses / build_s:.1f} clauses/s "
              f"(embedding alone {report.embedded / report.embed_seconds:.1f} clauses/s; includes model load)")
        retriever = Retriever(Path(tmp) / "index", embedder).warm_up()
        print(f"{'mode':8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
        for mode in ("hybrid", "dense", "bm25"):
            for q in questions:  # warm-up pass
                retriever.search(q.question, k=5, mode=mode)
            times = []
            for _ in range(args.repeat):
                for q in questions:
                    t = time.perf_counter()
                    retriever.search(q.question, k=5, mode=mode)
                    times.append((time.perf_counter() - t) * 1000)
            print(f"{mode:8} {len(times):>5} {percentile(times, 50):>8.1f} {percentile(times, 95):>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
