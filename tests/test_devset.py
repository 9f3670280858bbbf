"""Validate the evaluation dev set eval/questions.jsonl against the seed corpus.

Plain python: no project imports. The corpus is read from corpus/*.txt when that folder holds
text files, else from the shared seeds folder (both hold the same four texts byte-for-byte).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEVSET = REPO / "eval" / "questions.jsonl"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

TYPES = {"subsidy", "responsibility", "figure", "comparison", "paraphrase", "clause_ref", "unanswerable"}
REQUIRED = {
    "id": str,
    "type": str,
    "question": str,
    "gold": list,
    "any_of": bool,
    "answerable": bool,
    "answer_must": list,
}
MIN_QUESTIONS = 80
MIN_UNANSWERABLE = 10
PHRASE_MIN, PHRASE_MAX = 6, 30
_WS = re.compile(r"\s+")


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def squash(s: str) -> str:
    """NFKC, then drop all whitespace: how gold phrases are matched against clause text."""
    return _WS.sub("", nfkc(s))


def corpus_dir() -> Path:
    local = REPO / "corpus"
    if local.is_dir() and any(local.glob("*.txt")):
        return local
    return SEEDS


@lru_cache(maxsize=1)
def corpus_texts() -> dict[str, str]:
    d = corpus_dir()
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(d.glob("*.txt"))}
    assert texts, f"no .txt files in {d}"
    return texts


@lru_cache(maxsize=1)
def corpus_paragraphs() -> list[str]:
    """Every non-blank source line, squashed. A phrase must lie inside one of them."""
    return [squash(line) for t in corpus_texts().values() for line in t.splitlines() if line.strip()]


@lru_cache(maxsize=1)
def rows() -> list[dict]:
    assert DEVSET.is_file(), f"missing {DEVSET}"
    out = []
    for n, line in enumerate(DEVSET.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:  # pragma: no cover - reported as a failure
            pytest.fail(f"line {n} is not valid JSON: {e}")
        assert isinstance(row, dict), f"line {n} is not a JSON object"
        out.append(row)
    return out


def test_every_line_parses():
    for n, line in enumerate(DEVSET.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"blank line {n}"
        assert isinstance(json.loads(line), dict), f"line {n} is not an object"


def test_counts():
    rs = rows()
    assert len(rs) >= MIN_QUESTIONS, f"only {len(rs)} questions"
    unans = [r for r in rs if not r["answerable"]]
    assert len(unans) >= MIN_UNANSWERABLE, f"only {len(unans)} unanswerable"


def test_ids_unique_and_well_formed():
    ids = [r["id"] for r in rows()]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for i in ids:
        assert re.fullmatch(r"q\d{3,}", i), f"bad id {i!r}"


def test_keys_and_types():
    for r in rows():
        rid = r.get("id", "?")
        for key, typ in REQUIRED.items():
            assert key in r, f"{rid}: missing {key}"
            assert isinstance(r[key], typ), f"{rid}: {key} should be {typ.__name__}"
        assert r["type"] in TYPES, f"{rid}: unknown type {r['type']!r}"
        assert r["question"].strip(), f"{rid}: empty question"
        for g in r["gold"]:
            assert isinstance(g, dict) and set(g) == {"contains"}, f"{rid}: bad gold item {g!r}"
            assert isinstance(g["contains"], str) and g["contains"].strip(), f"{rid}: empty contains"
        for a in r["answer_must"]:
            assert isinstance(a, str) and a.strip(), f"{rid}: bad answer_must item {a!r}"


def test_answerable_shape():
    for r in rows():
        rid = r["id"]
        if r["answerable"]:
            assert r["type"] != "unanswerable", f"{rid}: type unanswerable but answerable=true"
            assert r["gold"], f"{rid}: answerable question without gold"
            assert 1 <= len(r["answer_must"]) <= 3, f"{rid}: answer_must needs 1-3 items"
        else:
            assert r["type"] == "unanswerable", f"{rid}: answerable=false but type {r['type']}"
            assert r["gold"] == [], f"{rid}: unanswerable with gold"
            assert r["answer_must"] == [], f"{rid}: unanswerable with answer_must"
            assert r["any_of"] is False, f"{rid}: unanswerable with any_of"
        if r["type"] == "comparison":
            assert len(r["gold"]) >= 2 and r["any_of"] is False, f"{rid}: comparison needs >=2 gold, any_of false"


def test_gold_phrases_in_corpus():
    corpus = "".join(squash(t) for t in corpus_texts().values())
    paras = corpus_paragraphs()
    problems = []
    for r in rows():
        for g in r["gold"]:
            p = squash(g["contains"])
            if not PHRASE_MIN <= len(p) <= PHRASE_MAX:
                problems.append(f"{r['id']}: phrase length {len(p)}: {g['contains']}")
            if "。" in p[:-1]:
                problems.append(f"{r['id']}: phrase spans a sentence end: {g['contains']}")
            if p not in corpus:
                problems.append(f"{r['id']}: not in corpus: {g['contains']}")
            elif not any(p in para for para in paras):
                problems.append(f"{r['id']}: spans a line break: {g['contains']}")
    assert not problems, "\n".join(problems)


def test_answer_must_in_corpus_and_gold_paragraph():
    corpus = "\n".join(nfkc(t) for t in corpus_texts().values())
    paras = corpus_paragraphs()
    problems = []
    for r in rows():
        gold_paras = [para for g in r["gold"] for para in paras if squash(g["contains"]) in para]
        for a in r["answer_must"]:
            if nfkc(a) not in corpus:
                problems.append(f"{r['id']}: answer_must not in corpus: {a}")
            elif not any(squash(a) in para for para in gold_paras):
                problems.append(f"{r['id']}: answer_must not in a gold paragraph: {a}")
    assert not problems, "\n".join(problems)
