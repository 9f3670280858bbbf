"""Measure the 政策计算器 on a gold folder (docs/, items.jsonl, profiles.jsonl, questions.jsonl).

    python -m eval.calculator ../shared/calculator [--index DIR] [--generator extractive] [--json] [--misses]

Items: the folder's documents are ingested and their items extracted exactly as a build does. An
extracted item matches a gold item when both quotes lie in the same document, overlap by at least half
of the shorter one (whitespace-free), and their amounts agree (the same value and unit, or both not
stated); matching is one-to-one (maximum bipartite). Recall = matched gold / gold, precision = matched
extracted / extracted, amount exact = matched pairs whose value, unit and max all agree.
Profiles: each profile is matched against the extracted items; an expected item counts as found when
an extracted item matched to it is `eligible`; a not-item fails when any item matched to it is eligible.
Questions (with `--index DIR`): asked through the answer chain over an index of the folder's documents
(built there with the configured embedding model when missing) with `--generator` (default extractive);
an answerable question passes when it is not refused, every `answer_must` phrase is in the answer and
a citation holds a gold phrase; an unanswerable one when it is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from policyqa.text import match_key

OVERLAP = 0.5


def load_jsonl(path: Path) -> list[dict]:
    """The rows of a JSON-lines file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _span(doc: str, quote: str) -> tuple[int, int] | None:
    key = match_key(quote)
    at = doc.find(key)
    return (at, at + len(key)) if at >= 0 and key else None


def overlaps(doc: str, a: str, b: str) -> bool:
    """True when quotes `a` and `b` overlap in `doc` (match_key form) by half the shorter one."""
    sa, sb = _span(doc, a), _span(doc, b)
    if sa is None or sb is None:
        ka, kb = match_key(a), match_key(b)
        return bool(ka and kb) and (ka in kb or kb in ka)
    common = min(sa[1], sb[1]) - max(sa[0], sb[0])
    return common >= OVERLAP * min(sa[1] - sa[0], sb[1] - sb[0])


def amounts_agree(gold: dict, got: dict) -> bool:
    """Same value and unit, or both unstated."""
    if gold.get("value") is None or got.get("value") is None:
        return gold.get("value") is None and got.get("value") is None
    return abs(float(gold["value"]) - float(got["value"])) < 1e-6 and gold.get("unit") == got.get("unit")


def bipartite(edges: dict[int, list[int]]) -> dict[int, int]:
    """Maximum matching of gold index → extracted index (Kuhn's augmenting paths)."""
    owner: dict[int, int] = {}

    def grab(g: int, seen: set[int]) -> bool:
        for e in edges.get(g, []):
            if e in seen:
                continue
            seen.add(e)
            if e not in owner or grab(owner[e], seen):
                owner[e] = g
                return True
        return False
    for g in edges:
        grab(g, set())
    return {g: e for e, g in owner.items()}


def score_items(gold: list[dict], got: list[dict], texts: dict[str, str]) -> tuple[dict, dict[int, int]]:
    """Recall, precision, amount exactness and the pairs; `texts` maps a gold `doc` to its match_key text,
    and each extracted item carries `doc` too."""
    edges = {g: [e for e, item in enumerate(got) if item["doc"] == row["doc"]
                 and overlaps(texts[row["doc"]], row["quote"], item["quote"])
                 and amounts_agree(row["amount"], item["amount"])] for g, row in enumerate(gold)}
    pairs = bipartite(edges)
    exact = sum(1 for g, e in pairs.items() if all(gold[g]["amount"].get(k) == got[e]["amount"].get(k)
                                                    for k in ("value", "unit", "max")))
    summary = {"gold_items": len(gold), "extracted_items": len(got), "matched": len(pairs),
               "item_recall": round(len(pairs) / len(gold), 4) if gold else None,
               "item_precision": round(len(pairs) / len(got), 4) if got else None,
               "amount_exact": round(exact / len(pairs), 4) if pairs else None}
    return summary, pairs


def score_profiles(profiles: list[dict], gold: list[dict], items, pairs: dict[int, int], documents) -> tuple[dict, list[dict]]:
    """Expected items among `eligible`, not-items absent from it, per profile rows for the report."""
    from qa.match import Profile, match_profile

    index = {row["item"]: g for g, row in enumerate(gold)}
    found = wrong = expected = nots = 0
    rows = []
    for p in profiles:
        result = match_profile(Profile.from_json(p["profile"]), items, documents)
        eligible = {m.item.id for m in result.eligible}
        status = {m.item.id: s for s, group in (("eligible", result.eligible), ("possible", result.possible),
                                                 ("ineligible", result.ineligible)) for m in group}

        def state(name: str) -> str:
            g = index.get(name)
            return status.get(items[pairs[g]].id, "?") if g in pairs else "not extracted"
        missed = [n for n in p["expected_items"] if state(n) != "eligible"]
        leaked = [x["item"] for x in p["not_items"] if state(x["item"]) == "eligible"]
        found += len(p["expected_items"]) - len(missed)
        expected += len(p["expected_items"])
        wrong += len(leaked)
        nots += len(p["not_items"])
        rows.append({"id": p["id"], "eligible": len(eligible), "missed": {n: state(n) for n in missed},
                     "leaked": leaked})
    return {"profile_expected_found": round(found / expected, 4) if expected else None,
            "profile_not_items_absent": round(1 - wrong / nots, 4) if nots else None}, rows


