"""The model path of item extraction: a model reads the provisions the rules read poorly, and every
field it returns is checked against the provision's own text before it is kept.

When it is asked: a segment states a benefit (a grant verb: 给予, 予以, 资助…) and holds a figure
(an amount, a rate, 两倍, 2/3) but the rules made no item of it. Regular text never reaches the
model, so a build of regular documents costs what the rules cost; `budget` bounds the provisions one
build may send (the laws corpus would otherwise send thousands).
What is kept: an item whose quote is in the provision (whitespace-free) and whose amount text is in
its quote; its value and unit must be what ingest/amounts.py reads from that amount text (or both
empty, for a benefit without an amount). Conditions and applicants that are not in the provision are
dropped, a form outside the six is "other". The model is a seam: anything with `name` and
`complete(text) -> str` (qa/item_model.py wraps the answer generators; tests use a scripted one).
"""

from __future__ import annotations

import json
import re
import time
from typing import Protocol

from ingest.amounts import Squeezed, find_amounts, words
from ingest.items import Amount, Draft
from ingest.segments import read_segments

FORMS = ("奖励", "补助", "补贴", "贴息", "资助", "减免", "other")
_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:倍|%|元|万|亿)|\d+/\d+|[一二三四五六七八九十两百千万]+(?:倍|万元|元)")


class Completer(Protocol):
    """Something that answers one prompt text with JSON text (the model behind the model path)."""

    name: str

    def complete(self, text: str) -> str:
        """The model's reply to the provision `text`."""
        ...


def needs_model(sq: Squeezed, drafts: list[Draft]) -> bool:
    """True when a segment gives a benefit with a figure in it and the rules made no item of it."""
    for seg in read_segments(sq.text):
        benefit = any(p.kind == "benefit" for p in seg.pieces)
        if not benefit or not _FIGURE.search(seg.text) or seg.has("not_benefit"):
            continue
        if not any(d.start < seg.end and seg.start < d.end for d in drafts):
            return True
    return False


def _in(needle: str, hay: str) -> bool:
    key = re.sub(r"\s+", "", needle or "")
    return bool(key) and key in hay


def checked_drafts(reply: str, sq: Squeezed) -> tuple[list[Draft], int]:
    """The model's items that pass the checks, as drafts, and how many were rejected (a reply that is
    not a JSON array at all, e.g. "" from a failed generator, counts as one rejection)."""
    try:
        rows = json.loads(re.search(r"\[.*\]", reply, re.S).group(0))
    except (AttributeError, ValueError):
        return [], 1
    out, rejected = [], 0
    for row in rows if isinstance(rows, list) else []:
        draft = _draft(row, sq) if isinstance(row, dict) else None
        if draft is None:
            rejected += 1
        else:
            out.append(draft)
    return out, rejected


def _draft(row: dict, sq: Squeezed) -> Draft | None:
    quote = re.sub(r"\s+", "", str(row.get("quote", "")))
    start = sq.text.find(quote) if quote else -1
    text = str(row.get("amount_text") or "")
    if start < 0 or (text and not _in(text, quote)):
        return None
    value, unit = row.get("value"), row.get("unit")
    read = find_amounts(Squeezed.of(text).text) if text else []
    if value is None and unit is None:
        if read:
            return None  # it says "no amount" where the text states one
    elif not any(abs(m.value - float(value)) < 1e-6 and m.unit == unit for m in read):
        return None
    cap = bool(row.get("max")) and any(w in text for w in words("cap"))
    amount = Amount(float(value) if value is not None else None, unit, cap, None, None, text)
    conditions = [c for c in row.get("conditions", []) if isinstance(c, str) and _in(c, sq.text)]
    form = row.get("form") if row.get("form") in FORMS else "other"
    return Draft(start, start + len(quote), amount, form, conditions, amountless=value is None, source="model",
                 text=text)


class ModelReviewer:
    """Asks the model about provisions the rules read poorly, at most `budget` per build, and keeps
    what passes the checks; counts calls, rejections and seconds for the build report."""

    def __init__(self, completer: Completer, budget: int = 20) -> None:
        self.completer = completer
        self.budget = budget
        self.calls = 0
        self.rejected = 0
        self.seconds = 0.0

    @property
    def name(self) -> str:
        """The extractor's name as the manifest records it."""
        return f"rules+{self.completer.name}(budget {self.budget})"

    def __call__(self, provision, drafts: list[Draft]) -> list[Draft]:
        """`drafts` plus the model's checked items for a provision the rules read poorly."""
        if self.calls >= self.budget or not needs_model(provision.sq, drafts):
            return drafts
        self.calls += 1
        started = time.perf_counter()
        try:
            reply = self.completer.complete(provision.sq.source)
        finally:
            self.seconds += time.perf_counter() - started
        found, rejected = checked_drafts(reply, provision.sq)
        self.rejected += rejected
        new = [d for d in found if not any(d.start < x.end and x.start < d.end and d.amount.value == x.amount.value
                                           for x in drafts)]
        return sorted(drafts + new, key=lambda d: d.start)
