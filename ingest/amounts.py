"""Money and rate amounts in policy text: 20万元, 每人每月3000元, 5%—20%, 最高不超过50万元, 100元/亩, 全额.

Amounts are read from a *squeezed* view of the text (normalised, whitespace removed, `Squeezed`), because
documents copied from PDF carry spaces inside numbers and words ("20 万元", "第 1 0 条"); every position
maps back to the original, so a quote is always the text as written. Each mention carries what its
neighbourhood says about it: a cap (最高, 不超过), a floor (不低于), a threshold of a condition (超过 1000万元,
1000万元及以上), a variant of the amount before it (可提高至), a cap over a sum (同一申请人每年累计), and
the per-unit basis (每人每月, /亩). The words are data (`data/item_words.txt`).
Trade-off: only 元/万元/亿元/千元 and percentages are amounts; 2/3, "两倍" and amounts spelled only in
words beyond the thousands are not read (the model path, ingest/items.py, sees such clauses).
Units come out as 万元, 元 or %: 亿元 and 千元 are converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from policyqa.vocab import DATA, groups
from policyqa.text import CN_NUM, normalize, to_int

WORDS_FILE = DATA / "item_words.txt"
_CN = CN_NUM.replace("万", "")  # 三十万元 reads as 三十 + 万元
_NUM = rf"(?:\d+(?:,\d{{3}})*(?:\.\d+)?|[{_CN}]+)"
_DASH = r"(?:—{1,2}|-|~|～|至|到)"
_MONEY = re.compile(rf"(?P<a>{_NUM})(?:{_DASH}(?P<b>{_NUM}))?(?P<unit>亿元|万元|千元|元)(?P<per>/[\u4e00-\u9fff])?")
_PERCENT = re.compile(rf"(?:(?P<a>\d+(?:\.\d+)?)%?{_DASH})?(?P<b>\d+(?:\.\d+)?)%|百分之(?P<cn>[{_CN}]+)")
_PER = re.compile(r"(?:每|单)(?:[\u4e00-\u9fff]{0,4}?\d+)?(?:个|家|名|户|件|项|人次|人|年度|年|月|亩|次|台|套|批|单位|企业|品种|项目|平方米)")
_STEP = re.compile(r"每(?:增加|新增|增长|超过|超出|提高|多)$")  # 每增加100万元给予30万元: the step, not the benefit
_SCALE = {"亿元": (10000.0, "万元"), "万元": (1.0, "万元"), "千元": (1000.0, "元"), "元": (1.0, "元")}
_OPEN, _CLOSE = "([", ")]"


def _groups() -> dict[str, tuple[str, ...]]:
    return groups("item_words")


def words(group: str) -> tuple[str, ...]:
    """The words of one group of `data/item_words.txt` in file order; KeyError names a missing group."""
    return _groups()[group]


def pairs(group: str) -> dict[str, str]:
    """A group written as `as-written=shown` pairs (per_each)."""
    return dict(w.split("=", 1) for w in words(group))


def forms() -> list[tuple[str, tuple[str, ...]]]:
    """(form, its words) in file order: the first form whose word occurs in a clause is its form."""
    return [(k.split("_", 1)[1], v) for k, v in _groups().items() if k.startswith("form_")]


@dataclass(frozen=True)
class Squeezed:
    """`text` normalised and without whitespace but line breaks; `at[i]` is the original position of
    character i."""

    text: str
    at: tuple[int, ...]
    source: str

    @classmethod
    def of(cls, source: str) -> "Squeezed":
        """Squeeze `source` (normalise width and punctuation, drop whitespace), keeping the position map."""
        norm = normalize(source)
        keep = [i for i, ch in enumerate(norm) if not ch.isspace() or ch == "\n"]
        return cls("".join(norm[i] for i in keep), tuple(keep), source)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of squeezed [start, end)."""
        if start >= end:
            return (self.at[start] if start < len(self.at) else len(self.source),) * 2
        return self.at[start], self.at[end - 1] + 1

    def original(self, start: int, end: int) -> str:
        """The original text of squeezed [start, end), whitespace as written."""
        a, b = self.span(start, end)
        return self.source[a:b]


@dataclass(frozen=True)
class Mention:
    """One amount in squeezed text, with what its neighbourhood says about it."""

    start: int
    end: int
    value: float
    unit: str  # 万元 | 元 | %
    text: str
    low: float | None = None  # the bottom of a range (5%—20% → 5)
    cap: bool = False
    floor: bool = False
    threshold: bool = False
    raise_: bool = False
    aggregate: bool = False
    total: bool = False
    base_is_benefit: bool = False
    in_parens: bool = False
    per: str = ""

    @property
    def money(self) -> bool:
        """True for 元 and 万元 amounts (not percentages)."""
        return self.unit != "%"


