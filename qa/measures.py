"""What a profile settles by measure: the place, the dates and the thresholds of a condition, and the
records a judgement works with (Check, Facts, Place).

  place      a place the condition names with a locative word beside it ("在天河区依法登记注册"), or the
             document's own place ("本市户籍", "县域内投产"): unmet when the profile is elsewhere;
  dates      a dated condition ("专利申请日在2016年2月23日及之前") against the fact that dates the same
             thing ("申请日2016年5月"): unmet outside the range, met inside;
  numbers    a threshold ("年产值同比增长超过1000万元", "满一年", "2年内") against the fact or profile field
             that measures the same thing (the words before the figures share two characters).
Words are data (`policyqa/data/match_words.txt`); places found by their shape (index/vocabulary.py
`question_places`: 天河区, 深圳) count as places, beside the profile's and the document's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from index.vocabulary import question_places
from policyqa.vocab import groups
from policyqa.text import normalize, to_int

MET, UNMET, UNKNOWN, SOFT = "met", "unmet", "unknown", "soft"
_DATE = re.compile(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?")
CN_DIGIT = "一二两三四五六七八九十半"  # figures of durations and counts (满一年, 半年)
_NUMBER = re.compile(rf"(\d+(?:\.\d+)?|[{CN_DIGIT}])(亿元|万元|元|%|个月|年|人|件|家|亩)")
AT_LEAST = ("超过", "大于", "高于", "达到", "不低于", "不少于", "满", "以上", "及以上", "突破")
FIELD_SOURCE = "企业信息（画像字段）"  # the reason of a threshold a profile field settles
AT_MOST = ("不超过", "以下", "以内", "低于", "少于", "内", "不足", "不满")


def words(group: str) -> tuple[str, ...]:
    """One group of `policyqa/data/match_words.txt`."""
    return groups("match_words").get(group, ())


@lru_cache(maxsize=1)
def _same() -> list[tuple[str, str]]:
    pairs = [w.split("=", 1) for w in words("same")]
    return sorted(((a, b) for a, b in pairs), key=lambda p: -len(p[0]))


def unify(text: str) -> str:
    """Normalised text with the spelled-alike words of `same` written one way (规上 → 规模以上)."""
    text = re.sub(r"\s+", "", normalize(text))
    for short, long in _same():
        text = text.replace(short, long)
    return text


@dataclass(frozen=True)
class Check:
    """One condition's verdict, with the fact or reason behind it."""

    condition: str
    status: str  # met | unmet | unknown | soft
    reason: str = ""

    def to_json(self) -> dict:
        """{condition, status, reason}."""
        return {"condition": self.condition, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class Facts:
    """A profile read once for judging: its place, its statements (each fact cut at ，；。, kinds and
    industry as statements too), the statements without a negation joined (words may be gathered
    across them, never from "未登记其他作品"), and the numbers of its fields."""

    region: str
    texts: tuple[str, ...]
    joined: str
    fields: dict

    @classmethod
    def of(cls, region: str, kinds, industry: str, facts, fields: dict) -> "Facts":
        """Read a profile's parts."""
        texts: list[str] = []
        for fact in facts:
            year = ""
            for part in _top_level_parts(fact):
                part = unify(part)
                if not part:
                    continue
                found = _DATE.search(part)
                if found:
                    year = found.group(1)
                elif year and re.match(r"^(?:已|并|且|均)?", part):
                    part = f"{year}年{part}" if len(part) > 2 else part  # "2023年重新认定通过" keeps its year
                texts.append(part)
        texts += [unify(k) for k in kinds if k] + ([unify(industry)] if industry else [])
        plain = [t for t in texts if not any(n in t for n in words("negation"))]
        return cls(unify(region), tuple(texts), "|".join(plain), fields)


def _top_level_parts(text: str) -> list[str]:
    """`text` cut at ，；。 outside brackets (a bracket's sub-statements stay with their statement)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "(（[" 
        depth -= ch in ")）]" and depth > 0
        if ch in "，,；;。" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + [current]


@dataclass(frozen=True)
class Place:
    """Where and when an item's document speaks: its region (省/市/县/区 parts) and its year."""

    region: str
    year: int | None

    def parts(self) -> list[str]:
        """The region's administrative parts, largest first (广东省广州市天河区 → 广东省, 广州市, 天河区)."""
        return re.findall(r"[\u4e00-\u9fff]+?(?:自治区|特别行政区|省|市|自治州|州|盟|县|区|旗)", self.region)

    def level(self, level: str) -> str:
        """The part of one level ('province', 'city', 'county', 'district'), or the most specific part."""
        ends = {"province": "省", "city": "市", "county": "县", "district": "区"}[level]
        found = [p for p in self.parts() if p.endswith(ends)]
        return found[-1] if found else (self.parts()[-1] if self.parts() else "")


def in_region(name: str, region: str) -> bool:
    """True when place `name` (天河区, 东莞, 广东省) is part of `region` (广东省广州市天河区)."""
    core = re.sub(r"(?:省|市|县|区)$", "", name)
    return bool(core) and (name in region or len(core) >= 2 and core in region)


def without_self_places(cond: str) -> str:
    """The condition without the document's words for its own place (县域内, 本市), once they are checked."""
    for level in ("province", "city", "county", "district"):
        for w in sorted(words(f"self_{level}"), key=len, reverse=True):
            cond = cond.replace(w, "")
    return cond


def place_check(cond: str, facts: Facts, place: Place) -> Check | None:
    for level in ("province", "city", "county", "district"):
        if any(w in cond for w in words(f"self_{level}")):
            own = place.level(level)
            if own and not in_region(own, facts.region):
                return Check(cond, UNMET, f"限{own}（企业在{facts.region or '未填地区'}）")
    cues = words("place_cue")
    known = Place(facts.region, None).parts() + place.parts() + question_places(cond)
    for name in dict.fromkeys(known):
        at = cond.find(name)
        if at < 0:
            continue
        window = cond[max(0, at - 4) : at + len(name) + 8]
        if any(c in window for c in cues) and not in_region(name, facts.region):
            return Check(cond, UNMET, f"限{name}（企业在{facts.region or '未填地区'}）")
    return None


def _interval(m: re.Match, end_of_period: bool) -> tuple[date, date]:
    y = int(m.group(1))
    mo, d = (int(m.group(2)) if m.group(2) else None), (int(m.group(3)) if m.group(3) else None)
    if mo is None:
        return date(y, 1, 1), date(y, 12, 31)
    if d is None:
        last = (date(y + (mo == 12), mo % 12 + 1, 1) - date.resolution)
        return date(y, mo, 1), last
    return date(y, mo, d), date(y, mo, d)


def _date_key(text: str, m: re.Match) -> str:
    """What a date dates: the words just before it ("申请日") or just after it ("授权公告", "购置")."""
    before = re.sub(r"(?:在|于|为|是|应在|时间)$", "", text[max(0, m.start() - 6) : m.start()])
    after = text[m.end() : m.end() + 4]
    return re.sub(r"[^\u4e00-\u9fff]", "", before)[-4:] + "|" + re.sub(r"^(?:起|及之后|之后|以后|至今)", "", after)


def shares(a: str, b: str) -> bool:
    a, b = a.replace("日", "").replace("时间", ""), b.replace("日", "").replace("时间", "")
    return any(a[i : i + 2] in b for i in range(len(a) - 1) if "|" not in a[i : i + 2])


def date_check(cond: str, facts: Facts) -> Check | None:
    found = list(_DATE.finditer(cond))
    if not found:
        return None
    lo, hi = date.min, date.max
    tail = cond[found[-1].end() : found[-1].end() + 8]
    if len(found) >= 2 or re.match(r"[至到—-]\d{1,2}月", tail):
        lo = _interval(found[0], False)[0]
        end = found[1] if len(found) >= 2 else re.match(r"[至到—-](\d{1,2})月(\d{1,2})日", tail)
        hi = _interval(found[1], True)[1] if len(found) >= 2 else date(lo.year, int(end.group(1)), int(end.group(2)))
    elif re.match(r"(?:及)?(?:之前|以前|前)", tail):
        hi = _interval(found[0], True)[1]
    elif re.match(r"(?:及)?(?:之后|以后|起|后)", tail):
        lo = _interval(found[0], False)[0]
    else:
        lo, hi = _interval(found[0], False)
    key = _date_key(cond, found[0])
    for text in facts.texts:
        for m in _DATE.finditer(text):
            if not shares(key, _date_key(text, m)):
                continue
            a, b = _interval(m, False)[0], _interval(m, True)[1]
            if lo <= a and b <= hi:
                return Check(cond, MET, text)
            if b < lo or a > hi:
                return Check(cond, UNMET, f"{text}（不在规定时间内）")
    return None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return 0.5 if text == "半" else (float(n) if (n := to_int(text)) is not None else None)


def numbers(text: str) -> list[tuple[str, str, float, str, str]]:
    """(before, op, value, unit, after) for each figure with a unit; op is ">=", "<=" or ""."""
    out = []
    for m in _NUMBER.finditer(text):
        value = _number(m.group(1))
        if value is None:
            continue
        unit = m.group(2)
        if unit == "亿元":
            value, unit = value * 10000, "万元"
        before, after = text[max(0, m.start() - 10) : m.start()], text[m.end() : m.end() + 4]
        op = ">=" if before.endswith(AT_LEAST) or after.startswith(AT_LEAST) else "<=" if before.endswith(AT_MOST) or after.startswith(AT_MOST) else ""
        out.append((before, op, value, unit, after))
    return out


def subject_of(before: str) -> str:
    for w in sorted(AT_LEAST + AT_MOST + ("在", "为", "的", "已", "同比"), key=len, reverse=True):
        before = before.replace(w, "")
    return re.sub(r"[^\u4e00-\u9fff]", "", before)[-5:]


def _field_value(subject: str, unit: str, facts: Facts) -> float | None:
    fields = facts.fields
    if unit in ("万元", "元") and any(w in subject for w in words("field_revenue")) and fields.get("revenue_wan") is not None:
        return fields["revenue_wan"] * (10000 if unit == "元" else 1)
    if unit == "人" and any(w in subject for w in words("field_employees")) and fields.get("employees") is not None:
        return float(fields["employees"])
    if unit == "%" and any(w in subject for w in words("field_rd_ratio")) and fields.get("rd_ratio") is not None:
        return fields["rd_ratio"] * 100
    if unit == "年" and any(w in subject for w in words("field_age")) and fields.get("age") is not None:
        return float(fields["age"])
    return None


def number_check(cond: str, facts: Facts) -> Check | None:
    """A threshold in the condition against the fact or profile field measuring the same thing."""
    for before, op, value, unit, after in numbers(cond):
        if not op or re.match(r"[至—-]", after) or _DATE.search(before[-6:] + str(value)):
            continue
        subject = subject_of(before)
        found = _field_value(subject, unit, facts)
        source = FIELD_SOURCE
        if found is None:
            for text in facts.texts:
                for f_before, _, f_value, f_unit, f_after in numbers(text):
                    f_subject = subject_of(f_before) or f_after
                    if f_unit == unit and subject and shares(subject, f_subject):
                        found, source = f_value, text
                        break
                if found is not None:
                    break
        if found is None:
            continue
        ok = found >= value if op == ">=" else found <= value
        return Check(cond, MET if ok else UNMET, source if ok else f"{source}（{'未达到' if op == '>=' else '超过'}{value:g}{unit}）")
    return None
