"""Measure fusion methods on three corpora side by side: the seeds, the field cases and a laws slice.

Each corpus is indexed once into the evaluation cache (eval/corpus_cache.py) and reused on later runs;
query vectors are computed once per run, so each candidate costs only its searches. Per corpus and
candidate: hit@1, hit@k and MRR of hybrid search (and of the dense and BM25 routes alone).

- seeds: eval/questions.jsonl against the repository's corpus/ (the default embedding model).
- field: every case of ../shared/field, each against its own docs/, pooled (the default model).
- laws: eval/laws_questions.jsonl against a slice of the laws collection (eval/tune_passage.py's
  `laws_slice`: every document holding a gold phrase plus whole documents to N clauses), with the
  scale path `+onnx-int8`; the slice folder is kept in the cache too.

Run: `.venv/bin/python -m eval.tune_fusion [--laws 8000] [--out eval/reports/fusion.md]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from eval.cases import find_cases
from eval.corpus_cache import cached_index
from eval.harness import Question, evaluate, load_questions, summarize
from eval.run import standalone_of
from eval.tune_passage import CachedEmbedder, laws_slice
from index.embedder import make_embedder
from index.search import FusionWeights, Retriever
from policyqa.text import match_key
from policyqa.settings import ROOT, Settings

_PLAIN = FusionWeights(agreement=0, union=False, lexical_floor=None)
CHOSEN = FusionWeights()
CANDIDATES = {
    "min-max, BM25 weight 3 (before)": replace(_PLAIN, method="score", bm25=3.0),
    "min-max, equal weights": replace(_PLAIN, method="score"),
    "RRF, k0 60": replace(_PLAIN, method="rrf", k0=60.0),
    "RRF, k0 10": replace(_PLAIN, method="rrf", k0=10.0),
    "z-score": _PLAIN,
    "z-score, union scored": replace(_PLAIN, union=True),
    "z-score, union scored, agreement": replace(_PLAIN, union=True, agreement=5),
    "**z-score, union scored, agreement, lexical only promotes (default)**": CHOSEN,
}
SENSITIVITY = {  # the default with each of its counts moved: a rule that holds should not hinge on them
    "default, agreement over top 3": replace(CHOSEN, agreement=3),
    "default, agreement over top 10": replace(CHOSEN, agreement=10),
    "default, depth 50": replace(CHOSEN, depth=50),
    "default, depth 200": replace(CHOSEN, depth=200),
}


@dataclass
class Corpus:
    """One corpus of the table: its name and (questions, retriever) per part (the field has eight)."""

    name: str
    parts: list[tuple[list[Question], Retriever]]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def laws_corpus(size: int, cache: Path, embedder) -> Corpus:
    """The laws slice of `size` clauses, unpacked once into the cache, and its questions."""
    questions, _ = load_questions(ROOT / "eval" / "laws_questions.jsonl")
    root = cache / f"laws-slice-{size}"
    if not (root / "slice").is_dir():
        shutil.rmtree(root, ignore_errors=True)
        laws_slice(questions, size, root)
        shutil.rmtree(root / "laws")
    index = cached_index(root / "slice", cache / "eval-index", embedder, log=_log)
    retriever = Retriever(index, embedder)
    texts = [match_key(c.text) for c in retriever.snapshot().clauses]
    held = sum(all(any(match_key(g) in t for t in texts) for g in q.gold) for q in questions)
    _log(f"laws slice: {len(texts):,} clauses; the gold of {held} of {len(questions)} questions is in it")
    return Corpus("laws", [(questions, retriever)])


def load_corpora(args, settings: Settings, cache: Path) -> list[Corpus]:
    """seeds, field and laws with their retrievers (indexes built or reused)."""
    embedder = CachedEmbedder(make_embedder(settings.embedding_model))
    seeds = Retriever(cached_index(ROOT / "corpus", cache / "eval-index", embedder, log=_log), embedder)
    corpora = [Corpus("seeds", [(load_questions(ROOT / "eval" / "questions.jsonl")[0], seeds)])]
    field = [(load_questions(c.questions)[0], Retriever(cached_index(c.corpus, cache / "eval-index", embedder, log=_log), embedder))
             for c in find_cases(Path(args.field), None)]
    corpora.append(Corpus("field", field))
    if args.laws:
        corpora.append(laws_corpus(args.laws, cache, CachedEmbedder(make_embedder(args.laws_model))))
    return corpora


def measure(corpus: Corpus, weights: FusionWeights, mode: str, k: int) -> dict:
    """Pooled hit@1 / hit@k / MRR of one mode and fusion over every part of a corpus."""
    rows = []
    for questions, retriever in corpus.parts:
        retriever.weights = weights
        search = lambda q: retriever.search(q, k=k, mode=mode)  # noqa: E731
        rows += evaluate(questions, search, k, standalone=standalone_of(retriever)).rows
    return summarize(rows, k)


def table(corpora: list[Corpus], k: int) -> list[str]:
    """The Markdown table: one row per candidate (and the two routes alone), three columns per corpus."""
    head = " | ".join(f"{c.name} hit@1 | {c.name} hit@{k} | {c.name} MRR" for c in corpora)
    lines = [f"| fusion | {head} |", "|---|" + "---|" * 3 * len(corpora)]
    rows = [(name, w, "hybrid") for name, w in {**CANDIDATES, **SENSITIVITY}.items()]
    rows += [("dense only", CHOSEN, "dense"), ("BM25 only", CHOSEN, "bm25")]
    for name, weights, mode in rows:
        cells = []
        for corpus in corpora:
            s = measure(corpus, weights, mode, k)
            cells += [f"{s['hit@1']:.3f}", f"{s['hit@k']:.3f}", f"{s['mrr']:.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build or reuse the indexes, measure every candidate, print and write the table."""
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--field", default=str(ROOT.parent / "shared" / "field"), help="folder of field cases")
    parser.add_argument("--laws", type=int, default=8000, metavar="N", help="laws slice size in clauses (0: leave out)")
    parser.add_argument("--laws-model", default=str(ROOT / "var" / "models" / "multilingual-e5-small+onnx-int8"))
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("eval/reports/fusion.md"))
    args = parser.parse_args(argv)
    corpora = load_corpora(args, settings, settings.data_dir / "cache")
    sizes = ", ".join(f"{c.name} {sum(1 for q, _ in c.parts for x in q if x.answerable and x.gold)} scored questions "
                      f"({sum(len(r.snapshot().clauses) for _, r in c.parts):,} clauses)" for c in corpora)
    again = " ".join(["python -m eval.tune_fusion", *(sys.argv[1:] if argv is None else argv)])
    lines = ["# Fusion methods on three corpora\n",
             f"{time.strftime('%Y-%m-%d %H:%M')}; {sizes}; k={args.k}. Regenerate: "
             f"`.venv/bin/{again}`.\n", *table(corpora, args.k)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
