"""The language-level word lists the answers read (`policyqa/data/answer_words.json`, the one data folder), loaded once.

What lives in the file is how Chinese questions and policy sentences are worded (attribute nouns a
follow-up may swap, how a yes/no question wants its answer worded, which verbs allow and which
forbid), never what one corpus is about. Keys starting with `_` are notes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from policyqa.vocab import DATA

WORDS_FILE = DATA / "answer_words.json"


@cache
def table() -> dict[str, tuple]:
    """Every list of the file (notes left out), each as a tuple."""
    data = json.loads(WORDS_FILE.read_text(encoding="utf-8"))
    return {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) for k, v in data.items() if not k.startswith("_")}


def words(key: str) -> tuple[str, ...]:
    """The words of list `key`, longest first (so an alternation prefers the longer word)."""
    return tuple(sorted(dict.fromkeys(table()[key]), key=len, reverse=True))


@cache
def pattern(key: str) -> re.Pattern[str]:
    """A compiled alternation of list `key`, longest word first."""
    return re.compile("|".join(re.escape(w) for w in words(key)))
