"""The extractive answerer: no LLM; quotes the clause sentences that best match the question.

Sentences are scored by the question's content words they contain (longer words count more, so
"科技型中小企业" outweighs "企业"); a word in the clause's breadcrumb counts for each of its sentences,
since the heading says what they are about. Figures earn a bonus when the question asks for a number.

The answer opens with what was asked (qa/direct.py: 可以/不可以, 有/没有, the figure with its unit;
the units that lead for who-questions), then quotes. Quotes are the document's sentences exactly
as written (wrapped lines are already joined in the clause text; nothing is appended), introduced
by the document's short name; the full title and breadcrumb are the source card's. A quote that is
only a heading ("2.贯彻落实…政策。") goes on with the sentences under it, and a question asking for
an enumeration (哪些) gets the whole clause; when the clause is a heading over child clauses or
label lines ("3、创业租金补贴" + "补贴标准：…"), those lines of the same item are quoted and cited
instead. It is fast (no model) and is the fallback whenever a generator fails or its answer fails
the check.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from ingest.records import Clause, DocMeta, Hit
from policyqa.text import CN_NUM, close_stray_spaces, normalize, split_sentences
from qa.direct import TIME, asks_money, figures, lead, money
from qa.intent import ASKS_LIST, ASKS_WHEN, asks_figure, asks_who
from qa.words import pattern

_TAG = re.compile(r"[(（](?:牵头单位[:：][^()（）]*|[^()（）]*(?:牵头|负责)[^()（）]*)[)）]")
HEADING = re.compile(rf"(?:[(（][{CN_NUM}\d]+[)）]|[{CN_NUM}\d]+[、.．])\s*[^。；，,：:]{{0,24}}。?|[^。；，,]{{0,24}}[：:]")
QUOTE_CHARS = 300  # a whole-clause quote is cut after the sentence that passes this length


def sentences(text: str) -> list[str]:
    """Clause text cut into sentences (responsibility tags removed, whitespace trimmed)."""
    return [s for s in split_sentences(_TAG.sub("", text)) if len(s) >= 4]


def is_heading(sentence: str) -> bool:
    """A numbered heading ("3、创业租金补贴", "(二)加强…") or a lead-in ("补贴条件：") with no statement of its own."""
    return bool(HEADING.fullmatch(sentence.strip()))


_LABEL = re.compile(rf"(?:[(（][{CN_NUM}\d]+[)）]|[{CN_NUM}\d]+[、.．])?\s*([^：:，,。；;]{{2,10}})[：:]")


@dataclass(frozen=True)
class Query:
    """What sentences are scored against: the question's content terms, whether it asks for a figure,
    and the units of the figures it states ("62岁" → 岁: a sentence with an age limit is about it)."""

    terms: tuple[str, ...]
    wants_figure: bool
    units: tuple[str, ...] = ()
    weights: tuple[tuple[str, float], ...] = ()  # term → how distinctive it is among the hits (default 1)
    wants_time: bool = False  # a date or a time limit is asked (什么时候, 截止日期)

    @classmethod
    def of(cls, question: str, terms: list[str] | tuple[str, ...]) -> "Query":
        """The query of `question` with its content `terms`."""
        stated = [f for f in figures(question) if not re.fullmatch(r"\D*\d{4}年\D*", f)]  # 2020年 is a date
        units = tuple(dict.fromkeys(re.sub(r"^\D*[\d.]+\s*", "", f)[-1:] for f in stated))
        return cls(tuple(terms), asks_figure(question), units, wants_time=bool(ASKS_WHEN.search(question)))

    def score(self, sentence: str, context: str = "") -> float:
        """How well one sentence matches: the length-weighted terms it (or its breadcrumb `context`)
        contains, more for a figure when one is asked, for a figure in a unit the question states, and
        for a label line whose label the question names ("初核机构：…" for "…的初核机构是哪个单位")."""
        s = normalize(sentence).lower()
        around = normalize(context).lower()
        found = {t for t in self.terms if t in s or t in around}
        # A word found inside a longer word that is found counts once ("科研院所", not also "科研", "院所").
        weight = dict(self.weights)
        score = sum(len(t) ** 1.5 * weight.get(t, 1.0) for t in found if not any(t != o and t in o for o in found))
        if self.wants_figure and figures(s):
            score *= 1.5
            if _names_figure(s, found):
                score *= 1.5
        if self.wants_time and TIME.search(s):  # a sentence stating no time cannot answer a when-question
            score *= 2.0
        if self.units and any(f[-1:] in self.units for f in figures(s)):
            score *= 1.5
        label = _LABEL.match(s)
        if label and _covered(label.group(1), self.terms):
            score *= 1.5
        return score


def _names_figure(sentence: str, found: set[str]) -> bool:
    """A word asked about is what the sentence's figure is: "…保障标准为每人每月1309元", "补贴：最高50万元",
    not a base another figure is reckoned from ("…认定标准按保障标准的1.5倍确定，为…1963.5元")."""
    return any(re.search(re.escape(t) + r"[^，,。；;：:为是]{0,6}(?:为|是|达到|：|:)[^，,。；;]{0,8}?\d", sentence)
               for t in found if len(t) >= 2)


def asked_label(text: str, terms: Sequence[str]) -> str:
    """The first label line of `text` whose label the question's `terms` name whole ("初核机构：…" for
    "…的初核机构是哪个单位"), or ""."""
    for line in normalize(text).lower().split("\n"):
        label = _LABEL.match(line.strip())
        if label and _covered(label.group(1), tuple(terms)):
            return label.group(1)
    return ""


def _covered(label: str, terms: tuple[str, ...]) -> bool:
    """Every character of `label` lies in a question term found in it."""
    hit = [False] * len(label)
    for t in terms:
        start = label.find(t) if t else -1
        while start >= 0:
            hit[start:start + len(t)] = [True] * len(t)
            start = label.find(t, start + 1)
    return all(hit)


def sentence_score(sentence: str, terms: list[str], wants_figure: bool, context: str = "") -> float:
    """How well one sentence matches the question's content terms (a term in `context`, the clause's
    breadcrumb, counts too)."""
    return Query(tuple(terms), wants_figure).score(sentence, context)


def brief_name(meta: DocMeta | None, clause: Clause) -> str:
    """What an answer sentence calls a document: its short name, a short title, or its region."""
    if meta and meta.aliases:
        return min(meta.aliases[:2], key=len)
    if len(clause.doc_title) <= 18:
        return f"《{clause.doc_title}》"
    return clause.region or (meta.region if meta else "") or "原文"


@dataclass(frozen=True)
class Pick:
    """A chosen sentence: which hit it came from (0-based) and its score."""

    hit: int
    sentence: str
    score: float


def best_sentences(question: str, terms: list[str], hits: list[Hit], *, per_clause: int = 2, limit: int = 3) -> list[Pick]:
    """The best sentences across the hits, at most `per_clause` per clause, ordered by hit rank."""
    query = Query.of(question, terms)
    picks: list[Pick] = []
    for i, hit in enumerate(hits):
        # The breadcrumb helps choose the clause (best_clause), not its sentence: it is the same for all.
        scored = sorted(((query.score(s), s)
                         for s in sentences(hit.clause.text)), key=lambda x: -x[0])
        picks += [Pick(i, s, sc) for sc, s in scored[:per_clause] if sc > 0]
    picks.sort(key=lambda p: -p.score)
    # Keep sentences that match at least 60% as well as the best one: quotes, not a dump.
    chosen = [p for p in picks[:limit] if p.score >= 0.6 * picks[0].score] if picks else []
    return sorted(chosen, key=lambda p: (p.hit, -p.score))


def responsibility_line(hit: Hit, n: int, name: str = "") -> str:
    """'由市科技局牵头，市财政局配合（原文标注…）[n]。' from the parsed fields and the tag as written
    (lead units 牵头, cooperating units 配合, other responsible units 分工负责), after `name` if given."""
    c = hit.clause
    if not c.departments:
        return ""
    raw = "".join(c.tags)
    shared = [u for u in c.departments if u not in c.lead and u not in c.cooperating]
    parts = [f"{'、'.join(units)}{role}" for units, role in ((c.lead, "牵头"), (shared, "分工负责"),
                                                              (c.cooperating, "配合")) if units]
    line = "由" + "，".join(parts)
    return f"{f'{name}：' if name else ''}{line}{f'（原文标注{raw}）' if raw else ''}[{n}]。"


def clause_quote(hit: Hit, n: int, limit: int = QUOTE_CHARS, *, name: str = "") -> str:
    """The whole clause quoted (for questions that name a clause number), after `name` if given."""
    body = " ".join(close_stray_spaces(hit.clause.text).split())
    quote = f"“{body[:limit]}{'…' if len(body) > limit else ''}”[{n}]"
    return f"{name}：{quote}" if name else quote


RANK_WEIGHT = (1.0, 0.8, 0.65)  # how far a lower-ranked clause's better sentence may outweigh retrieval order


def best_clause(question: str, terms: list[str], hits: list[Hit], rows: list[int], *, duties: bool = False) -> int | None:
    """Of the hits at `rows` (their first three), the one whose best sentence, weighted by rank, matches
    best; with `duties`, clauses carrying a responsibility tag come first (of a split provision, the part
    where the tag is written)."""
    query = replace(Query.of(question, terms), weights=distinctiveness(terms, hits))
    best, best_key = None, None
    for rank, i in enumerate(rows[: len(RANK_WEIGHT)]):
        c = hits[i].clause
        top = max((query.score(s, c.path_text) for s in sentences(c.text)), default=0.0)
        key = (bool(c.departments) if duties else True, top * RANK_WEIGHT[rank])
        if top > 0 and (best_key is None or key > best_key):
            best, best_key = i, key
    if duties and best is not None and not hits[best].clause.tags:
        # The part of a split provision where its tag is written, if the search found it too.
        own = hits[best].clause.id.split("~")[0]
        written = [i for i in rows if hits[i].clause.tags and hits[i].clause.id.split("~")[0] == own]
        best = written[0] if written else best
    return best


def distinctiveness(terms, hits: list[Hit]) -> tuple[tuple[str, float], ...]:
    """Each term's weight among the hits: 1 + ln(hits / hits containing it). A word every candidate
    clause holds (高校 in a corpus about universities) tells them apart less than one only a few hold
    (兼职), so the clause that has the rare word the question asks about wins a tie on common ones."""
    texts = [normalize(h.clause.text).lower() for h in hits]
    out = []
    for t in dict.fromkeys(terms):
        df = sum(t in x for x in texts)
        if df:
            out.append((t, 1.0 + math.log(len(texts) / df)))
    return tuple(out)


def family(clause: Clause, clauses: Sequence[Clause]) -> list[Clause]:
    """The other clauses of `clause`'s item: its own parts and children, and the parts of the item it
    sits in ("3~2" and "3.(1)" for "3.(3)"), in document order."""
    parent = clause.path[:-1] if len(clause.path) > 1 else clause.path
    own = clause.path
    return [c for c in clauses if c.doc_id == clause.doc_id and c.id != clause.id
            and (c.path == parent or c.path[: len(own)] == own)]


def extractive_answer(question: str, terms: list[str], hits: list[Hit], *, exact: bool = False,
                      docs: list[str] | tuple = (), metas: Mapping[str, DocMeta] | None = None,
                      clauses: Sequence[Clause] = ()) -> tuple[str, list[Hit]]:
    """Answer text opening with what was asked and quoting the best sentences of the best clause with
    [n] markers, and the clauses it cites in marker order: one clause (or the lines of its item that
    state what is asked), or one per document when the question names several `docs` (comparisons).

    `exact`: the first hit is the clause the question names by number; it is quoted whole.
    `metas`: the documents, for their short names; `clauses`: the corpus, for the lines of an item.
    """
    metas = metas or {}
    def name(c: Clause) -> str:
        return brief_name(metas.get(c.doc_id), c)

    if exact and hits:
        named = same_number(hits)
        if len(named) == 1:
            return clause_quote(hits[0], 1, name=name(hits[0].clause)), [hits[0]]
        # The question names a number several documents have and no document: each one's, never a guess.
        label = hits[0].clause.id.split("#", 1)[1].split("~")[0].split(".")[-1]
        shown = "逐一列出" if len(named) <= 3 else "列出最相关的3份"
        lines = [f"多份文件都有{label}，问题未指明是哪份文件，{shown}（问题写明文件名即可只看一份）："]
        lines += [clause_quote(h, n, name=f"《{h.clause.doc_title}》") for n, h in enumerate(named[:3], start=1)]
        return "\n".join(lines), named[:3]
    duties = asks_who(question)
    if duties and hits and pattern("issuer_verbs").search(question):
        head = issuer_lines(hits[0].clause.doc_id, metas, clauses)
        if head:
            return f"{name(head[0])}：“{joined(*head)}”[1]", [Hit(head[0], hits[0].score, hits[0].rank)]
    groups = [[i for i, h in enumerate(hits) if h.clause.doc_id == d] for d in docs] if len(docs) > 1 else []
    chosen = [best_clause(question, terms, hits, rows, duties=duties) for rows in groups if rows]
    if not any(i is not None for i in chosen):
        chosen = [best_clause(question, terms, hits, list(range(len(hits))), duties=duties)]
    lines: list[str] = []
    cited: list[Hit] = []
    quoted: list[str] = []

    def number(clause: Clause, hit: Hit) -> int:
        ids = [h.clause.id for h in cited]
        if clause.id not in ids:
            cited.append(Hit(clause, hit.score, hit.rank))
            ids.append(clause.id)
        return ids.index(clause.id) + 1

    for i in (i for i in chosen if i is not None):
        if duties and hits[i].clause.departments:
            lines.append(responsibility_line(hits[i], number(hits[i].clause, hits[i])))
        for clause, sents in quote_parts(question, terms, hits[i].clause, clauses):
            lines.append(f"{name(clause)}：“{joined(clause, sents)}”[{number(clause, hits[i])}]")
            quoted.append("".join(sents))
    query = Query.of(question, terms)
    opening = lead(question, terms, sorted(quoted, key=lambda s: -query.score(s)))
    return "\n".join(([opening] if opening else []) + lines), cited


def same_number(hits: list[Hit]) -> list[Hit]:
    """The leading hits that carry the first hit's clause number ("第三条"), one per document, a copy of
    a clause already listed (the same text in a second file of one document) left out."""
    own = hits[0].clause.id.split("#", 1)[1].split("~")[0].split(".")[-1]
    out: list[Hit] = []
    for h in hits:
        if h.clause.id.split("#", 1)[1].split("~")[0].split(".")[-1] != own:
            break
        if all(h.clause.doc_id != o.clause.doc_id and normalize(h.clause.text).split() != normalize(o.clause.text).split()
               for o in out):
            out.append(h)
    return out


def joined(clause: Clause, picked: list[str]) -> str:
    """The picked sentences of `clause` as one quote: adjacent ones run on, a gap is marked "……"."""
    order = sentences(clause.text)
    out, last = "", None
    for sentence in picked:
        at = order.index(sentence) if sentence in order else None
        out += ("……" if out and (at is None or last is None or at != last + 1) else "") + sentence
        last = at
    return close_stray_spaces(out)


def issuer_lines(doc_id: str, metas: Mapping[str, DocMeta], clauses: Sequence[Clause]) -> tuple[Clause, list[str]] | None:
    """The head (前言) of a document and its sentences naming the issuer (or its 来源/发布 line), for
    "这份文件是哪个部门发布的"."""
    meta = metas.get(doc_id)
    for c in clauses:
        if c.doc_id == doc_id and c.kind == "preamble":
            named = [s for s in sentences(c.text)
                     if (meta and meta.issuer and normalize(meta.issuer) in normalize(s)) or pattern("issuer_verbs").search(s)]
            return (c, named) if named else None
    return None


def quote_parts(question: str, terms: list[str], clause: Clause, clauses: Sequence[Clause]) -> list[tuple[Clause, list[str]]]:
    """What to quote of `clause`, as (clause, its sentences in document order) pairs: the best
    sentences; a heading with what follows it; the whole clause for an enumeration; or the lines of
    the same item that state what the clause only heads (a figure asked for, a heading-only clause)."""
    query = Query.of(question, terms)
    sents = sentences(clause.text)
    picks = [p.sentence for p in best_sentences(question, terms, [Hit(clause, 0.0, 1)], per_clause=2, limit=2)]
    over = [c for c in family(clause, clauses) if c.path[: len(clause.path)] == clause.path]
    headed_only = bool(over) and all(is_heading(s) for s in sents)
    lacks_figure = query.wants_figure and not any(_states(s, question) for s in picks)
    stating = [s for s in sents if _states(s, question) and not is_heading(s)]
    if lacks_figure and stating:  # the figure is in another line of this clause ("补贴标准：10000元。")
        picks.append(max(stating, key=lambda s: query.score(s, clause.path_text)))
        lacks_figure = False
    if headed_only or lacks_figure:
        floor = 0.0 if headed_only else 0.6 * max((query.score(s, clause.path_text) for s in picks), default=0.0)
        moved = _item_lines(question, terms, clause, clauses, figure=lacks_figure, floor=floor)
        if moved:
            return moved
    if ASKS_LIST.search(question) or any(is_heading(s) for s in picks):
        return [(clause, _whole(sents, picks))]
    return [(clause, _full(sents, picks))]


def _full(sents: list[str], picks: list[str]) -> list[str]:
    """The picked sentences in document order, each carried on to the end of its whole sentence (a
    part ending in ；/; goes on to the next 。！？), at most QUOTE_CHARS past the first."""
    keep: list[int] = []
    for i, s in enumerate(sents):
        if s in picks and i not in keep:
            keep.append(i)
            while keep[-1] + 1 < len(sents) and sents[keep[-1]].rstrip("”’\"')）").endswith(("；", ";")) \
                    and sum(len(sents[k]) for k in keep) < QUOTE_CHARS:
                keep.append(keep[-1] + 1)
    return [sents[k] for k in sorted(set(keep))]


def _states(sentence: str, question: str) -> bool:
    """The sentence states a figure of the kind asked: an amount for a money question, else any."""
    found = figures(sentence)
    return any(money(f) for f in found) if asks_money(question) else bool(found)


def _whole(sents: list[str], picks: list[str]) -> list[str]:
    """The clause's sentences from its first pick on (all of them for a heading), cut after QUOTE_CHARS."""
    start = min((sents.index(p) for p in picks if p in sents), default=0)
    out: list[str] = []
    for s in sents[start:]:
        out.append(s)
        if sum(map(len, out)) >= QUOTE_CHARS:
            break
    return out


def _item_lines(question: str, terms: list[str], clause: Clause, clauses: Sequence[Clause], *,
                figure: bool, floor: float) -> list[tuple[Clause, list[str]]]:
    """The best-matching lines of the clause's item (with a figure when `figure`, scoring above
    `floor`), one clause, or every child clause for an enumeration under a heading."""
    kin = family(clause, clauses)
    if not figure and ASKS_LIST.search(question):
        under = [c for c in kin if c.path[: len(clause.path)] == clause.path and sentences(c.text)]
        return [(c, sentences(c.text)) for c in under][:8]
    query = Query.of(question, terms)
    best: tuple[float, Clause | None, list[str]] = (floor, None, [])
    for c in kin:
        picks = [p.sentence for p in best_sentences(question, terms, [Hit(c, 0.0, 1)], per_clause=2, limit=2)
                 if not is_heading(p.sentence) and (not figure or _states(p.sentence, question))]
        score = max((query.score(s, c.path_text) for s in picks), default=0.0)
        if score > best[0]:
            best = (score, c, _full(sentences(c.text), picks))
    return [(best[1], best[2])] if best[1] is not None else []
