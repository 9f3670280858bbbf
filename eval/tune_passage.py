"""Compare ways of making clause vectors on a question file: hybrid and dense MRR / hit@k per setting.

Each setting builds a fresh index of the corpus in a temporary folder with `build_index(...,
context_weight=W)`: "joint" embeds one "context\\nclause" text per clause (the scheme before), a number
W embeds clause and context apart and sums them with the context weighted W (0: the clause alone).
Passage and query vectors are cached across settings, so each distinct text is embedded once.
Writes the table to `--out` (default eval/reports/passage.md) with the number of characters each
setting embedded.

`--laws N` uses a slice of the laws collection (../shared/data/laws.tar.gz, outside DLC/) as the
corpus: every document holding a gold phrase, plus whole documents in eval/bench.py's fixed order
until N clauses.

Run: `.venv/bin/python -m eval.tune_passage eval/questions.jsonl [--corpus DIR] [--weights joint,0,0.5,0.7,1]`
or `... eval/laws_questions.jsonl --laws 8000 --out eval/reports/passage_laws.md`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.harness import evaluate, load_questions
from index.build import build_index
from index.embedder import make_embedder
from index.search import Retriever
from policyqa.settings import Settings


class CachedEmbedder:
    """Wraps an embedder; embeds each distinct query and passage once (this module builds
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


def laws_slice(questions, size: int, into: Path) -> Path:
    """The laws documents that hold a gold phrase, plus documents in the benchmark's order to `size` clauses."""
    from eval.bench import load_laws, select, sized_corpus
    from eval.bench_parse import DEFAULT_ARCHIVE

    loaded, documents = load_laws(DEFAULT_ARCHIVE, into / "laws")
    source = {d.meta.doc_id: Path(d.meta.source) for d in loaded.documents}
    gold = {source[c.doc_id] for c in loaded.clauses if any(p in c.text for q in questions for p in q.gold)}
    return sized_corpus(into / "laws", sorted(set(select(documents, size)) | gold), into / "slice")


def main(argv: list[str] | None = None) -> int:
    """Build one index per setting, evaluate hybrid and dense retrieval, print and write the table."""
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions")
    parser.add_argument("--corpus", default=str(settings.corpus_dir))
    parser.add_argument("--laws", type=int, metavar="N", help="corpus: a slice of the laws collection (see above)")
    parser.add_argument("--model", default=settings.embedding_model)
    parser.add_argument("--weights", default="joint,0,0.5,0.7,0.85,1")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("eval/reports/passage.md"))
    args = parser.parse_args(argv)
    questions, problems = load_questions(Path(args.questions))
    if not questions:
        print(f"Error: no usable questions in {args.questions}", file=sys.stderr)
        return 1
    embedder = CachedEmbedder(make_embedder(args.model))
    tmp_dir = tempfile.TemporaryDirectory()
    corpus = laws_slice(questions, args.laws, Path(tmp_dir.name)) if args.laws else Path(args.corpus)
    where = f"a laws slice of {args.laws:,}+ clauses" if args.laws else f"`{args.corpus}`"
    again = " ".join(sys.argv[1:] if argv is None else argv)
    lines = ["# Clause vectors: joint text vs clause + weighted context\n",
             f"{time.strftime('%Y-%m-%d %H:%M')}; questions `{args.questions}` ({len(questions)}), corpus {where}, "
             f"model `{Path(args.model).name}`. Regenerate: `.venv/bin/python -m eval.tune_passage {again}`.\n",
             f"| setting | clauses | chars embedded | hybrid hit@1 | hybrid hit@{args.k} | hybrid MRR | dense hit@1 | dense hit@{args.k} | dense MRR |",
             "|---|---|---|---|---|---|---|---|---|"]
    with tmp_dir, tempfile.TemporaryDirectory() as tmp:
        for n, setting in enumerate(args.weights.split(",")):
            weight = None if setting == "joint" else float(setting)
            embedder.chars = 0
            report = build_index(corpus, Path(tmp) / str(n), embedder, context_weight=weight)
            retriever = Retriever(Path(tmp) / str(n), embedder)
            cells = [setting if weight is not None else "joint text", f"{report.clauses:,}", f"{embedder.chars:,}"]
            for mode in ("hybrid", "dense"):
                run = evaluate(questions, lambda q: retriever.search(q, k=args.k, mode=mode), args.k, {}, problems)
                s = run.summary
                cells += [f"{s['hit@1']:.3f}", f"{s['hit@k']:.3f}", f"{s['mrr']:.3f}"]
            lines.append("| " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
