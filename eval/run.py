"""`policyqa eval`: score retrieval (and answers) on a question file; `--compare` runs the baselines.

The comparison runs every method over the same questions in one process: hybrid, dense-only,
BM25-only on our clause index, and the default LangChain pipeline (RecursiveCharacterTextSplitter
500/50 + FAISS.from_documents) with the same embedding model.
"""

from __future__ import annotations

import json
from dataclasses import asdict
import sys
from pathlib import Path

from eval.answers import answer_summary, answers_markdown, evaluate_answers
from eval.harness import EvalRun, evaluate, load_questions, to_json
from eval.report import compare_markdown, to_markdown
from policyqa.errors import PolicyQAError


def _meta(retriever, settings, mode: str) -> dict:
    return {"mode": mode, "embedding_model": retriever.embedder.name, "index": str(retriever.index_dir),
            "fusion": asdict(retriever.weights)}


def run_retrieval(questions, retriever, k: int, mode: str, settings, problems) -> EvalRun:
    """One retrieval run over the questions with the given search mode."""
    return evaluate(questions, lambda q: retriever.search(q, k=k, mode=mode), k, _meta(retriever, settings, mode), problems)


def run_baseline(questions, retriever, corpus_dir: Path, k: int, problems) -> EvalRun:
    """The default LangChain pipeline over the same documents, same embedding model."""
    from eval.baseline import LangChainBaseline
    from ingest.corpus import load_corpus

    texts = {d.meta.doc_id: d.text for d in load_corpus(corpus_dir).documents}
    if not texts:
        raise PolicyQAError(f"no documents in {corpus_dir} for the LangChain baseline; pass --corpus DIR")
    baseline = LangChainBaseline(texts, getattr(retriever.embedder, "path", retriever.embedder.name), k=k)
    baseline.warm_up()
    return evaluate(questions, baseline.search, k, {"mode": "langchain-default", "chunks": "500/50"}, problems)


def run_eval(args, settings, make_retriever, make_answerer) -> int:
    """Entry point used by the CLI; prints JSON or a Markdown summary; writes reports with --out."""
    questions, problems = load_questions(Path(args.questions))
    for p in problems:
        print(f"Warning: {p}", file=sys.stderr)
    retriever = make_retriever(args, settings)
    retriever.warm_up()
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        runs = {m: run_retrieval(questions, retriever, args.k, m, settings, problems) for m in ("hybrid", "dense", "bm25")}
        runs["langchain-default"] = run_baseline(questions, retriever, Path(args.corpus) if args.corpus else settings.corpus_dir, args.k, problems)
        table = compare_markdown(runs)
        if out:
            (out / "compare.md").write_text(table, encoding="utf-8")
            (out / "compare.json").write_text(json.dumps({m: to_json(r) for m, r in runs.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
        if args.json:
            print(json.dumps({m: to_json(r)["summary"] for m, r in runs.items()}, ensure_ascii=False))
        else:
            print(table)
        return 0
    run = run_retrieval(questions, retriever, args.k, "hybrid", settings, problems)
    report = to_json(run)
    markdown = to_markdown(run, f"Evaluation of {Path(args.questions).name}")
    if not args.retrieval_only:
        answerer = make_answerer(args, settings, retriever)
        rows = evaluate_answers(questions, lambda q: answerer.ask(q, generator=args.generator))
        summary = answer_summary(rows)
        summary["generator"] = args.generator or settings.generator
        report["summary"].update(summary)
        report["answers"] = [r.to_json() for r in rows]
        markdown += "\n" + answers_markdown(summary, rows)
    if out:
        (out / "report.md").write_text(markdown, encoding="utf-8")
        (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(markdown)
    return 0
