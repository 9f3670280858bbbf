"""A question with several parts ("给不给补贴？给多少？") answered part by part, so the covered part is
not lost with the uncovered one.

    split_parts   the question → parts, on question marks and semicolons and on connectives
                  (以及, 另外 … from policyqa/data/question_words.txt), only where every part asks something
    join_answers  each part's Answer → one Answer: covered parts with their citations renumbered,
                  refused parts named as gaps ("关于“给多少”：现有文件没有写明具体金额。")

Trade-offs: rules on the language only (question marks, question words, connectives), never on a
corpus's topics; a short later part ("2015年呢？", "给多少？") leans on the first part, so it is asked
with the first part's wording in front of it. A question is split into at most four parts and only when
it is at most 200 characters; anything else is answered whole, as before. qa/chain.py calls this at
its entry (`Answerer.stream`); each part reads the same index snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from policyqa.text import MARKER, marker_numbers
from policyqa.vocab import DATA
from qa.answer import Answer, Check, Citation

WORDS_FILE = DATA / "question_words.txt"
MAX_PARTS = 4
MAX_CHARS = 200
SHORT_PART = 10  # a later part this short (in characters) leans on the first part
_ENDS = re.compile(r"[^？?；;]+[？?；;]*")


@dataclass(frozen=True)
class Part:
    """One part of a question: `label` as the user wrote it, `question` as it is asked (standalone)."""

    label: str
    question: str


def _load_words(path: Path = WORDS_FILE) -> tuple[re.Pattern, re.Pattern]:
    words, connectives = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            if line.startswith("@connectives"):
                connectives += line.split()[1:]
            else:
                words += line.split()
    asks = re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)))
    joins = re.compile(r"[，,]?(?:" + "|".join(map(re.escape, connectives)) + r")[，,]?")
    return asks, joins


_ASKS, _JOINS = _load_words()


def _asks(piece: str) -> bool:
    return bool(_ASKS.search(piece)) or piece.rstrip().endswith(("？", "?"))


def split_parts(question: str) -> list[Part]:
    """The parts of `question`; one part (the question itself) unless it clearly asks several things."""
    q = question.strip()
    whole = [Part(q, q)]
    if not q or len(q) > MAX_CHARS:
        return whole
    pieces: list[str] = []
    for segment in _ENDS.findall(q):
        cuts = [p for p in _JOINS.split(segment) if p.strip()]
        pieces += cuts if len(cuts) > 1 and all(_asks(p) for p in cuts) else [segment]
    pieces = [p.strip().strip("，,；;") for p in pieces if len(re.sub(r"\W", "", p)) >= 2]
    if not 1 < len(pieces) <= MAX_PARTS or not all(_asks(p) for p in pieces):
        return whole
    first = pieces[0].rstrip("？?。")
    return [Part(pieces[0], pieces[0])] + [
        Part(p, f"{first}，{p}" if len(p) <= SHORT_PART else p) for p in pieces[1:]]


def join_answers(question: str, parts: Sequence[Part], answers: Sequence[Answer]) -> Answer:
    """One Answer for a question asked in `parts`: each covered part's answer under its label with its
    citations renumbered, each refused part named with its refusal; a refusal if no part is covered."""
    covered = [(p, a) for p, a in zip(parts, answers) if not a.refused]
    if not covered:
        related = tuple({h.clause.id: h for a in answers for h in a.related}.values())[:3]
        return _merged(question, answers, text="\n".join(f"关于“{p.label}”：{a.text}" for p, a in zip(parts, answers)),
                       refused=True, related=related)
    numbers: dict[str, int] = {}
    cites: dict[int, Citation] = {}
    lines = []
    for part, answer in zip(parts, answers):
        if answer.refused:
            lines.append(f"关于“{part.label}”：{answer.text}")
            continue
        renumber = {}
        for c in answer.citations:
            n = numbers.setdefault(c.clause.id, len(numbers) + 1)
            renumber[c.n] = n
            old = cites.get(n)
            supporting = tuple(dict.fromkeys((old.supporting if old else ()) + c.supporting))
            cites[n] = Citation(n, c.clause, supporting)
        text = MARKER.sub(lambda m: "[" + ",".join(str(renumber.get(k, k)) for k in marker_numbers(m.group(0))) + "]",
                          answer.text)
        lines.append(f"关于“{part.label}”：{text}")
    return _merged(question, answers, text="\n".join(lines), citations=tuple(cites[n] for n in sorted(cites)))


def _merged(question: str, answers: Sequence[Answer], **fields) -> Answer:
    """The fields every joined answer shares: generator, check, hashes, notes and timings of the parts."""
    statuses = [a.checked.status for a in answers]
    status = next((s for s in ("fallback", "dropped", "passed", "declined") if s in statuses), "not_needed")
    reasons = tuple(f"part {i}: {r}" for i, a in enumerate(answers, 1) for r in a.checked.reasons)
    generated = [a.generator for a in answers if a.generator not in ("extractive", "structured")]
    timings = {k: sum(a.timings_ms.get(k, 0.0) for a in answers) for a in answers for k in a.timings_ms}
    return Answer(question=question, generator=generated[0] if generated else answers[0].generator,
                  checked=Check(status, reasons), prompt_hash=next((a.prompt_hash for a in answers if a.prompt_hash), ""),
                  timings_ms=timings, index_version=answers[0].index_version,
                  notes=(f"asked in {len(answers)} parts",) + tuple(f"part {i}: {n}" for i, a in enumerate(answers, 1)
                                                                  for n in a.notes), **fields)
