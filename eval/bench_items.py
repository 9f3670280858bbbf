"""What reading support items costs at build time: clauses/s by the rules alone and with the model path.

    python -m eval.bench_items --corpus corpus --corpus tests/data/calculator/docs [--model llama]
                               [--laws ../shared/data/laws.tar.gz --laws-every 10] [--out eval/reports/items_cost.md]

Per corpus: clauses, items, seconds and clauses/s of the rules (ingest/item_extract.py), how many
provisions the model path would be asked about without a budget, and — with `--model` — the same run
with the model reviewer under settings.items_model_budget: calls, rejected items, seconds, clauses/s.
The laws collection (every `--laws-every`-th document, DLC/ left out as in eval/bench.py) shows the
budget at work: the rules read it at their own speed and the model is asked at most `budget` times.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def _corpus(path: Path):
    from ingest.corpus import load_corpus

    loaded = load_corpus(path)
    return loaded.clauses, {d.meta.doc_id: d.meta for d in loaded.documents}


def _laws(archive: Path, every: int):
    from eval.bench import load_laws

    tmp = Path(tempfile.mkdtemp(prefix="policyqa-items-laws-"))
    loaded, _ = load_laws(archive, tmp / "laws")
    keep = {d.meta.doc_id for d in loaded.documents[::every]}
    return [c for c in loaded.clauses if c.doc_id in keep], {d.meta.doc_id: d.meta for d in loaded.documents}


class _Counter:
    """A model reviewer that only counts the provisions it would be asked about (no model, no budget)."""

    name = "count"

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, text: str) -> str:
        self.calls += 1
        return "[]"


def measure(name: str, clauses, documents, model: str | None, settings) -> list[str]:
    """Table rows (Markdown) for one corpus: rules alone, and with the model if asked."""
    from ingest.item_extract import extract_items
    from ingest.item_model import ModelReviewer

    started = time.perf_counter()
    items = extract_items(clauses, documents)
    rules_s = time.perf_counter() - started
    counter = _Counter()
    extract_items(clauses, documents, ModelReviewer(counter, budget=10**9))
    rows = [f"| {name} | rules | {len(clauses)} | {len(items)} | {rules_s:.2f} | {len(clauses) / rules_s:.0f} | "
            f"{counter.calls} asked without a budget | — |"]
    if model:
        from index.item_store import ItemExtractor
        from qa.generators import LlamaGenerator
        from qa.item_model import GeneratorCompleter
        from qa.prompts import PromptLibrary

        def llama():
            return LlamaGenerator(settings.llm_path, n_ctx=settings.llm_ctx, n_threads=settings.llm_threads)
        completer = GeneratorCompleter(llama, PromptLibrary(settings.prompts_dir), model)
        extractor = ItemExtractor(ModelReviewer(completer, budget=settings.items_model_budget))
        started = time.perf_counter()
        found = extract_items(clauses, documents, extractor.reviewer)
        seconds = time.perf_counter() - started
        stats = extractor.stats()
        rows.append(f"| {name} | rules + {model} (budget {settings.items_model_budget}) | {len(clauses)} | {len(found)} | "
                    f"{seconds:.2f} | {len(clauses) / seconds:.1f} | {stats['model_calls']} calls, "
                    f"{stats['model_seconds']:.1f} s | {stats['model_rejected']} rejected |")
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print (and write) the table."""
    from policyqa.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m eval.bench_items", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", action="append", type=Path, default=[])
    parser.add_argument("--laws", type=Path, help="the laws archive (../shared/data/laws.tar.gz)")
    parser.add_argument("--laws-every", type=int, default=10, help="every n-th laws document")
    parser.add_argument("--model", choices=["llama"], help="also run with the local model path")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    settings = Settings()
    import jieba

    jieba.initialize()  # the build has it loaded already (BM25): not part of the cost
    rows = ["| corpus | extractor | clauses | items | seconds | clauses/s | model | model items |",
            "|---|---|---|---|---|---|---|---|"]
    for path in args.corpus:
        rows += measure(path.as_posix(), *_corpus(path), args.model, settings)
    if args.laws:
        rows += measure(f"laws (every {args.laws_every}th document)", *_laws(args.laws, args.laws_every),
                        args.model, settings)
    table = "\n".join(rows)
    print(table)
    if args.out:
        args.out.write_text(f"# Support-item extraction cost\n\n{time.strftime('%Y-%m-%d %H:%M')}, "
                            f"`python -m eval.bench_items {' '.join(sys.argv[1:] if argv is None else argv)}`\n\n{table}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
