"""The `policyqa` command: a thin layer that parses arguments, calls the library, prints results.

Errors from the library print as one `Error: …` line with exit code 1; nothing heavy is imported
until a subcommand needs it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from faces.cli_calc import add_parsers as add_calculator_parsers
from faces.cli_calc import items_line
from faces.errors import cli_line
from policyqa.errors import PolicyQAError


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_clauses(args: argparse.Namespace, settings) -> int:
    """Split one file and print its clauses, then the page furniture removed from it (with its span).

    With --json: one JSON line per clause (with its `kind`), then one line per removed piece,
    {"furniture": kind, "text": …, "span": [start, end]}, so nothing dropped goes unseen.
    """
    from ingest.corpus import load_document, read_metadata
    from ingest.splitter import layout_of, split_document

    path = Path(args.file)
    meta = read_metadata(path.parent).get(path.name) if path.parent.is_dir() else None
    doc = load_document(path, path.name, meta, max_bytes=int(settings.max_file_mb * 1024 * 1024))
    clauses = split_document(doc, limit=settings.max_clause_chars)
    removed = layout_of(doc).removed
    for c in clauses:
        if args.json:
            _print_json(c.to_json())
        else:
            lead = f"  [牵头: {'、'.join(c.lead)}]" if c.lead else ""
            print(f"{c.id}\t{c.kind}\t{c.path_text}\t{len(c.text)}字{lead}")
    for f in removed:
        if args.json:
            _print_json(f.to_json())
        else:
            print(f"removed {f.kind} {f.span[0]}-{f.span[1]}: {f.text[:60]}")
    if not args.json:
        print(f"{len(clauses)} clauses from {path.name} ({doc.meta.title}); "
              f"{len(removed)} piece(s) of page furniture removed", file=sys.stderr)
    return 0


def _corpus_clauses(args: argparse.Namespace, settings):
    from ingest.corpus import load_corpus, warn_skipped

    root = Path(args.corpus) if args.corpus else _seeded_corpus(settings)
    loaded = load_corpus(root, max_bytes=int(settings.max_file_mb * 1024 * 1024), limit=settings.max_clause_chars)
    warn_skipped(loaded.skipped)
    return loaded.documents, loaded.clauses


def cmd_departments(args: argparse.Namespace, settings) -> int:
    """List units with counts, or every provision one unit leads, cooperates on or shares, by document:
    of the index (`--index`, default settings.index_dir), or of a folder parsed on the spot (`--corpus`)."""
    from ingest.departments import unit_counts
    from qa.views import ROLE_ZH, department_view

    if args.corpus:
        documents, clauses = _corpus_clauses(args, settings)
        titles = {d.meta.doc_id: d.meta.title for d in documents}
        source = args.corpus
    else:
        from faces.cli_calc import _calculator

        snap = _calculator(args, settings).retriever.snapshot()
        clauses, titles = list(snap.clauses), {k: m.title for k, m in snap.documents.items()}
        source = str(_index_dir(args, settings))
    if not args.name:
        counts = unit_counts(clauses)
        if args.json:
            _print_json([r.to_json() for r in counts])
        else:
            for r in counts:
                print(f"{r.name}\t牵头 {r.lead}\t配合 {r.cooperating}\t合计 {r.total}")
            if not counts:
                print(f"no responsibility tags (牵头/配合/负责 units) in the {len(titles)} document(s) of {source}",
                      file=sys.stderr)
        return 0
    view = department_view(clauses, titles, args.name)
    if args.json:
        _print_json(view.to_json())
        return 0
    print(f"{view.name}: {view.total} 项 (牵头 {view.lead}, 配合 {view.cooperating})")
    for _, title, items in view.groups:
        print(f"\n《{title}》 {len(items)} 项")
        for c in items:
            print(f"  [{ROLE_ZH[view.role(c)]}] {c.id}  {c.path_text}\n      {c.text[:80].strip()}…")
    return 0


def _index_dir(args, settings) -> Path:
    return Path(args.index) if getattr(args, "index", None) else settings.index_dir


def make_retriever(args, settings):
    """The Retriever for the chosen index folder and the configured embedding model."""
    from faces.wiring import build_retriever

    return build_retriever(settings, _index_dir(args, settings))


def _seeded_corpus(settings) -> Path:
    """settings.corpus_dir, created from the seed documents the first time (see prepare_corpus)."""
    from policyqa.settings import prepare_corpus

    if prepare_corpus(settings):
        print(f"created {settings.corpus_dir} with the seed documents of {settings.seed_dir}", file=sys.stderr)
    return settings.corpus_dir


def cmd_build(args: argparse.Namespace, settings) -> int:
    """Ingest the corpus and update the index incrementally, with a progress bar while embedding (on a
    terminal). Holds the index folder's change lock, so it never races an upload in a running app, and
    first finishes or undoes a change a crash interrupted (qa/journal.py)."""
    from tqdm import tqdm

    from faces.wiring import item_extractor
    from index.build import build_index
    from index.embedder import make_embedder
    from index.engine import engine_spec
    from ingest.corpus import warn_skipped
    from qa.journal import change_lock, recover

    corpus = Path(args.corpus) if args.corpus else _seeded_corpus(settings)
    index_dir = _index_dir(args, settings)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="clause", desc="embedding", disable=args.quiet or not sys.stderr.isatty())
        bar.update(done - bar.n)

    embedder = make_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    with change_lock(index_dir, on_wait=lambda why: print(f"waiting: {why}", file=sys.stderr)):
        recover(corpus, index_dir, locked=True, check_corpus=False, engine=engine_spec(settings))
        report = build_index(corpus, index_dir, embedder, limit=settings.max_clause_chars,
                             max_bytes=int(settings.max_file_mb * 1024 * 1024), progress=progress,
                             keep_versions=settings.keep_versions, engine=engine_spec(settings),
                             items=item_extractor(settings, args.items_model))
    if bar is not None:
        bar.close()
    warn_skipped(report.skipped)
    rate = report.embedded / report.embed_seconds if report.embed_seconds else 0.0
    print(f"index {index_dir} ({report.version}): {report.documents} documents, {report.clauses} clauses; "
          f"added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
          f"unchanged {len(report.unchanged)}; embedded {report.embedded} clauses "
          f"in {report.embed_seconds:.1f}s ({rate:.1f}/s); total {report.seconds:.1f}s")
    print(items_line(index_dir))
    return 0


def cmd_search(args: argparse.Namespace, settings) -> int:
    """Hybrid search; prints ranked clauses (or the JSON shape of the API with --json)."""
    retriever = make_retriever(args, settings)
    result = retriever.search(args.question, k=args.k, doc=args.doc, department=args.department, mode=args.mode)
    if args.json:
        _print_json(result.to_json())
        return 0
    for note in result.notes:
        print(f"({note})")
    for h in result.hits:
        c = h.clause
        lead = f"  [牵头: {'、'.join(c.lead)}]" if c.lead else ""
        print(f"{h.rank}. {c.id}  {h.score:.4f}{lead}\n   《{c.doc_title}》 {c.path_text}\n   {c.text.strip()[:160]}")
    if not result.hits:
        print("没有找到相关条款 (no matching clauses)")
    print(f"{result.timings_ms.get('total', 0):.0f} ms", file=sys.stderr)
    return 0


def make_answerer(args, settings, retriever):
    """The answer chain over `retriever` with the three generators from settings."""
    from faces.wiring import build_answerer

    return build_answerer(settings, retriever)


def cmd_eval(args: argparse.Namespace, settings) -> int:
    """Evaluate retrieval (and answers unless --retrieval-only) on a question file."""
    from eval.run import run_eval

    return run_eval(args, settings, make_retriever, make_answerer)


def cmd_ask(args: argparse.Namespace, settings) -> int:
    """Answer a question with cited clauses; streams tokens to the terminal unless --json."""
    retriever = make_retriever(args, settings)
    answerer = make_answerer(args, settings, retriever)
    answer = None
    for event in answerer.stream(args.question, generator=args.generator, doc=args.doc, department=args.department):
        if event.kind == "answer":
            answer = event.answer
        elif event.kind == "status" and not args.json:
            print(event.text, file=sys.stderr)
    if args.json:
        _print_json(answer.to_json())
        return 0
    if answer.standalone_question:
        print(f"(问题改写为：{answer.standalone_question})")
    print(answer.text)
    if answer.refused:
        if answer.related:
            print("\n可能相关的条款（不构成依据）：")
            for h in answer.related:
                print(f"  - {h.clause.id}  《{h.clause.doc_title}》{h.clause.path_text}")
    else:
        print("\n依据：")
        for c in answer.citations:
            print(f"  [{c.n}] {c.clause.id}  《{c.clause.doc_title}》{c.clause.path_text}")
    t = answer.timings_ms
    print(f"({answer.generator}; checked: {answer.checked}; retrieve {t.get('retrieve', 0):.0f} ms, "
          f"first token {t.get('first_token', 0):.0f} ms, total {t.get('total', 0):.0f} ms)", file=sys.stderr)
    return 0


def cmd_documents(args: argparse.Namespace, settings) -> int:
    """List the indexed documents, or correct one's title, date, issuer or region (`documents edit`):
    stored in the corpus folder's metadata.json, then the index is updated (only that document is redone)."""
    from qa.changes import CorpusEditor

    retriever = make_retriever(args, settings)
    if args.action == "list":
        from qa.views import document_infos

        rows = document_infos(retriever.snapshot())
        if args.json:
            _print_json([{k: v for k, v in d.to_json().items() if k != "tree"} for d in rows])
        for d in rows if not args.json else []:
            print(f"{d.meta.doc_id}\t{d.meta.title}\t{d.meta.date or '-'}\t{d.meta.issuer or '-'}\t{d.meta.region or '-'}")
        return 0
    fields = {k: getattr(args, k) for k in ("title", "date", "issuer", "region") if getattr(args, k) is not None}
    if not args.doc_id or not fields:
        print("Error: documents edit needs a DOC_ID and at least one of --title --date --issuer --region", file=sys.stderr)
        return 2
    editor = CorpusEditor(retriever, Path(args.corpus) if args.corpus else _seeded_corpus(settings),
                          max_bytes=int(settings.max_file_mb * 1024 * 1024), max_documents=settings.max_documents,
                          max_clause_chars=settings.max_clause_chars, keep_versions=settings.keep_versions)
    change = editor.edit(args.doc_id, fields)
    _print_json(change.to_json()) if args.json else print(change.message)
    return 0


