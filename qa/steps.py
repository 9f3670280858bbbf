"""The typed steps of the answer chain; each takes a Turn and returns a new one.

    rewrite   a follow-up rewritten to stand alone (qa/followup.py)
    retrieve  hybrid search over the turn's snapshot (index/search.py)
    plan      whole list → refuse → extractive or generate (with the generator's messages)
"""

from __future__ import annotations

import time
from dataclasses import replace

from index.abbreviations import spell_out
from index.search import Retriever, check_question
from qa import context
from qa.answer import Answer
from qa.followup import rewrite
from qa.item_answers import item_step
from qa.listing import list_clauses, plan_listing
from qa.prompts import PromptLibrary
from qa.extractive import same_number
from qa.replies import listing_reply, refusal
from qa.turn import Turn, place_index, refusal_policy


def rewrite_step(turn: Turn, retriever: Retriever) -> Turn:
    """Set `standalone`: the question, or the follow-up rewritten with what the history names.
    QuestionError when it is empty, too long or has no words."""
    snap = turn.snapshot
    standalone = check_question(rewrite(turn.question.strip(), list(turn.history), snap.documents, snap.units),
                                retriever.max_question_chars)
    turn = replace(turn, standalone=standalone)
    if standalone != turn.question.strip():
        turn = turn.noted(f"follow-up rewritten: {standalone}")
    spelled, pairs = spell_out(standalone, snap)  # 低保 → 低保（最低生活保障）, where the corpus spells it out
    if pairs:
        turn = replace(turn, standalone=spelled).noted(*(f"abbreviation: {a} = {p}" for a, p in pairs))
    return turn


def retrieve_step(turn: Turn, retriever: Retriever, k: int) -> Turn:
    """Set `hits` (top `k`), `terms` and the notes of the search; NotFoundError for an unknown doc or unit filter."""
    t0 = time.perf_counter()
    result = retriever.search(turn.standalone, k=k, doc=turn.doc, department=turn.department, snapshot=turn.snapshot)
    places, _ = place_index(turn.snapshot)
    terms = tuple(t for t in turn.snapshot.tokenizer.tokens(turn.standalone) if t not in places)
    turn = replace(turn, hits=tuple(result.hits), route=result.route, exact_ids=result.exact,
                   terms=terms).noted(*result.notes)
    return turn.timed("retrieve", (time.perf_counter() - t0) * 1000)


def plan_step(turn: Turn, retriever: Retriever, prompts: PromptLibrary, *, context_clauses: int,
              context_chars: int) -> Turn:
    """Choose how to answer: a whole list (answer set), a refusal (answer set), or "extractive" /
    "generate" (with `shown` and `messages` for the generator)."""
    snap = turn.snapshot
    r = turn.route
    doc_ids = tuple(retriever.resolve_docs(turn.doc, snap) or r.doc_ids)
    turn = replace(turn, doc_ids=doc_ids)
    outside = refusal_policy(snap).outside(turn.standalone)  # a place no document names: no list either
    plan = None if outside else plan_listing(turn.standalone, list(r.departments), list(doc_ids), list(turn.terms),
                                             place_index(snap)[0])
    items = list_clauses(plan, snap.clauses, list(doc_ids) or None) if plan else []
    if items:
        return replace(turn, plan="list", answer=listing_reply(turn, plan, items))
    if (found := item_step(turn, refusal_policy(snap))) is not None:  # amounts and units from support items
        return replace(turn, plan="items", answer=found)
    decision = refusal_policy(snap).decide(turn.standalone, list(turn.terms), list(turn.hits), exact=turn.exact)
    if decision:
        answer: Answer = refusal(turn, decision.message, turn.generator)
        return replace(turn, plan="refuse", answer=answer).noted(f"refused ({decision.rule})")
    if turn.generator == "extractive":
        return replace(turn, plan="extractive")
    if turn.exact and len(same_number(list(turn.hits))) > 1:  # "第三条" of several documents: each quoted
        return replace(turn, plan="extractive").noted("clause number in several documents: quoted, not generated")
    shown = context.shown_clauses(turn, context_clauses)
    return replace(turn, plan="generate", shown=shown, messages=context.messages(prompts, turn, shown, context_chars),
                   grammar=context.grammar(turn, shown, context_chars))
