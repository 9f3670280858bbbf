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


@dataclass(frozen=True)
class Answer:
    """An answer (or refusal) with its citations, how it was checked, and where time went."""

    question: str
    text: str
    citations: tuple[Citation, ...] = ()
    refused: bool = False
    related: tuple[Hit, ...] = ()  # nearest clauses when refused; never presented as support
    generator: str = "extractive"
    checked: str = "not needed"  # passed | dropped N sentence(s) | fell back to extractive: … | not needed
    prompt_hash: str = ""
    standalone_question: str = ""  # the follow-up rewritten to stand alone, if it was rewritten
    count: int | None = None  # number of items for whole-list answers
    timings_ms: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    index_version: str = ""  # the index version the search, the citations and the checks all read

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
            "checked": self.checked,
            "prompt_hash": self.prompt_hash,
            "count": self.count,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "notes": list(self.notes),
            "index_version": self.index_version,
        }
