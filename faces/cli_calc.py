"""`policyqa items`, `policyqa match`, `policyqa tasks`: the 政策计算器 and the 任务分工表 on the command line.

JSON shapes (evaluation tools read them):
    items --json   {"items": [{id, name, doc_id, clause_id, quote, form, amount: {value, unit, max, per,
                   ratio, text}, applicant, conditions, department, region, …}]}
    match --json   {"eligible": [{item_id, name, amount, met, …}], "possible": [{…, unknown}],
                   "ineligible": [{…, unmet}], "total": {value, unit, …}}
    tasks --json   {"rows": [{n, task, lead, cooperating, deadline, clause_id, doc_id, place, …}]}
Every command reads the index (`--index DIR`, default settings.index_dir) and loads no model.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policyqa.errors import PolicyQAError


def _calculator(args, settings):
    """The calculator over the index folder, with the index's own embedding model named (never loaded:
    these commands search nothing), so an index of any model can be read."""
    from index.embedder import make_embedder
    from index.search import Retriever
    from index.store import read_manifest
    from qa.calculator import Calculator

    index_dir = Path(args.index) if args.index else settings.index_dir
    found = read_manifest(index_dir)
    model = found[1].get("embedding_model", settings.embedding_model) if found else settings.embedding_model
    return Calculator(Retriever(index_dir, make_embedder(model)))


def items_line(index_dir: Path) -> str:
    """One line on the support items of the live version: count, extractor, cost (from its manifest)."""
    from index.store import read_manifest

    found = read_manifest(index_dir)
    meta = found[1].get("items", {}) if found else {}
    read, seconds = meta.get("clauses_read", 0), meta.get("seconds", 0.0)
    rate = f"{read / seconds:.0f} clauses/s" if seconds and read else "no clause read"
    model = f"; model {meta.get('model_calls', 0)} call(s), {meta.get('model_rejected', 0)} rejected" \
        if meta.get("extractor", "rules") != "rules" else ""
    return (f"items: {meta.get('count', 0)} ({meta.get('extractor', '—')}); read {read} clauses in {seconds:.2f}s "
            f"({rate}){model}")


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _amount(a) -> str:
    if a.value is None:
        return "（未写明金额）"
    return ("最高" if a.max else "") + (a.per or "") + f"{a.value:g}{a.unit}" + (f"（比例{a.ratio:g}%）" if a.ratio else "")


def cmd_items(args: argparse.Namespace, settings) -> int:
    """Every support item of the index (of one document), with amount, conditions and source clause."""
    items = _calculator(args, settings).items(args.doc)
    if args.json:
        _print_json({"items": [i.to_json() for i in items]})
        return 0
    for i in items:
        print(f"{i.id}\t{i.form}\t{_amount(i.amount)}\t{i.name}\n    条件：{'；'.join(i.conditions) or '—'}"
              f"\n    原文：{i.quote[:100]}")
    if not items:
        print("没有扶持事项；索引若建于本功能之前，请重新运行 policyqa build (no items: rebuild the index)", file=sys.stderr)
    print(f"{len(items)} items", file=sys.stderr)
    return 0


def _read_profile(path: str):
    from qa.match import Profile

    try:
        row = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyQAError(f"profile file not found: {path}", value=path,
                            hint="pass a JSON file holding one profile object") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyQAError(f"profile file {path} is not UTF-8 JSON: {exc}", value=path) from None
    return Profile.from_json(row)


def cmd_match(args: argparse.Namespace, settings) -> int:
    """Eligible, possible and ineligible items for the enterprise profile in a JSON file."""
    result = _calculator(args, settings).match(_read_profile(args.profile))
    if args.json:
        _print_json(result.to_json())
        return 0
    for title, group, key in (("符合", result.eligible, "met"), ("可能符合（待确认）", result.possible, "unknown"),
                              ("不符合", result.ineligible, "unmet")):
        print(f"== {title}：{len(group)} 项")
        for m in group:
            row = m.to_json()
            print(f"  {m.item.name}  {_amount(m.item.amount)}  [{m.item.id}]\n      {key}: {'；'.join(row[key])[:160]}")
    print(f"合计（可叠加的金额上限）：{result.total_wan:g} 万元")
    return 0


def cmd_tasks(args: argparse.Namespace, settings) -> int:
    """The task-division table of a document, a unit (in its place) or a place; CSV/XLSX files on request."""
    from qa.tasks import HEADERS, to_csv, to_xlsx

    rows = _calculator(args, settings).tasks(doc=args.doc, unit=args.unit, place=args.place)
    if args.csv:
        Path(args.csv).write_bytes(to_csv(rows))
    if args.xlsx:
        Path(args.xlsx).write_bytes(to_xlsx(rows, title=" ".join(x for x in (args.place, args.unit, args.doc) if x)
                                            or "任务分工表"))
    if args.json:
        _print_json({"rows": [r.to_json() for r in rows]})
        return 0
    print("\t".join(HEADERS))
    for r in rows:
        print("\t".join(str(c) for c in r.cells()))
    print(f"{len(rows)} rows" + "".join(f"; wrote {p}" for p in (args.csv, args.xlsx) if p), file=sys.stderr)
    return 0


_OPTIONS = {
    "items": ("support items (扶持事项) read from the documents", cmd_items,
              (("--doc", "one document (id, title, alias or region)"),)),
    "match": ("政策计算器: items an enterprise profile qualifies for", cmd_match,
              (("profile", "JSON file with one profile object (region, kinds, industry, facts, …)"),)),
    "tasks": ("任务分工表 of a document, a unit or a place", cmd_tasks,
              (("--doc", "one document (id, title, alias or region)"),
               ("--unit", "a responsible unit as `departments` lists it, or PLACE·UNIT for one place's"),
               ("--place", "a place as the documents name it: its documents' units only"),
               ("--xlsx", "also write the table to this XLSX file"), ("--csv", "also write the table to this CSV file"))),
}


def add_parsers(sub) -> None:
    """The three subcommands, added to the `policyqa` parser (each reads `--index` and prints `--json`),
    and the build command's `--items-model` option (the build parser must be there already)."""
    sub.choices["build"].add_argument("--items-model", choices=["off", "llama", "openai"],
                                      help="model for provisions the item rules cannot read "
                                           "(default: settings.items_model, off)")
    for name, (text, func, options) in _OPTIONS.items():
        p = sub.add_parser(name, help=text)
        for flag, help_text in options:
            p.add_argument(flag, help=help_text)
        p.add_argument("--index", help="index folder (default: settings.index_dir)")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
