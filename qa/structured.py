"""The checkable answer shape: the model picks a clause and copies a span of it; the code words the answer.

A small local model is weak at writing and strong at copying. So the generator is asked for one JSON
object, and where the backend takes a grammar (llama.cpp's GBNF) the shape is enforced while it samples:

    {"clause": n, "quote": "<a span copied from clause n as shown>"}                 what/who/how much
    {"clause": n, "quote": "<span>", "answer": "可以" | "不可以" | …}                   yes/no questions

`grammar()` lets `clause` be only a shown number and `quote` only a verbatim span of that clause's
shown text, starting after punctuation and ending before it (or at the end), so a figure, a unit or a
date in it is in the clause by construction. The yes/no word comes after the quote: the model has
copied its evidence before it commits to an answer; qa/verify.py then words the answer from what the
quote settles (qa/direct.py), not from the model's word. `render()` turns a Reply into answer text
("不可以，男性不超过60周岁[1]。"), which then goes through every check a free-text answer goes through
(qa/verify.py): the grammar makes the answer checkable, the checks still decide. Backends without
grammars (an OpenAI-compatible endpoint) and scripted tests may return the JSON or plain text;
`parse()` returns None for anything that is not the JSON shape and the text is checked as written.

Trade-off: a quote is one contiguous span, so an answer gathered from two places of a clause is a
longer span or one of them; the code adds the source wording a reader needs after it (with_sources).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from policyqa.text import split_sentences
from qa.words import table


def _yes_no_words() -> tuple[str, ...]:
    """The yes and no words of policyqa/data/answer_words.json's yes_no_words forms."""
    forms = table()["yes_no_words"]
    return tuple(dict.fromkeys([yes for _, yes, _ in forms] + [no for _, _, no in forms]))


# The direct answers a yes/no question may get (policyqa/data/answer_words.json).
YES_NO_WORDS = _yes_no_words()
# A quote starts after one of these (or at the start) and ends before one (or at the end).
BOUNDARY = "，。；：、,;:（）()“”‘’《》!?！？"
_JSON = re.compile(r"\{.*\}", re.S)
_CLAUSE_SO_FAR = re.compile(r'^\s*\{\s*"clause"\s*:\s*(\d+)')
_QUOTE_SO_FAR = re.compile(r'"quote"\s*:\s*"((?:[^"\\]|\\.)*)')


@dataclass(frozen=True)
class Reply:
    """What the model chose: the clause number, the span it copied, the yes/no word ("" if none)."""

    clause: int
    quote: str
    answer: str = ""


def _literal(ch: str) -> str:
    """One character as a GBNF literal that matches its JSON-escaped form."""
    escaped = json.dumps(ch, ensure_ascii=False)[1:-1]  # what the model must write inside a JSON string
    return json.dumps(escaped, ensure_ascii=False)  # GBNF literals use the same escapes as JSON


def _span_rules(name: str, text: str) -> list[str]:
    """GBNF for any span of `text` that starts after a boundary and ends before one: one rule per
    character (`name-j` ::= char_j `name-j+1`, optional where a boundary or the end follows)."""
    rules, starts = [], []
    for j, ch in enumerate(text):
        last = j + 1 == len(text)
        body = _literal(ch) + ("" if last else f" {name}-{j + 1}" + ("?" if text[j + 1] in BOUNDARY else ""))
        rules.append(f"{name}-{j} ::= {body}")
        if ch not in BOUNDARY and (j == 0 or text[j - 1] in BOUNDARY):
            starts.append(f"{name}-{j}")
    return rules + [f"{name} ::= " + (" | ".join(starts) or '""')]


def grammar(texts: list[str] | tuple[str, ...], yes_no: bool) -> str:
    """The GBNF grammar of a Reply over the shown clause texts (numbered from 1)."""
    rules, choices = [], []
    for n, text in enumerate(texts, start=1):
        rules += _span_rules(f"quote{n}", text)
        choices.append(f'"{n},\\"quote\\":\\"" quote{n}')
    answer = ' ",\\"answer\\":\\"" (' + " | ".join(f'"{w}"' for w in YES_NO_WORDS) + ')' if yes_no else ""
    root = 'root ::= "{\\"clause\\":" (' + " | ".join(choices) + ') "\\""' + answer + (' "\\""' if yes_no else "") + ' "}"'
    return "\n".join([root, *rules])


def parse(raw: str, n_clauses: int) -> Reply | None:
    """The Reply in `raw`, or None when `raw` is not the JSON shape (plain text is checked as written).
    A reply cut off by the token limit keeps its quote up to the last punctuation. A clause number
    outside 1..n_clauses is kept: the check reports it."""
    found = _JSON.search(raw)
    try:
        data = json.loads(found.group(0)) if found else None
    except json.JSONDecodeError:
        data = None
    if data is None:
        return _cut_off(raw)
    if not isinstance(data, dict) or not isinstance(data.get("quote"), str):
        return None
    try:
        number = int(data.get("clause"))
    except (TypeError, ValueError):
        return None
    answer = data.get("answer", "")
    return Reply(number, data["quote"].strip(), answer.strip() if isinstance(answer, str) else "")


def _cut_off(raw: str) -> Reply | None:
    """The Reply of a JSON reply that ended inside its quote, or None."""
    number = _CLAUSE_SO_FAR.search(raw)
    quote = readable(raw) if raw.lstrip().startswith("{") else ""
    last = max(quote.rfind(b) for b in BOUNDARY)
    if not number or last < 1:
        return None
    return Reply(int(number.group(1)), quote[:last].strip())


def render(reply: Reply, yes_no: bool) -> str:
    """The answer text of a Reply: the yes/no word (yes/no questions only), then the quote with its
    marker after every sentence ("不可以，男性不超过60周岁[1]。")."""
    marker = f"[{reply.clause}]"
    body = "".join(_closed(s.rstrip("。；;，,")) + marker + "。" for s in split_sentences(reply.quote.strip(BOUNDARY)))
    if yes_no and reply.answer in YES_NO_WORDS and body:
        return f"{reply.answer}，{body}"
    return body


def _closed(sentence: str) -> str:
    """`sentence` without a bracket the span opened and never closed ("…指导中心（以下简称市高指中心" →
    "…指导中心"), unless the bracket is all there is."""
    for opening, closing in (("（", "）"), ("(", ")"), ("《", "》"), ("“", "”")):
        at = sentence.rfind(opening)
        if at > 0 and closing not in sentence[at:]:
            sentence = sentence[:at].rstrip("，,、；;")
    return sentence


def readable(raw: str) -> str:
    """What a reader can be shown of a reply still being generated: the quote so far for the JSON
    shape, the text itself otherwise (used to stream tokens to clients)."""
    if not raw.lstrip().startswith("{"):
        return raw
    found = _QUOTE_SO_FAR.search(raw)
    if not found:
        return ""
    text = found.group(1)
    try:
        return json.loads(f'"{text.rstrip(chr(92))}"')
    except json.JSONDecodeError:
        return text
