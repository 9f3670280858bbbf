"""Check a generated answer against the clauses it cites; drop the sentences they do not support.

A sentence is checked against the clauses its own `[n]` markers cite, or against every cited clause
when it has no marker. It fails when one of its facts is missing from that text:
  - a number, compared by value and scale after width folding (2.50% == 2.5%, 0.5亿 == 5000万) and as
    a whole token, so 25 is never found inside 2.5 or 250; measure words (家, 个, 元) are ignored, 万/亿/%
    are not. Chinese numerals (两个, 三年) are not parsed: they are left to the paraphrase tolerance.
  - a date: a year (1900-2099 before 年, or either end of a 2014—2020年 range) must occur as a
    4-digit token; 年月 / 月日 forms must occur as written.
  - a unit name found by a 市X局/委/办/厅/部/中心/政府/科协 regex or from `known_units`; any spelling
    the corpus's `unit_aliases` gives the same office counts.
  - a negation word the sentence uses but no supporting clause uses.
  - a flipped exemption: a comma-delimited part of the sentence with no negation/exemption word
    repeats a 4-character phrase that, at every place it occurs in the supporting clauses, has a
    negation or exemption word (不, 免, 宽容, ...) within the 15 characters before it in the same
    comma-delimited stretch. "Every place" keeps "支持创新产品" beside "未实现批量销售的创新产品" legal.
    This is lexical, not entailment: it catches "追究责任" against "不作负面评价/免除责任", not a
    reworded reversal, and not a sentence that keeps some other negation in the same part.
Words that contain a negation character without negating (不断, 未来, 无论, 避免, 非常 ...;
`policyqa/data/negations.json`) and place names (found by shape, index/vocabulary.py) are masked
before any negation test.
Sentences without facts pass: the generator paraphrases, and a lexical check cannot judge that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from functools import lru_cache
from typing import Mapping

from index.vocabulary import question_places
from ingest.departments import canonical
from policyqa.text import CN_NUM, MARKER, marker_numbers, match_key, normalize, segments, split_sentences, strip_markers
from policyqa.vocab import table

NEGATIONS = table("negations")["negations"]
EXEMPTIONS = table("negations")["exemptions"]
# Words that contain a negation character but do not negate the claim they sit in.
NOT_NEGATION = table("negations")["not_negations"]
NEAR = 15  # characters before a shared phrase searched for a negation in the clause
GRAM = 4  # length of the shared phrases; 3 fired on common words like 创新产
_NEG = re.compile("|".join(NEGATIONS))
_EXEMPT = re.compile("|".join(EXEMPTIONS))
_MASK = re.compile("|".join(sorted(NOT_NEGATION, key=len, reverse=True)))

_ENUMERATOR = re.compile(rf"^\s*(?:\d{{1,2}}[.、)]|\(\d{{1,2}}\)|\([{CN_NUM}]+\)|[{CN_NUM}]+、)")
_NUM = r"\d+(?:\.\d+)?"
_QUANTITY = re.compile(rf"(?<![A-Za-z0-9.])({_NUM})(%?)(?:[-—~～至]({_NUM}))?(%|‰|万|亿)?(?![A-Za-z0-9])")
_DATE = re.compile(r"(?<!\d)(?:((?:19|20)\d{2})年(\d{1,2})月(?:(\d{1,2})日)?|(\d{1,2})月(\d{1,2})日)")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_STOP = "市的在对等并为由向将把与及到是"
_UNIT = re.compile(
    rf"[市省县区]委[\u4e00-\u9fff]{{1,4}}?(?:部|办|室)"
    rf"|(?:[市省县区]|各县(?:\(区\)|、区|区)?)(?:(?![{_STOP}])[\u4e00-\u9fff]){{0,10}}?"
    r"(?:委员会|办公室|局|委|办|厅|部|中心|政府|科协)"
)
_CLAUSE_PUNCT = re.compile(r"[,，。;；:：!?！？\n]")
_MEASURE = re.compile(r"[元家个件项人年次所台套座名亩吨户]")
_SCALE = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}


@dataclass(frozen=True)
class Facts:
    """What a sentence asserts that can be checked lexically (numbers/dates as written, with units)."""

    numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        """True when there is anything to check."""
        return bool(self.numbers or self.dates or self.units or self.negations)


@dataclass(frozen=True)
class CheckResult:
    """The answer with unsupported sentences removed, what was dropped and why."""

    kept_text: str
    dropped: list[tuple[str, str]]
    passed: bool
    supported_ratio: float


def _fold(text: str) -> str:
    """The comparison form: widths folded, whitespace gone, thousands separators removed."""
    return re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", match_key(normalize(text)))


def _rewrite_markers(text: str, keep: set[int]) -> tuple[str, list[int]]:
    order: list[int] = []

    def sub(m: re.Match) -> str:
        good = [n for n in marker_numbers(m.group(0)) if n in keep]
        order.extend(n for n in good if n not in order)
        return "".join(f"[{n}]" for n in good)

    return MARKER.sub(sub, text), order


def parse_citations(text: str, n_clauses: int) -> tuple[str, list[int]]:
    """Normalise markers to `[n]`, drop those outside 1..n_clauses; return text and distinct numbers
    in order of first appearance."""
    return _rewrite_markers(text, set(range(1, n_clauses + 1)))


@lru_cache(maxsize=1024)
def _masked(key: str) -> str:
    masked = _MASK.sub(lambda m: "□" * len(m.group(0)), key)
    if _NEG.search(masked):
        for place in question_places(key):
            if _NEG.search(place):
                masked = masked.replace(place, "□" * len(place))
    return masked


def _year_run(m: re.Match, key: str) -> list[str]:
    """The years a _QUANTITY match stands for ("2020年", "2014—2020年"), or [] if it is a quantity."""
    ends = [x for x in (m.group(1), m.group(3)) if x]
    if key[m.end():m.end() + 1] != "年" or m.group(2) or m.group(4):
        return []
    return [f"{x}年" for x in ends] if all(re.fullmatch(r"(19|20)\d{2}", x) for x in ends) else []


def _quantities(key: str) -> list[tuple[str, str, str, str]]:
    """(text, low, high, kind) for every number in a folded text that is not a year or date."""
    key = _DATE.sub(lambda m: "#" * len(m.group(0)), key)
    out = []
    for m in _QUANTITY.finditer(key):
        lo, pct, hi, scale = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        if _year_run(m, key):
            continue
        kind = "%" if pct or scale == "%" else "‰" if scale == "‰" else ""
        mult = _SCALE.get(scale, Decimal(1))
        low, high = (Decimal(x) * mult for x in (lo, hi or lo))
        measure = _MEASURE.match(key, m.end())
        text = m.group(0) + (measure.group(0) if measure else "")
        out.append((text, f"{low.normalize():f}", f"{high.normalize():f}", kind))
    return out


def _units(key: str, known_units: Sequence[str]) -> list[str]:
    spans = [(m.start(), m.end()) for m in _UNIT.finditer(key)]
    for unit in known_units:
        u = _fold(unit)
        spans += [(m.start(), m.end()) for m in re.finditer(re.escape(u), key)] if u else []
    spans = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    return list(dict.fromkeys(key[a:b] for a, b in sorted(spans)))


def facts(sentence: str, known_units: Sequence[str] = ()) -> Facts:
    """The numbers, dates, unit names and negation words of one answer sentence."""
    key = _ENUMERATOR.sub("", _fold(strip_markers(sentence)))
    dates = [m.group(0) for m in _DATE.finditer(key)]
    for m in _QUANTITY.finditer(_DATE.sub(lambda d: "#" * len(d.group(0)), key)):
        dates += _year_run(m, key)
    return Facts(
        numbers=tuple(dict.fromkeys(q[0] for q in _quantities(key))),
        dates=tuple(dict.fromkeys(dates)),
        units=tuple(_units(key, known_units)),
        negations=tuple(dict.fromkeys(_NEG.findall(_masked(key)))),
    )


def _has_number(number: str, clause_key: str) -> bool:
    want = _quantities(number)
    if not want:
        return True
    _, lo, hi, kind = want[0]
    for _, c_lo, c_hi, c_kind in _quantities(clause_key):
        if c_kind == kind and ((lo, hi) == (c_lo, c_hi) or (lo == hi and lo in (c_lo, c_hi))):
            return True
    return False


def _has_date(date: str, clause_key: str) -> bool:
    if re.fullmatch(r"\d{4}年", date):
        return date[:4] in _YEAR.findall(clause_key)
    return re.search(rf"(?<!\d){re.escape(date)}(?!\d)", clause_key) is not None


def _has_unit(unit: str, clause_key: str, aliases: Mapping[str, str] = {}) -> bool:
    name = canonical(unit)
    name = aliases.get(name, name)
    spellings = {unit, name} | {alias for alias, canon in aliases.items() if canon == name}
    return any(_fold(s) in clause_key for s in spellings)


def _negated_before(masked: str, start: int) -> str:
    """The negation/exemption word (and what follows it) in the NEAR characters before `start`."""
    window = _CLAUSE_PUNCT.split(masked[max(0, start - NEAR):start])[-1]
    hits = [m.start() for m in _NEG.finditer(window)] + [m.start() for m in _EXEMPT.finditer(window)]
    return window[max(hits):] if hits else ""


def _flipped(sentence_key: str, clause_key: str) -> str:
    """A clause phrase the sentence repeats without the negation/exemption put before its every use."""
    masked = _masked(clause_key)
    for i in range(len(sentence_key) - GRAM + 1):
        gram = sentence_key[i:i + GRAM]
        if not re.fullmatch(rf"[\u4e00-\u9fff]{{{GRAM}}}", gram):
            continue
        before = [_negated_before(masked, m.start()) for m in re.finditer(re.escape(gram), clause_key)]
        if before and all(before):
            return before[0] + gram
    return ""


def _check_sentence(sentence: str, support: dict[int, str], known_units: Sequence[str],
                    aliases: Mapping[str, str] = {}) -> list[str]:
    """Reasons the sentence is not supported by the clauses in `support` (empty: supported)."""
    where = "".join(f"[{n}]" for n in support)
    keys = [_fold(t) for t in support.values()]
    found = facts(sentence, known_units)
    reasons = [f"number {x} not in {where}" for x in found.numbers if not any(_has_number(x, k) for k in keys)]
    reasons += [f"date {x} not in {where}" for x in found.dates if not any(_has_date(x, k) for k in keys)]
    reasons += [f"unit {x} not in {where}" for x in found.units if not any(_has_unit(x, k, aliases) for k in keys)]
    reasons += [f"negation {x} not in {where}" for x in found.negations
                if not any(x in _masked(k) for k in keys)]
    # Per comma-delimited part, so "项目未达到预期的，领导要承担决策责任" is still tested on its second half.
    for part in _CLAUSE_PUNCT.split(_fold(strip_markers(sentence))):
        if _NEG.search(_masked(part)) or _EXEMPT.search(part):
            continue
        phrase = _flipped(part, "。".join(keys))  # 。 keeps windows inside one clause
        if phrase:
            reasons.append(f"{where} says {phrase} but the sentence drops the negation")
            break
    return reasons


def check_answer(text: str, cited: dict[int, str], known_units: Sequence[str] = (),
                 aliases: Mapping[str, str] = {}) -> CheckResult:
    """Check every sentence of `text` against the clause texts its markers cite (`cited`: n -> text);
    `aliases` (written name → canonical name) are the corpus's two spellings of one office."""
    text, order = _rewrite_markers(text, set(cited))
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for seg in segments(text):
        sentence = seg.strip()
        if not sentence:
            kept.append(seg)
            continue
        nums = [n for n in dict.fromkeys(int(x) for x in re.findall(r"\[(\d{1,3})\]", sentence)) if n in cited]
        nums = nums or order
        if not nums:
            reasons = ["cites no clause and the answer cites none"]
        else:
            reasons = _check_sentence(sentence, {n: cited[n] for n in nums}, known_units, aliases)
        if reasons:
            dropped.append((sentence, "; ".join(reasons)))
        else:
            kept.append(seg)
    total = len(split_sentences(text))
    return CheckResult(
        kept_text="".join(kept).strip(),
        dropped=dropped,
        passed=not dropped,
        supported_ratio=(total - len(dropped)) / total if total else 0.0,
    )


def supporting_sentences(clause_text: str, answer_sentence: str) -> list[str]:
    """At most two clause sentences sharing the most facts, then character bigrams, with the answer."""
    want = facts(answer_sentence)
    skey = _fold(strip_markers(answer_sentence))
    grams = {skey[i:i + 2] for i in range(len(skey) - 1)}
    scored = []
    for i, sent in enumerate(split_sentences(clause_text)):
        key = _fold(sent)
        shared = (sum(_has_number(x, key) for x in want.numbers) + sum(_has_date(x, key) for x in want.dates)
                  + sum(_has_unit(x, key) for x in want.units))
        overlap = len(grams & {key[j:j + 2] for j in range(len(key) - 1)})
        if shared or overlap:
            scored.append((-(shared * 10 + overlap), i, sent))
    best = sorted(scored)[:2]
    return [sent for _, _, sent in sorted(best, key=lambda t: t[1])]
