"""`policyqa eval`: score retrieval (and answers) on a question file, a case folder or a folder of cases.

Each case's questions are asked of its own corpus when it has one (`--corpus DIR`, or a case's
`docs/`): the corpus is indexed once into a cache keyed by its content (eval/corpus_cache.py, under
the data folder's `cache/eval-index/`), so a second run starts at once. A follow-up question
(`history`) is searched and answered the way POST /api/ask does with `history`.

The comparison (`--compare`) runs every method over the same questions in one process: hybrid,
dense-only, BM25-only on our clause index, and the default LangChain pipeline
(RecursiveCharacterTextSplitter 500/50 + FAISS.from_documents) with the same embedding model.
"""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from dataclasses import asdict
from pathlib import Path

from eval.answers import answer_summary, answers_markdown, evaluate_answers
from eval.cases import Case, find_cases, suite_markdown, suite_summary
from eval.corpus_cache import cached_index
from eval.harness import EvalRun, Question, evaluate, load_questions, to_json
from eval.report import compare_markdown, to_markdown
from policyqa.errors import PolicyQAError


def _meta(retriever, settings, mode: str) -> dict:
    return {"mode": mode, "embedding_model": retriever.embedder.name, "index": str(retriever.index_dir),
            "fusion": asdict(retriever.weights)}


def standalone_of(retriever):
    """The text a question is searched with: a follow-up rewritten with its history, as the chain does."""
    from qa.followup import rewrite

    def standalone(q: Question) -> str:
        if not q.history:
            return q.question
        snap = retriever.snapshot()
        return rewrite(q.question.strip(), list(q.history), snap.documents, snap.units)
    return standalone


def run_retrieval(questions, retriever, k: int, mode: str, settings, problems) -> EvalRun:
    """One retrieval run over the questions with the given search mode."""
    return evaluate(questions, lambda q: retriever.search(q, k=k, mode=mode), k, _meta(retriever, settings, mode),
                    problems, standalone=standalone_of(retriever))


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


class _Retrievers:
    """One retriever per case, all sharing the first one's embedding model (loaded once)."""

    def __init__(self, args, settings, make_retriever) -> None:
        self.args, self.settings, self.make_retriever = args, settings, make_retriever
        self.first = None

    def __call__(self, case: Case):
        from index.search import Retriever

        if self.first is None:
            self.first = self.make_retriever(self.args, self.settings)
        if case.corpus is None:
            return self.first
        cache = self.settings.data_dir / "cache" / "eval-index"
        log = lambda line: print(line, file=sys.stderr)  # noqa: E731
        folder = cached_index(case.corpus, cache, self.first.embedder, limit=self.settings.max_clause_chars,
                              max_bytes=int(self.settings.max_file_mb * 1024 * 1024), engine=self.first.engine, log=log)
        return Retriever(folder, self.first.embedder, weights=self.first.weights,
                         max_question_chars=self.first.max_question_chars, engine=self.first.engine)


def run_case(case: Case, loaded, args, settings, retriever, make_answerer) -> tuple[dict, str]:
    """Evaluate one case whose question file gave `loaded` (questions, problems): (JSON, Markdown) reports."""
    questions, problems = loaded
    retriever.warm_up()
    run = run_retrieval(questions, retriever, args.k, "hybrid", settings, problems)
    report = to_json(run)
    report["summary"]["questions_file"] = str(case.questions)
    report["summary"]["corpus"] = str(case.corpus) if case.corpus else None
    markdown = to_markdown(run, f"Evaluation of {case.name}")
    if not args.retrieval_only:
        answerer = make_answerer(args, settings, retriever)
        ask = lambda q: answerer.ask(q.question, history=list(q.history), generator=args.generator)  # noqa: E731
        rows = evaluate_answers(questions, ask)
        summary = answer_summary(rows)
        summary["generator"] = args.generator or settings.generator
        report["summary"].update(summary)
        report["answers"] = [r.to_json() for r in rows]
        markdown += "\n" + answers_markdown(summary, rows)
    return report, markdown


def run_compare(case: Case, loaded, args, settings, retriever, out: Path | None) -> int:
    """hybrid / dense / BM25 / LangChain on one case's questions, one table."""
    questions, problems = loaded
    retriever.warm_up()
    runs = {m: run_retrieval(questions, retriever, args.k, m, settings, problems) for m in ("hybrid", "dense", "bm25")}
    runs["langchain-default"] = run_baseline(questions, retriever, case.corpus or settings.corpus_dir, args.k, problems)
    table = compare_markdown(runs)
    if out:
        (out / "compare.md").write_text(table, encoding="utf-8")
        (out / "compare.json").write_text(json.dumps({m: to_json(r) for m, r in runs.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps({m: to_json(r)["summary"] for m, r in runs.items()}, ensure_ascii=False) if args.json else table)
    return 0


def run_eval(args, settings, make_retriever, make_answerer) -> int:
    """Entry point used by the CLI; prints JSON or a Markdown summary; writes reports with --out."""
    cases = find_cases(Path(args.questions), Path(args.corpus) if args.corpus else None)
    loaded = {case.name: load_questions(case.questions) for case in cases}  # bad files stop the run before any index work
    for _, problems in loaded.values():
        for p in problems:
            print(f"Warning: {p}", file=sys.stderr)
    retrievers = _Retrievers(args, settings, make_retriever)
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    if args.compare:
        if len(cases) > 1:
            raise PolicyQAError(f"--compare runs on one question file; {args.questions} holds {len(cases)} cases",
                                value=args.questions, hint="pass one case folder or question file")
        return run_compare(cases[0], loaded[cases[0].name], args, settings, retrievers(cases[0]), out)
    reports, markdowns = {}, {}
    for case in cases:
        if len(cases) > 1:
            print(f"case {case.name} …", file=sys.stderr)
        reports[case.name], markdowns[case.name] = run_case(case, loaded[case.name], args, settings, retrievers(case),
                                                            make_answerer)
    if len(cases) == 1:
        report, markdown = reports[cases[0].name], markdowns[cases[0].name]
    else:
        summary = suite_summary(reports)
        report = {"summary": summary, "cases": reports}
        markdown = suite_markdown(summary, args.k) + "".join("\n" + m for m in markdowns.values())
    if out:
        (out / "report.md").write_text(markdown, encoding="utf-8")
        (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False) if args.json else markdown)
    return 0


def case_args(**overrides) -> Namespace:
    """The arguments `run_eval` reads, with the CLI's defaults (for tests and scripts)."""
    defaults = dict(questions="", corpus=None, index=None, k=5, compare=False, retrieval_only=False,
                    generator=None, out=None, json=False)
    return Namespace(**{**defaults, **overrides})
