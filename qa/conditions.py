"""One condition of a support item judged against an enterprise profile: met, unmet, unknown or soft.

A condition is the text as written ("对规上工业企业年产值同比增长超过1000万元的"); the profile is a region,
kinds, a few numbers and dated free-text facts. The judge reads, in order:
  measures   the place, dates and thresholds it states (qa/measures.py): unmet when the profile misses;
  words      the condition's content words (jieba; spelled-alike words unified, `data/match_words.txt`)
             against the facts, kinds and industry: met when three quarters by weight are found; a list
             ("国家级、省级"; "A或B") needs one member. Then the fact that covers it best may still refute
             it: the other member of an exclusive pair (省级 where 国家级 is asked, 重新 where 首次 is),
             a negation ("不是…骨干企业"), or a date years before the document for something new
             ("2017年首次认定" against a 2023 reward for 首次认定).
Judgement and procedure ("有良好市场前景", "经审核批准") are soft: no profile settles them, so they never
block. Trade-off: a fact phrased with none of the condition's words is not found (unknown, never met).
"""

from __future__ import annotations

import re
from functools import lru_cache

from policyqa.vocab import group_lines
from qa.measures import (
    AT_LEAST, AT_MOST, CN_DIGIT, MET, SOFT, UNKNOWN, UNMET, Check, Facts, Place, date_check, number_check, numbers,
    FIELD_SOURCE, place_check, shares, subject_of, unify, without_self_places, words,
)


def _slots(text: str) -> list[set[str]]:
    """Content words as slots: the words around 、/和/及/与 share a slot (one of them is enough); a list
    with a word that asks nothing ("企业和社会组织") asks nothing (an empty slot)."""
    import jieba

    stop = set(words("stop")) | set(AT_LEAST) | set(AT_MOST)
    text = re.sub(rf"(?:[\d.]+|[{CN_DIGIT}])(?:亿元|万元|元|%|个月|年|人|件|家|亩)?(?:及以上|以上|以下|以内|内)?", "", text)
    slots: list[set[str]] = []
    joined = free = False
    for t in (t for t in jieba.lcut(re.sub(r"[“”\"()（）]", "", text)) if t.strip()):
        if t in ("、", "和", "及", "与"):
            joined = True
            continue
        if t in stop or not re.search(r"[\u4e00-\u9fffA-Za-z]", t):
            free, joined = joined or free, joined and t in stop
            if joined and slots:
                slots[-1] = set()
            continue
        if joined and slots:
            slots[-1].add(t)
        elif joined or free:
            slots.append(set())  # the other member of its list asks nothing
        else:
            slots.append({t})
        joined = free = False
    return [slot for slot in slots if slot]


def _found(token: str, text: str) -> float:
    """How much of a word `text` holds: all of it, or its two-character pieces (国家专利 in 国家发明专利,
    产值 of 年产值 in 总产值)."""
    if token in text:
        return 1.0
    if len(token) == 3:
        return 0.67 if token[1:] in text or token[:2] in text else 0.0
    pieces = [token[i : i + 2] for i in range(0, len(token) - 1, 2)] if len(token) >= 4 else []
    return sum(p in text for p in pieces) / len(pieces) if pieces else 0.0


def _sides(cond: str) -> list[str]:
    """Alternatives: "A或B", and a list of long phrases "取得国家专利的产品、研发引进列入…目录的产品"."""
    sides = []
    for side in re.split(r"或者|或", cond):
        parts = side.split("、")
        sides += parts if len(parts) > 1 and all(len(p) >= 8 for p in parts) else [side]
    return sides


def coverage(cond: str, text: str) -> float:
    """Share (by length) of the condition's content words found in `text`; of alternatives, the best."""
    best = 0.0
    for side in _sides(cond):
        slots = _slots(side)
        total = sum(max(len(t) for t in slot) for slot in slots)
        got = sum(max(len(t) * _found(t, text) for t in slot) for slot in slots)
        best = max(best, got / total if total else 0.0)
    return best


def _refuted(cond: str, text: str, place: Place) -> str:
    """Why the fact `text` (the one that covers `cond` best) refutes it, or ""."""
    for group in _exclusive_groups():
        asked = [w for w in group if w in cond]
        if asked and not any(w in text for w in asked) and any(w in text for w in group if w not in asked):
            other = next(w for w in group if w in text and w not in asked)
            return f"{text}（是{other}，不是{asked[0]}）"
    if not any(n in cond for n in words("negation")) and _negates(text, cond):
        return f"{text}（否定）"
    years = [int(y) for y in re.findall(r"(\d{4})年", text)]
    if place.year and years and any(w in cond for w in words("novelty")) and max(years) < place.year - 1:
        return f"{text}（{max(years)}年早于本政策）"
    return ""


def _negates(text: str, cond: str) -> bool:
    """True when a negation in `text` governs words the condition asks for ("不是广东省…骨干企业")."""
    for n in words("negation"):
        for m in re.finditer(re.escape(n), text):
            after = text[m.end() : m.end() + 6]
            if any(after[i : i + 2] in cond for i in range(len(after) - 1)):
                return True
    return False


@lru_cache(maxsize=1)
def _exclusive_groups() -> list[tuple[str, ...]]:
    return [tuple(unify(w) for w in line) for line in group_lines("match_words", "exclusive")]


def judge(cond: str, facts: Facts, place: Place) -> Check:
    """The verdict on one condition (see the module docstring)."""
    text = unify(cond)
    settled = None
    for check in (place_check(text, facts, place), date_check(text, facts), number_check(text, facts)):
        if check is not None and check.status == UNMET:
            return Check(cond, UNMET, check.reason)
        settled = settled or check
    text = without_self_places(text)
    if settled is not None and (not _slots(text) or settled.reason == FIELD_SOURCE):
        return Check(cond, MET, settled.reason)  # the place, date, threshold or profile field was all it asked
    if settled is None and (any(w in text for w in words("soft")) or not _slots(text)):
        return Check(cond, SOFT, "由主管部门认定")
    scored = sorted(((coverage(text, t), t) for t in facts.texts), reverse=True)
    best_score, best = scored[0] if scored else (0.0, "")
    # A threshold whose measure the facts name without a figure ("固定资产投资" but no amount) is open.
    unsettled = settled is None and any(op and shares(subject_of(b), facts.joined) for b, op, _, _, _ in numbers(text))
    if not unsettled and (coverage(text, facts.joined) >= 0.75 or best_score >= 0.75):
        why = _refuted(text, best, place)
        return Check(cond, UNMET, why) if why else Check(cond, MET, settled.reason if settled else best)
    if best_score >= 0.3 and (why := _refuted(text, best, place)):
        return Check(cond, UNMET, why)
    return Check(cond, UNKNOWN, "企业信息中未说明")
