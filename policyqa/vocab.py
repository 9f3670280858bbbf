"""The language's word lists, in one folder (`policyqa/data/`) with one loader, each file read once.

What lives here is how Chinese policy texts and questions are written, never what one corpus is
about: what a question asks for (`intent.json`), negations (`negations.json`), stop words and
generic question words, numbering, label and tag words of documents, unit-name suffixes. What a
corpus knows about itself (its places, units, short titles, topic words) is derived from its
documents when the index is built and stored in the index version (index/vocabulary.py); the
corpus folder's own `vocabulary.json` adds what cannot be derived. Keeping lists as data means a
new habit of writing is a line in a file, not a regex in a module.

Formats: `NAME.txt` holds words separated by spaces or line breaks, `#` starting a comment (or,
read with `lines`, one row a line, e.g. tab-separated); `NAME.json` is an object of named word
lists, keys starting with `_` are notes. `digest()` fingerprints the whole folder; it is recorded
in every index manifest and with every answer, so an answer says which word lists judged it.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@cache
def lines(filename: str) -> tuple[str, ...]:
    """The non-empty, non-comment lines of `policyqa/data/<filename>`, stripped."""
    text = (DATA / filename).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


@cache
def words(name: str) -> tuple[str, ...]:
    """The words of `policyqa/data/<name>.txt`, longest first (so alternations prefer the longer word)."""
    found: list[str] = []
    for line in lines(f"{name}.txt"):
        found.extend(line.split("#", 1)[0].split())
    return tuple(sorted(dict.fromkeys(found), key=len, reverse=True))


@cache
def table(name: str) -> dict[str, tuple[str, ...]]:
    """The named lists of `policyqa/data/<name>.json` (notes under `_` keys left out)."""
    data = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    return {k: tuple(v) for k, v in data.items() if not k.startswith("_")}


def alternation(items) -> str:
    """A regex alternation of `items` as literal text, longest first."""
    return "|".join(re.escape(w) for w in sorted(set(items), key=len, reverse=True))


@cache
def pattern(name: str, key: str) -> re.Pattern[str]:
    """A compiled alternation of the list `key` of `policyqa/data/<name>.json`."""
    return re.compile(alternation(table(name)[key]))


@cache
def digest() -> str:
    """sha256 (first 16 hex digits) over every file of the folder, names and bytes, in name order."""
    h = hashlib.sha256()
    for path in sorted(p for p in DATA.iterdir() if p.is_file()):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@cache
def groups(name: str) -> dict[str, tuple[str, ...]]:
    """The groups of `policyqa/data/<name>.txt`, written `group: word word …` one or more lines each (in
    file order; `#` starts a comment)."""
    found: dict[str, list[str]] = {}
    for line in lines(f"{name}.txt"):
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            key, rest = line.split(":", 1)
            found.setdefault(key.strip(), []).extend(rest.split())
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


@cache
def group_lines(name: str, key: str) -> tuple[tuple[str, ...], ...]:
    """Each line of group `key` in `policyqa/data/<name>.txt` as its own tuple (groups of alternatives)."""
    found = []
    for line in lines(f"{name}.txt"):
        line = line.split("#", 1)[0].strip()
        if line.startswith(f"{key}:"):
            found.append(tuple(line.split(":", 1)[1].split()))
    return tuple(found)
