"""Whole-list questions: every matching clause, never cut at top-k, with the count stated.

Two kinds: "市科技局牵头负责哪些工作" lists from the parsed responsibility fields (lead only when
the question says 牵头, otherwise lead or shared); "朔州有哪些针对中小微企业的支持" lists every
clause of the named documents containing the question's key term. One entry per provision: the
parts of a split provision are shown once, by the part that best matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.departments import provision_id
from policyqa.text import CN_NUM, normalize
from ingest.records import Clause
from qa.intent import ASKS_LIST, asks_who

_ASKS_TOPIC_LIST = re.compile(r"有哪些|都有哪些|列出|列举|所有|全部")
_CLAUSE_NUMBER = re.compile(rf"[{CN_NUM}]+[、.]?\s*[(（][{CN_NUM}]+[)）]|第.{{1,4}}条")
_ASKS_TASKS = re.compile(r"(牵头|负责|承担|参与|分工)")
_GENERIC = set("哪些 什么 支持 政策 工作 任务 措施 方面 内容 文件 规定 方案 意见 计划 相关 有关 针对 对于 关于 具体 主要 所有 全部 都 列出 列举 有 的".split())


@dataclass(frozen=True)
class ListPlan:
    """How to answer a whole-list question: by department role or by key term."""

    kind: str  # "department" | "term"
    key: str  # the unit name or the term
    lead_only: bool = False


def plan_listing(question: str, departments: list[str], doc_ids: list[str], terms: list[str],
                 place_words: set[str]) -> ListPlan | None:
    """A ListPlan when the question asks for a whole list, else None."""
    q = normalize(question)
    if not ASKS_LIST.search(q):
        return None
    if departments and _ASKS_TASKS.search(q) and re.search(r"(哪些|什么|所有|全部)(工作|任务|事项|职责)|负责哪些|牵头哪些|参与哪些", q):
        return ListPlan("department", departments[0], lead_only="牵头" in q and "参与" not in q and "配合" not in q)
    if not doc_ids or not _ASKS_TOPIC_LIST.search(q) or asks_who(q) or _CLAUSE_NUMBER.search(q):
        return None  # topic lists: "X有哪些…支持" scoped to a named document; else ordinary search
    content = [t for t in terms if len(t) >= 3 and t not in _GENERIC and t not in place_words]
    if not content:
        return None
    return ListPlan("term", max(content, key=len))


def list_clauses(plan: ListPlan, clauses: list[Clause], doc_ids: list[str] | None) -> list[Clause]:
    """Every clause matching the plan (one per provision), in corpus order."""
    out: list[Clause] = []
    seen: set[str] = set()
    key = normalize(plan.key).lower()
    for c in clauses:
        if doc_ids and c.doc_id not in doc_ids:
            continue
        pid = provision_id(c.id)
        if plan.kind == "department":
            ok = plan.key in (c.lead if plan.lead_only else c.departments)
        else:
            ok = key in normalize(c.text).lower()
        if ok and pid not in seen:
            seen.add(pid)
            out.append(c)
    return out
