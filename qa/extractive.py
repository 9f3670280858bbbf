"""The extractive answerer: no LLM; quotes the clause sentences that best match the question.

Sentences are scored by the question's content words they contain (longer words count more, so
"科技型中小企业" outweighs "企业"), with a bonus for figures when the question asks for a number.
Responsibility questions get the parsed lead and responsible units stated outright. It is fast
(no model) and is the fallback whenever a generator fails or its answer fails the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policyqa.text import normalize, split_sentences
from ingest.records import Hit
from qa.intent import asks_figure, asks_who

_TAG = re.compile(r"[(（](?:牵头单位[:：][^()（）]*|[^()（）]*(?:牵头|负责)[^()（）]*)[)）]")
_FIGURE = re.compile(r"\d+(?:\.\d+)?\s*(?:%|％|家|个|件|户|项|名|人|万元|亿元|元|万|亿|倍|年)")


def sentences(text: str) -> list[str]:
    """Clause text cut into sentences (responsibility tags removed, whitespace trimmed)."""
    return [s for s in split_sentences(_TAG.sub("", text)) if len(s) >= 4]


def sentence_score(sentence: str, terms: list[str], wants_figure: bool) -> float:
    """How well one sentence matches the question's content terms."""
    s = normalize(sentence).lower()
    score = sum(len(t) ** 1.5 for t in set(terms) if t in s)
    if wants_figure and _FIGURE.search(s):
        score *= 1.5
    return score


@dataclass(frozen=True)
class Pick:
    """A chosen sentence: which hit it came from (0-based) and its score."""

    hit: int
    sentence: str
    score: float


def best_sentences(question: str, terms: list[str], hits: list[Hit], *, per_clause: int = 2, limit: int = 3) -> list[Pick]:
    """The best sentences across the hits, at most `per_clause` per clause, ordered by hit rank."""
    wants_figure = asks_figure(question)
    picks: list[Pick] = []
    for i, hit in enumerate(hits):
        scored = sorted(((sentence_score(s, terms, wants_figure), s) for s in sentences(hit.clause.text)), key=lambda x: -x[0])
        picks += [Pick(i, s, sc) for sc, s in scored[:per_clause] if sc > 0]
    picks.sort(key=lambda p: -p.score)
    # Keep sentences that match at least 60% as well as the best one: quotes, not a dump.
    chosen = [p for p in picks[:limit] if p.score >= 0.6 * picks[0].score] if picks else []
    return sorted(chosen, key=lambda p: (p.hit, -p.score))


def responsibility_line(hit: Hit, n: int) -> str:
    """'…：由市科技局牵头，市财政局配合（原文：…）[n]。' from the parsed fields and the tag as written
    (lead units 牵头, cooperating units 配合, other responsible units 分工负责)."""
    c = hit.clause
    if not c.departments:
        return ""
    raw = "".join(c.tags)
    shared = [u for u in c.departments if u not in c.lead and u not in c.cooperating]
    parts = [f"{'、'.join(units)}{role}" for units, role in ((c.lead, "牵头"), (shared, "分工负责"),
                                                              (c.cooperating, "配合")) if units]
    line = "由" + "，".join(parts)
    return f"《{c.doc_title}》{c.path_text}：{line}{f'（原文标注{raw}）' if raw else ''}[{n}]。"


def clause_quote(hit: Hit, n: int, limit: int = 300, *, source: bool = True) -> str:
    """The whole clause quoted (for questions that name a clause number), after its document and path
    unless `source` is False."""
    c = hit.clause
    body = " ".join(c.text.split())
    quote = f"“{body[:limit]}{'…' if len(body) > limit else ''}”[{n}]"
    return f"《{c.doc_title}》{c.path_text}：{quote}" if source else quote


RANK_WEIGHT = (1.0, 0.8, 0.65)  # how far a lower-ranked clause's better sentence may outweigh retrieval order


def best_clause(question: str, terms: list[str], hits: list[Hit], rows: list[int], *, duties: bool = False) -> int | None:
    """Of the hits at `rows` (their first three), the one whose best sentence, weighted by rank, matches
    best; with `duties`, clauses carrying a responsibility tag come first."""
    wants_figure = asks_figure(question)
    best, best_key = None, None
    for rank, i in enumerate(rows[: len(RANK_WEIGHT)]):
        top = max((sentence_score(s, terms, wants_figure) for s in sentences(hits[i].clause.text)), default=0.0)
        key = (bool(hits[i].clause.departments) if duties else True, top * RANK_WEIGHT[rank])
        if top > 0 and (best_key is None or key > best_key):
            best, best_key = i, key
    return best


def extractive_answer(question: str, terms: list[str], hits: list[Hit], *, exact: bool = False,
                      docs: list[str] | tuple = ()) -> tuple[str, list[int]]:
    """Answer text quoting the best sentences of the best clause with [n] markers, and the 0-based hits
    it cites: one clause, or one per document when the question names several `docs` (comparisons).

    `exact`: the first hit is the clause the question names by number; it is quoted whole.
    """
    if exact and hits:
        return clause_quote(hits[0], 1), [0]
    duties = asks_who(question)
    groups = [[i for i, h in enumerate(hits) if h.clause.doc_id == d] for d in docs] if len(docs) > 1 else []
    chosen = [best_clause(question, terms, hits, rows, duties=duties) for rows in groups if rows]
    if not any(i is not None for i in chosen):
        chosen = [best_clause(question, terms, hits, list(range(len(hits))), duties=duties)]
    lines: list[str] = []
    cited: list[int] = []
    for i in (i for i in chosen if i is not None):
        cited.append(i)
        n = len(cited)
        if duties and (line := responsibility_line(hits[i], n)):
            lines.append(line)
        c = hits[i].clause
        for pick in best_sentences(question, terms, [hits[i]], per_clause=2, limit=2):
            lines.append(f"《{c.doc_title}》{c.path_text}：“{pick.sentence.rstrip('。；;')}。”[{n}]")
    return "\n".join(lines), cited
