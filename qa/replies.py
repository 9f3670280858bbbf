"""Answers built without a generator, and the citations every answer carries: quoted sentences
(extractive), whole lists (every matching clause, counted), refusals with related clauses.

Only the clauses an answer cites become citations; a refusal carries the nearest clauses as
`related`, never as support.
"""

from __future__ import annotations

from ingest.records import Clause, Hit
from policyqa.text import split_sentences
from qa.answer import Answer, Check, Citation
from qa.check import supporting_sentences
from qa.extractive import brief_name, extractive_answer, is_heading, sentence_score, sentences
from qa.turn import Turn

NOTHING_FOUND = "现有文件中没有找到能回答这个问题的句子。"


def citations(text: str, numbers: list[int], hits: list[Hit] | tuple[Hit, ...]) -> tuple[Citation, ...]:
    """Citation n for each number, with the (at most two) clause sentences that support the answer
    sentences citing it."""
    cites = []
    for n in numbers:
        hit = hits[n - 1]
        own = [s for s in split_sentences(text) if f"[{n}]" in s]
        support = tuple(dict.fromkeys(x for s in own for x in supporting_sentences(hit.clause.text, s)))
        cites.append(Citation(n, hit.clause, support[:2]))
    return tuple(cites)


def refusal(turn: Turn, message: str, generator: str, check: Check = Check(), prompt_hash: str = "") -> Answer:
    """A refusal: `message`, the top three hits as related clauses."""
    return Answer(question=turn.question, text=message, refused=True, related=turn.hits[:3], generator=generator,
                  checked=check, prompt_hash=prompt_hash)


def extractive_reply(turn: Turn, check: Check = Check()) -> Answer:
    """The best matching sentences of the hits, quoted with [n]; a refusal when no sentence matches."""
    snap = turn.snapshot
    text, cited = extractive_answer(turn.standalone, list(turn.terms), list(turn.hits), exact=turn.exact,
                                    docs=list(turn.compared), metas=snap.documents, clauses=snap.clauses)
    if not cited:
        return refusal(turn, NOTHING_FOUND, "extractive", check)
    numbers = list(range(1, len(cited) + 1))
    return Answer(question=turn.question, text=text, citations=citations(text, numbers, cited),
                  generator="extractive", checked=check)


def listing_reply(turn: Turn, plan, items: list[Clause]) -> Answer:
    """Every clause of a whole-list plan (a unit's tasks, or a topic within documents), counted."""
    if plan.kind == "department":
        head = f"{plan.key}{'牵头' if plan.lead_only else '牵头或参与'}的工作共 {len(items)} 项："
    else:
        head = f"涉及“{plan.key}”的条款共 {len(items)} 项："
    lines, cites = [head], []
    terms = list(turn.terms)
    for n, c in enumerate(items, start=1):
        # Best-matching sentence; a bare heading ("(一)新材料") only when nothing else is there.
        best = max(sentences(c.text) or [c.text.strip()],
                   key=lambda s: (sentence_score(s, terms, False), not is_heading(s), len(s)))
        role = ("（牵头）" if plan.key in c.lead else "（参与）") if plan.kind == "department" else ""
        name = brief_name(turn.snapshot.documents.get(c.doc_id), c)
        lines.append(f"{n}. {name}{role}：{best.strip()[:80]}[{n}]")
        cites.append(Citation(n, c, (best.strip(),)))
    return Answer(question=turn.question, text="\n".join(lines), citations=tuple(cites), generator="structured",
                  count=len(items))
