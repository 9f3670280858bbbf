"""What a question asks for, read in one place so the extractive answer, the refusal rules, the list
answers and the answer check never disagree about one question.

The words are data (`policyqa/data/intent.json`): language-level question words, never a corpus's
topic or place. Patterns are built from them once.
"""

from __future__ import annotations

import re
from functools import lru_cache

from policyqa.vocab import alternation, pattern, table

# A number is wanted: an amount, a count, a rate, a target or a standard.
ASKS_FIGURE = pattern("intent", "figure")
# A unit is wanted: who leads, who is responsible.
ASKS_WHO = pattern("intent", "who")
# A whole enumeration is wanted.
ASKS_LIST = pattern("intent", "list")
# An amount of money is wanted; a rate (a percentage, not any number) is wanted.
ASKS_MONEY = pattern("intent", "money")
ASKS_RATE = pattern("intent", "rate")
# A date or a time limit is wanted.
ASKS_WHEN = pattern("intent", "when")


@lru_cache(maxsize=1)
def _yes_no() -> re.Pattern[str]:
    ending = alternation(table("intent")["yes_no_endings"])
    return re.compile(rf"{alternation(table('intent')['yes_no'])}|(?:{ending})[？?]?\s*$")


def asks_figure(question: str) -> bool:
    """The question wants a number (多少, 比例, 标准 …)."""
    return bool(ASKS_FIGURE.search(question))


def asks_who(question: str) -> bool:
    """The question wants the unit that leads or is responsible."""
    return bool(ASKS_WHO.search(question))


def asks_yes_no(question: str) -> bool:
    """The question wants a yes or a no (能不能, 是否, …吗)."""
    return bool(_yes_no().search(question))
