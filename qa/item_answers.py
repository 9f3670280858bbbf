"""Answers from support items: "我们是刚认定的高企，能拿多少奖励？" and "申报材料要交到哪个部门？".

A step of the answer chain (qa/chain.py calls it before its refusal rules): when the question asks for
an amount or a handling unit and an item of the documents it may concern matches it, the answer states
the item's amount (cap, rate, per-unit basis) or unit and quotes the clause, cited. An item whose
amount the document does not state is answered by saying so — a refusal that quotes what the text
does say — when the item's own name carries the question (a third of its content words); an item
that matched only through its document's title and quote is left to the clause search and the
amount rule of qa/refusal.py, which read the label lines and siblings where a figure often is. The document's title is not matched: every item of a document shares it. It stays out of the way otherwise: questions naming a place no document covers are left to
the refusal rules, and an item matches only when it holds at least half of the question's content
words (longer words weigh more) or is a top retrieval hit holding a third of them. A handling-unit
answer gives way when the best clause has a label line naming what is asked ("初核机构：…") that the
item's own text lacks.
"""

from __future__ import annotations

from typing import Sequence

from ingest.items import SupportItem
from ingest.records import Hit
from policyqa.vocab import groups
from policyqa.text import normalize, split_sentences
from qa.answer import Answer, Citation
from qa.direct import figures, money
from qa.extractive import asked_label, brief_name
from qa.intent import asks_figure, asks_yes_no

MIN_SHARE = 0.5
MIN_SHARE_HIT = 0.34


def asks(question: str, group: str) -> bool:
    """True when the question uses a word of `group` of policyqa/data/item_questions.txt."""
    q = normalize(question)
    return any(w in q for w in groups("item_questions").get(group, ()))


def amount_phrase(item: SupportItem) -> str:
    """The amount in words: "最高20万元（按0.5%计）", "每件800元", or "文件未写明具体金额"."""
    a = item.amount
    if a.value is None:
        return "文件未写明具体金额"
    if a.unit == "%" and a.ratio is None:
        return a.text or f"{a.value:g}%"  # a rate reads only with its base: 按机器人购置额的10%
    value = f"{a.value:g}{a.unit}"
    text = ("最高" if a.max else "") + (a.per or "") + value
    return text + (f"（按{a.ratio:g}%计）" if a.ratio is not None else "")


def _share(terms: Sequence[str], text: str) -> float:
    content = [t for t in dict.fromkeys(terms) if len(t) >= 2]
    total = sum(len(t) ** 1.5 for t in content)
    return sum(len(t) ** 1.5 for t in content if t in text) / total if total else 0.0


def best_items(terms: Sequence[str], hits: Sequence[Hit], items: Sequence[SupportItem],
               doc_ids: Sequence[str] = (), titles: dict | None = None) -> list[SupportItem]:
    """The items that match the question best (several only when they share one quote), or []. Items of
    the documents the question names (`doc_ids`) come first; others need a larger share of its words."""
    ranks = {h.clause.id: h.rank for h in hits}
    titles = titles or {}
    scored = []
    for item in items:
        named = not doc_ids or item.doc_id in doc_ids
        text = normalize(" ".join((titles.get(item.doc_id, ""), item.name, *item.conditions, *item.applicant,
                                   item.quote)))
        share = _share(terms, text)
        rank = ranks.get(item.clause_id)
        floor = MIN_SHARE if named else MIN_SHARE + 0.1
        if share >= floor or rank is not None and rank <= 3 and share >= MIN_SHARE_HIT:
            scored.append((share + (0.2 / rank if rank else 0.0) + (0.3 if doc_ids and named else 0.0), item))
    if not scored:
        return []
    scored.sort(key=lambda x: -x[0])
    top = scored[0][1]
    return [i for s, i in scored if i.quote == top.quote and s >= scored[0][0] - 1e-9] or [top]


def answer_from_items(question: str, standalone: str, terms: Sequence[str], hits: Sequence[Hit],
                      items: Sequence[SupportItem], clauses: dict, *, doc_ids: Sequence[str] = (),
                      unknown_place: str | None = None, titles: dict | None = None,
                      metas: dict | None = None) -> Answer | None:
    """The item answer to a question, or None to let the chain answer it (see the module docstring)."""
    department = asks(standalone, "asks_department") and not asks(standalone, "asks_responsibility")
    # "能拿到资助吗" asks whether, not how much: the clause answer gives the 可以/不可以
    amount = asks(standalone, "asks_amount") and (asks_figure(standalone) or not asks_yes_no(standalone))
    if unknown_place or not (department or amount) or not items:
        return None
    found = best_items(terms, hits, items, doc_ids, titles)
    if not found:
        return None
    item = found[0]
    if department and item.department:
        where = clauses.get(item.department_clause) or clauses.get(item.clause_id)
        own = normalize(" ".join((item.name, item.quote, where.text if where else "")))
        label = asked_label(hits[0].clause.text, terms) if hits else ""
        if label and hits[0].clause.id not in {item.clause_id, item.department_clause} and label not in own:
            return None  # the best clause labels what is asked ("初核机构：…") and the item does not: it answers
        text = f"{item.name}：受理（报送）部门为{item.department}。"
        cites = [Citation(1, where, ())] if where else []
        return Answer(question=question, text=text + (f"原文：“{_sentence_with(where.text, item.department)}”[1]"
                                                        if where else ""), citations=tuple(cites),
                      generator="items")
    clause = clauses.get(item.clause_id)
    if clause is None:
        return None
    if item.amount.value is None:
        if _share(terms, normalize(item.name)) < MIN_SHARE_HIT:
            return None  # matched on its document's words, not its own: the clause search decides
        return Answer(question=question, text=f"现有文件没有写明“{item.name}”的具体金额。原文：“{item.quote}”",
                      refused=True, related=tuple(hits[:3]), generator="items")
    if hits and hits[0].clause.id not in {i.clause_id for i in found} and _states_money(hits[0].clause.text):
        return None  # the best clause states an amount of its own: the clause answer quotes it
    name = brief_name(metas.get(clause.doc_id) if metas else None, clause)  # title and path are the source card's
    lines = [f"{name}：{i.name}，{amount_phrase(i)}。" for i in found[:3]]
    lines.append(f"原文：“{item.quote}”[1]")
    return Answer(question=question, text="\n".join(lines), citations=(Citation(1, clause, (item.quote,)),),
                  generator="items")


def _states_money(text: str) -> bool:
    """Whether `text` states an amount of money (a figure in 元, 万元 …)."""
    return any(money(f) for f in figures(text))


def _sentence_with(text: str, needle: str) -> str:
    """The sentence of `text` that names `needle` (the whole text if none does)."""
    for sentence in split_sentences(text):
        if needle in normalize(sentence).replace(" ", ""):
            return sentence.strip()
    return text.strip()


def item_step(turn, policy) -> Answer | None:
    """The chain's item step: `turn` is the chain's per-question state (question, standalone, terms,
    hits, doc_ids, snapshot), `policy` its refusal rules (for the place rule)."""
    snap = turn.snapshot
    clauses = snap.derived("clauses_by_id", lambda: {c.id: c for c in snap.clauses})
    titles = {d: m.title for d, m in snap.documents.items()}
    return answer_from_items(turn.question, turn.standalone, turn.terms, turn.hits, snap.items, clauses,
                             doc_ids=turn.doc_ids, unknown_place=policy.unknown_place(turn.standalone), titles=titles,
                             metas=snap.documents)