def cmd_serve(args: argparse.Namespace, settings) -> int:
    """Start the web app and HTTP API (loads the models once, then serves)."""
    from faces.api import serve

    update = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    serve(settings.model_copy(update=update))
    return 0


def _index_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index folder (default: settings.index_dir)")


def _documents_and_serve_parsers(sub) -> None:
    p = sub.add_parser("documents", help="list indexed documents, or correct one's title, date, issuer, region")
    p.add_argument("action", choices=["list", "edit"])
    p.add_argument("doc_id", nargs="?", help="the document to edit (its id, as `documents list` shows)")
    for name in ("title", "date", "issuer", "region"):
        p.add_argument(f"--{name}", help=f"the corrected {name} ('' clears it{', not the title' if name == 'title' else ''})")
    p.add_argument("--corpus", help="corpus folder (default: settings.corpus_dir)")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser("serve", help="start the web app and HTTP API")
    p.add_argument("--host", help="address to bind (default: settings.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: settings.port, 7860)")
    p.set_defaults(func=cmd_serve)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="policyqa", description="Cited answers from Chinese policy documents")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("clauses", help="show how one document is split into clauses")
    p.add_argument("file")
    p.add_argument("--json", action="store_true",
                   help="one JSON object per clause, then one per piece of page furniture removed")
    p.set_defaults(func=cmd_clauses)

    p = sub.add_parser("departments", help="list responsible units, or the clauses of one unit")
    p.add_argument("name", nargs="?")
    p.add_argument("--corpus", help="parse this folder instead of reading the index")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_departments)

    p = sub.add_parser("build", help="ingest the corpus and update the index incrementally")
    p.add_argument("--corpus", help="corpus folder, searched recursively (default: settings.corpus_dir)")
    _index_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("search", help="find the clauses for a question")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--doc", action="append", help="restrict to a document (id, title, alias or region); repeatable")
    p.add_argument("--department", help="restrict to clauses of one responsible unit")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="answer a question with cited clauses")
    p.add_argument("question")
    p.add_argument("--generator", choices=["llama", "openai", "extractive"])
    p.add_argument("--doc", action="append")
    p.add_argument("--department")
    _index_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="score retrieval and answers on a question file (.jsonl, .csv, .xlsx) or case folders")
    p.add_argument("questions", help="a question file, a case folder (questions.* + docs/) or a folder of case folders")
    p.add_argument("--retrieval-only", action="store_true")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--compare", action="store_true", help="hybrid vs dense vs BM25 vs default LangChain, one table")
    p.add_argument("--generator", choices=["llama", "openai", "extractive"])
    p.add_argument("--corpus", help="evaluate against an index of this folder (built once, cached by content)")
    _index_option(p)
    p.add_argument("--out", help="folder for report.md / report.json")
    p.add_argument("--json", action="store_true", help="print the JSON report")
    p.set_defaults(func=cmd_eval)

    _documents_and_serve_parsers(sub)
    add_calculator_parsers(sub)  # items, match, tasks, build --items-model (faces/cli_calc.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `policyqa` console script."""
    from policyqa.settings import Settings

    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
        return args.func(args, settings)
    except PolicyQAError as exc:
        print(cli_line(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
