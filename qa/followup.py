"""Rewriting a follow-up ("那朔州呢？") into a question that stands alone, without an LLM.

A turn is a follow-up when it is short and leans on the previous one: it starts with 那/那么/还有/
另外/同样, ends with 呢, or has no content of its own beyond a place, document or department.
The rewrite takes the previous standalone question and swaps in what the follow-up names: a new
place or document replaces the old one, a new department replaces the old department; anything
else is appended. Rules instead of the LLM keep it instant and predictable; a model server user
can still ask full questions.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from index.routing import mentioned_departments, mentioned_documents, place_names
from ingest.records import DocMeta

_LEAD = re.compile(r"^(那么|那|还有|另外|同样|以及|再问一下|再问|那个)[,，\s]*")
_TAIL = re.compile(r"[,，\s]*(呢|的呢|怎么样|如何|又如何|又是多少|是多少|的情况)?[?？。!！\s]*$")


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
    new_docs = mentioned_documents(core, documents)
    new_units = mentioned_departments(core, units)
    result = previous
    if new_docs:
        new_name = max((n for n in place_names(documents[new_docs[0]]) if n in core), key=len, default=core)
        for old in mentioned_documents(previous, documents):
            old_name = max((n for n in place_names(documents[old]) if n in result), key=len, default="")
            if old_name:
                return result.replace(old_name, new_name, 1)
        return f"{new_name}{result}"
    if new_units:
        old_units = mentioned_departments(previous, units)
        if old_units:
            short = old_units[0] if old_units[0] in result else old_units[0].removeprefix("市")
            return result.replace(short, new_units[0], 1)
        return f"{new_units[0]}{result}"
    return f"{previous.rstrip('？?。')}，{core}" if core else previous
