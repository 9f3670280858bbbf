"""Vocabulary is data: the language's word lists load from one folder, the corpus's own words are derived
at build time, and no place, unit or topic word of the seed or field documents is in the code.

The forbidden words are derived from the documents themselves (so the list cannot go stale): the places
and units the project's own extraction finds in them (index/vocabulary.py, ingest/departments.py), and
the names metadata.json gives them and their own topic words where they are distinctive, i.e. found in
none of the project's other real corpora (seeds, field cases, the calculator's documents in
tests/data/calculator): a word all of them use (专利) is the language of policy, not one corpus's. Topic words: the words the build derives for the
tokenizer (defined “…” and 以下简称 terms, the corpus file's terms) and the words of three characters or
more that occur at least twice in a corpus and that jieba's general dictionary does not know (jieba
finds them as new words: 创新券-like compounds of the corpus's own subject).
Code strings are read with `ast` (docstrings and comments may name them); data files are every
.txt/.json/.md under the packages and prompts/ (tests/, eval/ and corpus/ are the documents' own).
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

FIELD = ROOT.parents[0] / "shared" / "field"
CALCULATOR = ROOT / "tests" / "data" / "calculator" / "docs"
PACKAGES = ("policyqa", "ingest", "index", "qa", "faces", "prompts")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def code_strings() -> dict[str, list[str]]:
    """file → its string constants (not docstrings) for .py files, its whole text for data files."""
    out: dict[str, list[str]] = {}
    files = [ROOT / "app.py"] + [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*")) if p.is_file()]
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if path.suffix == ".py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _docstrings(tree)
            out[rel] = [n.value for n in ast.walk(tree)
                        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]
        elif path.suffix in (".txt", ".json", ".md"):
            text = path.read_text(encoding="utf-8")
            out[rel] = [line.split("#", 1)[0] for line in text.splitlines()] if path.suffix == ".txt" else [text]
    return out


@lru_cache(maxsize=None)
def document_words(folder: Path) -> dict[str, str]:
    """word → why it is a word of the documents in `folder` (a place, a unit, a name, a topic word)."""
    import jieba

    from index.lexical import _base_dictionary
    from index.vocabulary import corpus_vocabulary, short_place
    from ingest.corpus import CorpusLoad, load_corpus

    loaded = load_corpus(folder)
    vocabulary = corpus_vocabulary(loaded)
    found: dict[str, str] = {}
    for place in vocabulary.places:
        found[place] = "place"
    for unit in {u for c in loaded.clauses for u in c.departments}:
        found.setdefault(unit, "unit")
    for doc in loaded.documents:
        for name in (*doc.meta.aliases, doc.meta.doc_id):
            if re.search(r"[\u4e00-\u9fff]", name) and len(name) >= 2:
                found.setdefault(name, "document name")
        for region in re.findall(r"[\u4e00-\u9fff]{2,}?(?:省|市|县|区)", doc.meta.region):
            found.setdefault(short_place(region), "place")
    any_corpus = set(corpus_vocabulary(CorpusLoad()).terms)  # what the build adds for every corpus
    for term in set(vocabulary.terms) - any_corpus:
        if len(term) >= 2 and re.search(r"[\u4e00-\u9fff]", term):
            found.setdefault(term, "topic")
    freq = _base_dictionary().FREQ
    counts = Counter(w for d in loaded.documents for w in jieba.lcut(d.text)
                     if len(w) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", w) and w not in freq)
    for word, n in counts.items():
        if n >= 2:
            found.setdefault(word, "topic")
    return found


@lru_cache(maxsize=None)
def corpus_text(folder: Path) -> str:
    """The normalised text of every document in `folder` ("" when it is absent)."""
    from ingest.corpus import load_corpus
    from policyqa.text import normalize

    return "\n".join(normalize(d.text) for d in load_corpus(folder).documents) if folder.is_dir() else ""


def distinctive(words: dict[str, str], others: list[Path]) -> dict[str, str]:
    """`words` without the names and topic words another corpus uses too (places and units all stay)."""
    text = "\n".join(corpus_text(f) for f in others)
    return {w: why for w, why in words.items() if why in ("place", "unit") or w not in text}


def _violations(words: dict[str, str]) -> list[str]:
    bad = []
    for rel, strings in code_strings().items():
        for s in strings:
            for word in (w for w in words if w in s):
                bad.append(f"{rel}: {words[word]} word “{word}” in {s[:60]!r}")
    return bad


def _field_cases() -> list[Path]:
    return sorted(p / "docs" for p in FIELD.iterdir() if (p / "docs").is_dir()) if FIELD.is_dir() else []


FIELD_DOCS = ROOT / "tests" / "data" / "field"  # the field documents, for a clone without ../shared


def test_no_seed_document_word_is_in_the_code_or_its_data():
    contrast = _field_cases() or sorted(p for p in FIELD_DOCS.iterdir() if p.is_dir())
    words = distinctive(document_words(CORPUS), [CALCULATOR, *contrast])
    assert {"place", "unit", "topic"} <= set(words.values())  # the derivation finds each kind
    assert not _violations(words), "\n".join(_violations(words))


@pytest.mark.skipif(not FIELD.is_dir(), reason=f"field cases not found at {FIELD} (../shared absent)")
def test_no_field_document_word_is_in_the_code_or_its_data():
    words: dict[str, str] = {}
    for case in _field_cases():
        words.update(document_words(case))
    words = distinctive(words, [CALCULATOR, CORPUS])
    assert {"place", "unit", "topic"} <= set(words.values())
    assert not _violations(words), "\n".join(_violations(words))


def test_language_lists_load_once_from_one_folder_with_a_digest():
    from policyqa import vocab

    assert vocab.words("stop_words") is vocab.words("stop_words")  # cached: read once
    assert "吗" in vocab.table("intent")["yes_no_endings"]
    assert re.fullmatch(r"[0-9a-f]{16}", vocab.digest())
    assert not list((ROOT / "ingest").glob("data")) and not list((ROOT / "qa").glob("*.txt"))


def test_the_corpus_vocabulary_is_stored_in_the_index_version_and_its_digest_recorded(template):
    from index.snapshot import Snapshot
    from index.store import open_index
    from policyqa import vocab

    data = open_index(template / "index")
    stored = data.manifest["vocabulary"]
    snap = Snapshot.of(data)
    assert data.manifest["vocabulary_digest"] == snap.vocabulary.digest
    assert stored["language"] == vocab.digest()
    assert {"阳泉", "忻州", "朔州"} <= set(stored["places"])  # the documents' own places, derived
    assert stored["eligibility"]["kinds"]  # from corpus/vocabulary.json
