"""The records answering produces: an Answer with numbered citations, or a refusal with related clauses."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.records import Clause, Hit


@dataclass(frozen=True)
class Citation:
    """Clause `n` of an answer: the clause and the sentences of it that support the answer."""

    n: int
    clause: Clause
    supporting: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The citation shape of `policyqa ask --json` and the API."""
        c = self.clause
        return {"n": self.n, "clause_id": c.id, "doc_id": c.doc_id, "doc_title": c.doc_title, "path": c.path_text,
                "text": c.text, "lead": list(c.lead), "departments": list(c.departments),
                "cooperating": list(c.cooperating), "kind": c.kind, "supporting": list(self.supporting)}


CHECK_STATUSES = ("passed", "dropped", "fallback", "declined", "not_needed")


@dataclass(frozen=True)
class Check:
    """How an answer was checked against its clauses.

    status: "passed" (every generated sentence is supported), "dropped" (unsupported sentences were
    removed, `reasons` says which), "fallback" (the generator failed or its answer failed the check, so
    the answer quotes the clauses; `reasons` says why), "declined" (the model said the clauses do not
    answer and coverage agreed: a refusal), "not_needed" (nothing was generated: quotes, lists, refusals).
    reasons: one English line per dropped sentence or failure, for logs, eval and the 详情 toggle."""

    status: str = "not_needed"
    reasons: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"unknown check status {self.status!r}; one of {', '.join(CHECK_STATUSES)}")

    @property
    def text(self) -> str:
        """The check as one English line ("passed", "dropped 1 sentence(s): …", "fell back to extractive: …")."""
        why = "; ".join(self.reasons)
        return {"passed": "passed", "not_needed": "not needed", "declined": "model declined",
                "dropped": f"dropped {len(self.reasons)} sentence(s): {why}",
                "fallback": f"fell back to extractive: {why or 'no citation'}"}[self.status]

    def __str__(self) -> str:
        return self.text

    def to_json(self) -> dict:
        """{status, reasons}: the `checked` field of `policyqa ask --json` and POST /api/ask."""
        return {"status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Answer:
    """An answer (or refusal) with its citations, how it was checked, and where time went."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    related: tuple[Hit, ...] = ()  # nearest clauses when refused; never presented as support
    generator: str = "extractive"
    checked: Check = Check()
    prompt_hash: str = ""
    standalone_question: str = ""  # the follow-up rewritten to stand alone, if it was rewritten
    count: int | None = None  # number of items for whole-list answers
    timings_ms: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    index_version: str = ""  # the index version the search, the citations and the checks all read
    vocabulary_hash: str = ""  # "<language word lists>/<corpus vocabulary>" digests that judged it

    def to_json(self) -> dict:
        """The shape of `policyqa ask --json` and POST /api/ask."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "related": [h.to_json() for h in self.related],
            "generator": self.generator,
            "checked": self.checked.to_json(),
            "prompt_hash": self.prompt_hash,
            "count": self.count,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "notes": list(self.notes),
            "index_version": self.index_version,
            "vocabulary_hash": self.vocabulary_hash,
        }