def number(text: str) -> float | None:
    """An Arabic or Chinese numeral as a number (1,000.5 → 1000.5, 三十 → 30); None if it is neither."""
    text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        value = to_int(text)
        return float(value) if value is not None else None


def paren_depths(text: str) -> list[int]:
    """Bracket depth at each character of squeezed text ((), [] after normalisation)."""
    depth, out = 0, []
    for ch in text:
        if ch in _OPEN:
            depth += 1
        out.append(depth)
        if ch in _CLOSE:
            depth = max(depth - 1, 0)
    return out


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The comma-clause around [start, end): from after the last , ; : 。 before it to the next one."""
    left = max(text.rfind(sep, 0, start) for sep in ",;:。，；：")
    right = [i for i in (text.find(sep, end) for sep in ",;:。，；：") if i >= 0]
    return left + 1, min(right) if right else len(text)


def _ends_with_any(text: str, group: str) -> bool:
    return any(text.endswith(w) for w in words(group))


def _per(before: str, unit_per: str | None) -> str:
    found = "".join(m.group(0) for m in _PER.finditer(before[-12:]))
    found = re.sub(r"\d+", "", found) if found.startswith("每") and re.search(r"\d", found) is None else found
    if unit_per:
        found += unit_per
    table = pairs("per_each")
    for written, shown in table.items():
        found = found.replace(written, shown)
    return found


def _mention(text: str, start: int, end: int, value: float, unit: str, low: float | None,
             depth: list[int], unit_per: str | None = None) -> Mention:
    lo, hi = _clause_bounds(text, start, end)
    before, after = text[lo:start], text[end:hi]
    own = before[max(before.rfind("元"), before.rfind("%")) + 1 :]  # after the amount before this one
    near = before[-8:]
    tail = re.sub(r"\(.*?\)", "", after)
    cap = any(w in near for w in words("cap")) or low is not None
    aggregate = cap and unit != "%" and any(w in before for w in words("aggregate"))
    return Mention(
        start, end, value, unit, text[start:end], low,
        cap=cap,
        floor=any(w in near for w in words("floor")),
        threshold=not tail.startswith("的部分") and not any(w in near for w in words("cap")) and (
            any(near.endswith(w) or near[:-1].endswith(w) for w in words("threshold_before"))
            or tail.startswith(words("threshold_after")) or bool(_STEP.search(near))),
        raise_=any(w in before for w in words("raise")),
        aggregate=aggregate,
        total=aggregate and any(w in before for w in words("total")),
        base_is_benefit=_ends_with_any(re.sub(r"的$", "", before), "benefit_base"),
        in_parens=depth[start] > 0,
        per=_per(own, unit_per),
    )


def find_amounts(text: str) -> list[Mention]:
    """Every money or percentage amount in squeezed `text`, in order (全额 reads as 100%)."""
    depth = paren_depths(text)
    found: list[Mention] = []
    for m in _MONEY.finditer(text):
        if m.start() > 0 and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # the tail of a longer number
        if m.group("a") == "一" and not m.group("b"):
            continue  # 统一元, 一元化: a word, not an amount
        a, b = number(m.group("a")), number(m.group("b") or "")
        if a is None:
            continue
        scale, unit = _SCALE[m.group("unit")]
        per = {"/亩": "每亩", "/人": "每人", "/件": "每件", "/年": "每年"}.get(m.group("per") or "", None)
        value, low = (b * scale, a * scale) if b is not None else (a * scale, None)
        found.append(_mention(text, m.start(), m.end(), value, unit, low, depth, per))
    for m in _PERCENT.finditer(text):
        value = number(m.group("b") or m.group("cn"))
        if value is None or "=" in text or "×" in text:
            continue  # a formula's rates are not benefits
        low = number(m.group("a")) if m.group("a") else None
        found.append(_mention(text, m.start(), m.end(), value, "%", low, depth))
    for w in words("full"):
        for m in re.finditer(re.escape(w) + rf"(?:{'|'.join(words('amountless_noun'))})", text):
            found.append(_mention(text, m.start(), m.start() + len(w), 100.0, "%", None, depth))
    return _listed(text, sorted(found, key=lambda x: x.start))


def _listed(text: str, found: list[Mention]) -> list[Mention]:
    """Members of a bare list ("应奖励额的30%、30%和40%") share what the first one's context says."""
    out: list[Mention] = []
    for m in found:
        prev = out[-1] if out else None
        if prev and re.fullmatch(r"[、和及与或]", text[prev.end:m.start]):
            m = replace(m, base_is_benefit=prev.base_is_benefit, threshold=prev.threshold or m.threshold,
                        raise_=prev.raise_, aggregate=prev.aggregate, cap=prev.cap or m.cap)
        out.append(m)
    return out


def has_formula(text: str) -> bool:
    """True for a calculation line (税额=销售额×3%): its rates state no benefit."""
    return "=" in text or "×" in text
