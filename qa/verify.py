"""The checks after generation: a generated answer becomes an Answer only with what its clauses carry.

    the JSON shape (qa/structured.py) worded as text → parse [n] → drop a bare 可以 to a what-question →
    believe "not found" only on weak coverage → attribute unmarked sentences, drop unsupported or stray-place ones → lexical fact check (numbers,
    dates, units, negations; qa/check.py) → add the source wording a reader needs

Whatever fails falls back to the extractive answer (qa/replies.py), with the reasons in `Check`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from index.snapshot import Snapshot
from ingest.departments import parse_tag
from ingest.records import Hit
from policyqa.text import MARKER, marker_numbers, normalize, split_sentences, strip_markers
from qa import structured
from qa.answer import Answer, Check
from qa.check import check_answer, parse_citations
from qa.context import duties
from qa.direct import lead
from qa.extractive import brief_name, clause_quote, quote_parts, responsibility_line
from qa.grounding import best_clause, bigrams, support
from qa.intent import asks_who, asks_yes_no
from qa.replies import citations, extractive_reply, refusal
from qa.turn import Turn, place_index, refusal_policy

# A yes/no word standing alone at the start ("可以，…", "有[1]。"), not the first character of a word ("有效期至…").
_BARE_YES_NO = re.compile(r"^\s*(?:可以|不可以|能|不能|是的|是|不是|会|不会|有|没有)(?:\[\d+\])*(?:[。，,！!]|$)")
_MODEL_DECLINED = re.compile(r"没有找到相关|未找到相关|没有相关规定|无法回答|没有提及|未提及|没有明确")


def checked_reply(turn: Turn, raw: str, prompt_hash: str) -> Answer:
    """The generated text `raw` for `turn`, checked against the clauses it was shown (`turn.shown`)."""
    hits = turn.shown
    texts = [h.clause.text + duties(h.clause) for h in hits]  # what the model was shown
    raw, worded = _worded(raw, turn)
    if raw is None:
        return extractive_reply(turn, Check("fallback", worded))
    text, _ = parse_citations(raw.strip(), len(hits))
    if not asks_yes_no(turn.standalone):
        # A small model opens who/what answers with 可以; that is not an answer to them. If nothing
        # else is left, the fallback below quotes the clauses instead.
        text = _BARE_YES_NO.sub("", text, count=1)
    if _MODEL_DECLINED.search(text) and len(text) < 40:
        # The model says the clauses do not answer. Believe it only where the clauses cover the
        # question weakly; otherwise quote them (false refusals count as failures too).
        coverage, _ = refusal_policy(turn.snapshot).coverage(list(turn.terms), list(turn.hits))
        if coverage < 0.75:
            return refusal(turn, "现有文件中没有找到相关规定。", turn.generator, Check("declined"), prompt_hash)
        return extractive_reply(turn, Check("fallback", (f"{turn.generator} declined but the clauses match",)))
    text, ungrounded = ground(text, texts, turn)
    text, numbers = parse_citations(text, len(hits))
    # Figures the user stated are premises, not claims (a false premise is refused earlier).
    premise = f"\n{turn.standalone}"
    result = check_answer(text, {n: texts[n - 1] + premise for n in numbers}, turn.snapshot.units,
                          turn.snapshot.vocabulary.unit_aliases)
    kept, kept_numbers = parse_citations(result.kept_text, len(hits))
    dropped = worded + tuple(r for _, r in result.dropped) + ungrounded
    if len(strip_markers(kept).strip("。，,. \n")) < 2 or not kept_numbers:
        return extractive_reply(turn, Check("fallback", dropped or ("no citation",)))
    kept, kept_numbers = with_sources(kept, kept_numbers, turn)
    if not asks_yes_no(turn.standalone):  # the figure asked for first, as the extractive answer opens
        opening = lead(turn.standalone, list(turn.terms), [strip_markers(kept).split("\n")[0]])
        kept = opening + kept if opening and not kept.startswith(opening.rstrip("。")) else kept
    return Answer(question=turn.question, text=kept, citations=citations(kept, kept_numbers, hits),
                  generator=turn.generator, checked=Check("dropped", dropped) if dropped else Check("passed"),
                  prompt_hash=prompt_hash)


def _worded(raw: str, turn: Turn) -> tuple[str | None, tuple[str, ...]]:
    """Plain text as it is, or the JSON shape (qa/structured.py) worded as answer text, with the
    reason its yes/no word was left out; (None, reasons) when it cites a clause it was not shown."""
    reply = structured.parse(raw, len(turn.shown))
    if reply is None:
        return raw, ()
    if not 1 <= reply.clause <= len(turn.shown):
        return None, (f"cites clause {reply.clause}, not one of 1..{len(turn.shown)}",)
    # The code words what the quote settles (qa/direct.py), as the extractive answer does: the yes/no
    # word from the quoted phrase's stance, the figure of the kind asked. A model's own 可以 to a
    # 有没有 or 会不会 question, or to a clause that only lists measures, is not an answer.
    yes_no = asks_yes_no(turn.standalone)
    opening = lead(turn.standalone, list(turn.terms), [reply.quote]).rstrip("。")
    return structured.render(replace(reply, answer=opening if yes_no else ""), yes_no), ()


def ground(text: str, texts: list[str], turn: Turn) -> tuple[str, tuple[str, ...]]:
    """Attribute unmarked sentences to their best clause; drop sentences the clauses do not carry,
    and sentences that name a place or document none of their clauses comes from or mentions.
    Returns the kept text and one reason per dropped sentence."""
    out, dropped, question = [], [], turn.standalone
    for sentence in split_sentences(text):
        cited = marker_numbers(sentence)
        body = strip_markers(sentence).strip()
        if not bigrams(body):  # nothing but framing: "依据条款[1]和[2]。"
            continue
        if cited:
            score = max(support(body, texts[n - 1], question) for n in cited)
        else:
            best, score = best_clause(body, texts, question)
            cited = [best + 1]
            sentence = body.rstrip("。；;") + f"[{best + 1}]。"
        if score < 0.5:
            dropped.append(f"'{body[:20]}' is not in the cited clause")
            continue
        if stray := stray_place(body, [turn.shown[n - 1] for n in cited], turn.snapshot):
            dropped.append(f"'{body[:20]}' names {stray}, which its clause is not from")
            continue
        out.append(sentence)
    return "".join(out), tuple(dropped)


def stray_place(sentence: str, cited: list[Hit], snap: Snapshot) -> str:
    """A place or document name in `sentence` that belongs to none of the cited clauses' documents
    and is not in their text ("朔州的规定是…[2]" where [2] is 阳泉's clause), or ""."""
    _, places = place_index(snap)
    s = normalize(sentence)
    docs = {h.clause.doc_id for h in cited}
    texts = "".join(normalize(h.clause.text) for h in cited)
    taken = [False] * len(s)
    for name, named_docs in places.items():  # longest names first: 阳泉市 before 阳泉
        start = s.find(name)
        while start >= 0:
            span = range(start, start + len(name))
            if not any(taken[i] for i in span):
                for i in span:
                    taken[i] = True
                if not named_docs & docs and name not in texts:
                    return name
            start = s.find(name, start + 1)
    return ""


def with_sources(text: str, numbers: list[int], turn: Turn) -> tuple[str, list[int]]:
    """The generated answer, followed by the source wording a reader needs to trust it: the whole
    clause when the question names one by number, the responsibility tag as written when the
    question asks who leads, one quote per document for comparisons, and the best sentence of
    each cited clause when the answer is too short to stand alone ("可以[1]"). Returns the text and
    the clause numbers it now cites."""
    hits, numbers, extra = turn.shown, list(numbers), []
    if turn.exact:
        extra.append("原文：" + clause_quote(hits[0], 1))
        numbers.append(1)
    if asks_who(turn.standalone):
        extra += _written_tags(text, numbers, hits)
    if len({h.clause.doc_id for h in hits}) > 1 and turn.compared:
        for n, hit in enumerate(hits, start=1):
            quoted = "".join(quoted_sentences(turn, hit))  # as written: nothing appended
            if quoted:
                extra.append(f"{brief_name(turn.snapshot.documents.get(hit.clause.doc_id), hit.clause)}：“{quoted}”[{n}]")
                numbers.append(n)
    elif not extra:
        # The sentences the extractive answer quotes, where the answer does not already say them
        # (a model's span may be the clause's second sentence, the fact in its first).
        said = normalize(MARKER.sub("", text))
        for n in numbers[:2]:
            missing = [s for s in quoted_sentences(turn, hits[n - 1]) if normalize(s).rstrip("。；;") not in said]
            if missing:
                extra.append(f"原文：“{''.join(missing)}”[{n}]")
    return text + ("\n" + "\n".join(extra) if extra else ""), sorted(set(numbers))


def quoted_sentences(turn: Turn, hit: Hit) -> list[str]:
    """The sentences of `hit`'s clause the extractive answer quotes for this question (qa/extractive.py
    quote_parts: the best ones, carried to the end of their sentence, a figure line the question asks
    for), in document order."""
    clause = hit.clause
    parts = quote_parts(turn.standalone, list(turn.terms), clause, turn.snapshot.clauses)
    return [s for c, sents in parts if c.id == clause.id for s in sents]


def _written_tags(text: str, numbers: list[int], hits: tuple[Hit, ...]) -> list[str]:
    """The responsibility line of each cited clause whose written units the answer does not all name."""
    answered, lines = normalize(text), []
    for n in sorted(set(numbers)):
        written = [parse_tag(t) for t in hits[n - 1].clause.tags]
        named = [u for tag in written if tag for u in tag[1]]
        if named and not all(u in answered for u in named):
            lines.append(responsibility_line(hits[n - 1], n))
    return lines
