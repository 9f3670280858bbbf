"""The record one question carries through the answer chain, and the per-version lookups the steps read.

`Turn` is frozen: each step of qa/steps.py returns a new one (`dataclasses.replace`), so what a step
saw can be logged or replayed and no step changes another's input. Every turn reads one index
`Snapshot` from start to end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from index.routing import place_names
from index.snapshot import Snapshot
from ingest.records import Hit, Route
from policyqa.text import normalize
from qa.answer import Answer
from qa.generators import Message
from qa.refusal import RefusalPolicy


@dataclass(frozen=True)
class Turn:
    """One question on its way to an answer.

    question/history/generator/doc/department: the request as given; snapshot: the one index version
    this question reads; started: perf_counter() at the start (seconds). Filled by the steps:
    standalone (the follow-up rewritten to stand alone), hits (ranked clauses), route (what the
    question names, read once by the search), exact_ids (clauses the question names by number and
    the search found, ranked first), terms (the question's content tokens, place names removed), doc_ids (documents the question names, or the doc filter),
    plan ("list" | "refuse" | "extractive" | "generate"), answer (set by list/refuse plans and at the
    end), messages (what the generator sees), shown (the clauses it sees, numbered from 1), grammar
    (the GBNF its reply must follow where the backend takes one, qa/structured.py), timings
    (name → ms since start) and notes (one line per decision, for logs and eval)."""

    question: str
    history: tuple[str, ...]
    generator: str
    doc: str | list[str] | None
    department: str | None
    snapshot: Snapshot
    started: float
    standalone: str = ""
    hits: tuple[Hit, ...] = ()
    route: Route = Route()
    exact_ids: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    plan: str = ""
    answer: Answer | None = None
    messages: tuple[Message, ...] = ()
    shown: tuple[Hit, ...] = ()
    grammar: str = ""
    timings: tuple[tuple[str, float], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def compared(self) -> tuple[str, ...]:
        """The documents a comparison answers one by one: the named documents when the question names
        them by more than one name ("阳泉和朔州…") or the doc filter lists several; () otherwise (one
        place covering two documents is one question, answered from the best clause)."""
        several = len(self.doc_ids) > 1 and (isinstance(self.doc, list) or len(self.route.names) > 1)
        return self.doc_ids if several else ()

    @property
    def exact(self) -> bool:
        """The search found the clause the question names by number (it is the first hit)."""
        return bool(self.exact_ids)

    def noted(self, *lines: str) -> "Turn":
        """This turn with `lines` added to its notes."""
        return replace(self, notes=self.notes + tuple(lines))

    def timed(self, name: str, ms: float | None = None) -> "Turn":
        """This turn with timing `name` set to `ms` (default: milliseconds since the start), unless set."""
        if any(k == name for k, _ in self.timings):
            return self
        return replace(self, timings=self.timings + ((name, self.elapsed_ms() if ms is None else ms),))

    def elapsed_ms(self) -> float:
        """Milliseconds since the turn started."""
        return (time.perf_counter() - self.started) * 1000


def refusal_policy(snap: Snapshot) -> RefusalPolicy:
    """Refusal rules for one index version's documents (built once per version)."""
    return snap.derived("refusal", lambda: RefusalPolicy.of_tokens(dict(snap.documents), snap.vocabulary,
                                                                   snap.data.tokens, snap.clauses))


def place_index(snap: Snapshot) -> tuple[set[str], dict[str, set[str]]]:
    """Names users call one version's documents by (places, aliases, titles), and each name in normal
    form → the documents it names, longest names first; built once per version."""
    def build() -> tuple[set[str], dict[str, set[str]]]:
        names: set[str] = set()
        docs: dict[str, set[str]] = {}
        for doc_id, meta in snap.documents.items():
            for name in place_names(meta):
                names.add(name)
                docs.setdefault(normalize(name), set()).add(doc_id)
        return names, {n: docs[n] for n in sorted(docs, key=len, reverse=True)}
    return snap.derived("places", build)
