"""What the generator sees: the clauses chosen for it, each cut to its most relevant sentences behind a
short label, numbered [1]…[n] inside the user message of the answer prompts (prompts/answer_*.txt).

The reply's shape (a clause number and a span copied from that clause's text as shown here) is the
grammar of qa/structured.py, built from the same texts. The prompt stays near 400 tokens, so a 2-core CPU answers within seconds: prompt tokens cost ~10 ms each.
"""

from __future__ import annotations

import re

from ingest.records import Clause, Hit
from policyqa.text import CN_NUM
from qa.extractive import extractive_answer, sentence_score, sentences
from qa import structured
from qa.generators import Message
from qa.intent import asks_yes_no
from qa.prompts import PromptLibrary
from qa.turn import Turn


def duties(clause: Clause) -> str:
    """The parsed responsibility fields as shown to the model (canonical unit names), or ""."""
    if not clause.departments:
        return ""
    cooperating = f"；配合：{'、'.join(clause.cooperating)}" if clause.cooperating else ""
    return f"（牵头：{'、'.join(clause.lead) or '无'}；责任单位：{'、'.join(clause.departments)}{cooperating}）"


def heading(clause: Clause) -> str:
    """The clause's nearest heading words without its number ("(十)多元科技投入…" → "多元科技投入…"), ≤ 16 chars."""
    for part in reversed(clause.path):
        words = re.sub(rf"^[(（]?[{CN_NUM}\d]+[)）、.．]?|^第.+?[章节条]\s*", "", part).strip()
        if len(words) >= 2:
            return words[:16]
    return ""


def clause_body(hit: Hit, terms: list[str] | tuple[str, ...], max_chars: int) -> str:
    """A clause cut to its most relevant sentences (in text order, about `max_chars` characters),
    followed by its responsibility tag: the text a quote may be copied from."""
    sents = sentences(hit.clause.text)
    scored = sorted(range(len(sents)), key=lambda i: -sentence_score(sents[i], list(terms), True))
    keep, size = set(), 0
    for i in scored:
        if size + len(sents[i]) > max_chars and keep:
            break
        keep.add(i)
        size += len(sents[i])
    return "".join(sents[i] for i in sorted(keep)) + duties(hit.clause)


def clause_context(hit: Hit, terms: list[str] | tuple[str, ...], max_chars: int) -> str:
    """`clause_body` after a short label (place and last heading)."""
    c = hit.clause
    label = "·".join(x for x in (c.region or c.doc_title[:10], heading(c)) if x)
    return f"（{label}）{clause_body(hit, terms, max_chars)}"


def shown_clauses(turn: Turn, count: int) -> tuple[Hit, ...]:
    """The clauses the generator sees: the ones the extractive answer cites (its best clause, the lines
    of its item that state what is asked, or the best clause of each document a comparison names), at
    most `count`; the top `count` hits when it cites none. The model copies and words well but chooses
    the clause worse than the extractive scoring does (on the dev set, shown the top four, it quoted a
    less relevant one in 13 of 99 questions), so it is asked to choose within the chosen clauses."""
    snap = turn.snapshot
    _, cited = extractive_answer(turn.standalone, list(turn.terms), list(turn.hits), exact=turn.exact,
                                 docs=list(turn.compared), metas=snap.documents, clauses=snap.clauses)
    most = max(count, 3) if turn.compared else count  # a comparison shows each named document's clause
    return tuple(cited[:most]) or tuple(turn.hits[:count])


def messages(prompts: PromptLibrary, turn: Turn, shown: tuple[Hit, ...], max_chars: int) -> tuple[Message, ...]:
    """The system and user messages for `turn` with `shown` numbered from 1."""
    clauses = "\n".join(f"[{i}]{clause_context(h, turn.terms, max_chars)}" for i, h in enumerate(shown, start=1))
    system, user = prompts.get("answer_system"), prompts.get("answer_user")
    return (Message("system", system.render()), Message("user", user.render(clauses=clauses, question=turn.standalone)))


def grammar(turn: Turn, shown: tuple[Hit, ...], max_chars: int) -> str:
    """The grammar of the reply to `turn`: a shown clause's number and a span of its body as shown,
    with a yes/no word when the question wants one (qa/structured.py)."""
    return structured.grammar([clause_body(h, turn.terms, max_chars) for h in shown], asks_yes_no(turn.standalone))


def prompt_hash(prompts: PromptLibrary) -> str:
    """The short hashes of the two answer prompts, recorded with every generated answer."""
    return prompts.get("answer_system").short_hash + "+" + prompts.get("answer_user").short_hash