def score_questions(questions: list[dict], index_dir: Path, folder: Path, generator: str) -> tuple[dict, list[dict]]:
    """Ask every question through the answer chain over `index_dir` (built from `folder`/docs when missing)."""
    from eval.answers import score_answer
    from eval.harness import Question
    from index.build import build_index
    from index.embedder import make_embedder
    from index.search import Retriever
    from policyqa.settings import Settings
    from qa.chain import Answerer
    from qa.generators import LlamaGenerator
    from qa.prompts import PromptLibrary

    settings = Settings()
    embedder = make_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    if not (index_dir / "CURRENT").is_file():
        build_index(folder / "docs", index_dir, embedder)
    retriever = Retriever(index_dir, embedder)
    factories = {"llama": lambda: LlamaGenerator(settings.llm_path, n_ctx=settings.llm_ctx, n_threads=settings.llm_threads)}
    answerer = Answerer(retriever, factories, PromptLibrary(settings.prompts_dir), default_generator=generator)
    rows, passed = [], 0
    for q in questions:
        question = Question(q["id"], q["type"], q["question"], tuple(g["contains"] for g in q["gold"]),
                            answerable=q["answerable"], answer_must=tuple(q["answer_must"]))
        row = score_answer(question, answerer.ask(q["question"], generator=generator))
        ok = (row.key_facts_ok is not False and not row.answer.refused and row.cited_gold > 0) if q["answerable"] \
            else row.answer.refused
        passed += ok
        rows.append({"id": q["id"], "pass": ok, "answer": row.answer.text[:200], "generator": row.answer.generator})
    return {"questions_pass": round(passed / len(questions), 4) if questions else None}, rows


def extract_folder(folder: Path):
    """(documents, clauses, items as JSON rows with `doc` = file name, doc texts by file name)."""
    from ingest.corpus import load_corpus
    from ingest.item_extract import extract_items

    loaded = load_corpus(folder / "docs")
    metas = {d.meta.doc_id: d.meta for d in loaded.documents}
    items = extract_items(loaded.clauses, metas)
    names = {d.meta.doc_id: d.meta.source for d in loaded.documents}
    rows = [dict(i.to_json(), doc=names[i.doc_id]) for i in items]
    texts = {d.meta.source: match_key(d.text) for d in loaded.documents}
    return loaded, items, rows, texts


def main(argv: list[str] | None = None) -> int:
    """Print the numbers (and write them as JSON with --json)."""
    parser = argparse.ArgumentParser(prog="python -m eval.calculator", description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list unmatched gold and extracted items")
    parser.add_argument("--index", type=Path, help="index folder of the gold documents for the questions "
                        "(built there when missing); without it the questions are not asked")
    parser.add_argument("--generator", default="extractive", choices=["extractive", "llama"])
    args = parser.parse_args(argv)
    gold = load_jsonl(args.folder / "items.jsonl")
    loaded, items, rows, texts = extract_folder(args.folder)
    summary, pairs = score_items(gold, rows, texts)
    profiles, profile_rows = score_profiles(load_jsonl(args.folder / "profiles.jsonl"), gold, items, pairs,
                                            {d.meta.doc_id: d.meta for d in loaded.documents})
    summary.update(profiles)
    if args.index:
        asked, question_rows = score_questions(load_jsonl(args.folder / "questions.jsonl"), args.index, args.folder,
                                               args.generator)
        summary.update(asked)
        profile_rows += [r for r in question_rows if not r["pass"]]
    if args.misses:
        for row in profile_rows:
            print("PROFILE", json.dumps(row, ensure_ascii=False))
    if args.misses:
        matched = set(pairs.values())
        for g, row in enumerate(gold):
            if g not in pairs:
                print("MISS", row["item"], row["amount"].get("value"), row["amount"].get("unit"), row["quote"][:50])
        for e, row in enumerate(rows):
            if e not in matched:
                print("EXTRA", row["id"], row["amount"]["value"], row["amount"]["unit"], row["quote"][:60])
        for g, e in pairs.items():
            a, b = gold[g]["amount"], rows[e]["amount"]
            if any(a.get(k) != b.get(k) for k in ("value", "unit", "max")):
                print("AMOUNT", gold[g]["item"], a, b)
    print(json.dumps(summary, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
