"""Rewriting a follow-up ("那朔州呢？") into a question that stands alone, without an LLM.

A turn is a follow-up when it is short and leans on the previous one: it starts with 那/那么/还有/
另外/同样, ends with 呢, or has no content of its own beyond a place, document or department.
The rewrite takes the previous standalone question and substitutes what the follow-up names for
the part of the same kind, never appending:

    a place or document          "那朔州呢？"  after "阳泉的高新技术企业目标是多少？"
    a department                 "那市财政局呢？" after "市科技局牵头负责哪些工作？"
    the asked attribute          "补贴标准呢？" after "X的补贴条件是什么？" → "X的补贴标准是多少？"
    the topic                    "那Y呢？" after "X的补贴标准是多少？"     → "Y的补贴标准是多少？"

An attribute is a phrase ending in a language-level attribute noun (标准, 条件, 期限 …,
policyqa/data/answer_words.json); the topic is the phrase before "的" + attribute, or else the phrase of
the previous question with the same head word ("…企业" for "那科技型中小企业呢？"), or else its
opening words up to the first predicate. Rules instead of the LLM keep it instant and predictable;
the trade-off is that a follow-up of another shape ("它的呢？") keeps the previous question.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Mapping, Sequence

from index.routing import mentioned_departments, mentioned_documents, place_names
from ingest.records import DocMeta
from qa.words import pattern, words

_LEAD = re.compile(r"^(那么|那|还有|另外|同样|以及|再问一下|再问|那个)[,，\s]*")
_TAIL = re.compile(r"[,，\s]*(呢|的呢|怎么样|如何|又如何|又是多少|是多少|的情况)?[?？。!！\s]*$")
_PUNCT = set("，,。？?！!；;：:、 \t\n“”\"《》()（）")


def is_follow_up(question: str) -> bool:
    """True for short turns that only make sense with the previous question."""
    q = question.strip()
    return len(q) <= 16 and bool(_LEAD.match(q) or re.search(r"呢[?？]?$", q))


def rewrite(question: str, history: list[str], documents: Mapping[str, DocMeta], units: Sequence[str]) -> str:
    """The standalone form of `question` given earlier user turns (most recent last)."""
    if not history or not is_follow_up(question):
        return question
    previous = history[-1]
    core = _TAIL.sub("", _LEAD.sub("", question.strip()))
    if not core:
        return previous
    new_docs = mentioned_documents(core, documents)
    new_units = mentioned_departments(core, units)
    if new_docs:
        new_name = max((n for n in place_names(documents[new_docs[0]]) if n in core), key=len, default=core)
        for old in mentioned_documents(previous, documents):
            old_name = max((n for n in place_names(documents[old]) if n in previous), key=len, default="")
            if old_name:
                return previous.replace(old_name, new_name, 1)
        return f"{new_name}{previous}"
    if new_units:
        old_units = mentioned_departments(previous, units)
        if old_units:
            short = old_units[0] if old_units[0] in previous else old_units[0].removeprefix("市")
            return previous.replace(short, new_units[0], 1)
        return f"{new_units[0]}{previous}"
    names = {n for meta in documents.values() for n in place_names(meta)}
    if is_attribute(core):
        return _swap_attribute(previous, core)
    return _swap_topic(previous, core, names)


def is_attribute(phrase: str) -> bool:
    """The phrase names an attribute of a topic (补贴标准, 申请条件), not a topic."""
    return "的" not in phrase and any(phrase.endswith(h) for h in words("attribute_heads"))


def asking(attribute: str) -> str:
    """The question an attribute asks: 是多少 (a figure), 是多久 (a duration) or 是什么."""
    if any(attribute.endswith(h) for h in words("duration_attributes")):
        return "是多久"
    return "是多少" if any(attribute.endswith(h) for h in words("figure_attributes")) else "是什么"


@cache
def _parts_pattern() -> re.Pattern[str]:
    heads = pattern("attribute_heads").pattern
    return re.compile(rf"(?P<topic>[^，,。？?！!；;的\s]+)的(?P<attr>[^，,。？?！!；;的\s]{{0,6}}?(?:{heads}))(?P<tail>.*)$")


def split_attribute(question: str) -> tuple[str, str, str, str] | None:
    """(before, topic, attribute, after) of "…X的Y标准是多少？", or None when the question has no
    topic-的-attribute phrase."""
    m = _parts_pattern().search(question)
    if not m:
        return None
    return question[: m.start("topic")], m.group("topic"), m.group("attr"), m.group("tail")


def _swap_attribute(previous: str, attribute: str) -> str:
    parts = split_attribute(previous)
    if parts:
        before, topic, _, after = parts
        tails = pattern("question_tails")
        asked = tails.match(after)
        after = asking(attribute) + after[asked.end():] if asked else after
        return f"{before}{topic}的{attribute}{after}"
    topic = _opening(previous)
    return f"{topic}的{attribute}{asking(attribute)}？" if topic else previous


def _swap_topic(previous: str, topic: str, names: set[str]) -> str:
    parts = split_attribute(previous)
    if parts:
        before, _, attribute, after = parts
        return f"{before}{topic}的{attribute}{after}"
    span = _same_head(previous, topic, names)
    if span:
        return previous[: span[0]] + topic + previous[span[1]:]
    opening = _opening(previous)
    return topic + previous[len(opening):] if opening else previous


def _same_head(previous: str, topic: str, names: set[str]) -> tuple[int, int] | None:
    """The span of the phrase of `previous` ending in the same two-character head word as `topic`,
    running left to a punctuation mark, a function word or a place name."""
    head = topic[-2:]
    end = previous.find(head) + len(head) if len(topic) > 2 and head in previous else -1
    if end < 0:
        return None
    start = end - len(head)
    bounds = words("phrase_bounds") + tuple(names)
    while start > 0 and previous[start - 1] not in _PUNCT and not any(previous[:start].endswith(b) for b in bounds):
        start -= 1
    return start, end


def _opening(question: str) -> str:
    """The opening words of `question`, up to its first predicate (需要, 有, 是, 怎么 …)."""
    m = pattern("predicates").search(question)
    return question[: m.start()] if m and m.start() >= 2 else ""
