"""One condition of a support item judged against an enterprise profile: met, unmet, unknown or soft.

A condition is the text as written ("对规上工业企业年产值同比增长超过1000万元的"); the profile is a region,
kinds, a few numbers and dated free-text facts. The judge reads, in order:
  place      a place the condition names with a locative word beside it ("在天河区依法登记注册"), or the
             document's own place ("本市户籍", "县域内投产"): unmet when the profile is elsewhere;
  dates      a dated condition ("专利申请日在2016年2月23日及之前") against the fact that dates the same
             thing ("申请日2016年5月"): unmet outside the range, met inside;
  numbers    a threshold ("年产值同比增长超过1000万元", "满一年", "2年内") against the fact or profile field
             that measures the same thing: unmet when it misses;
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
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from ingest.normalize import normalize
from ingest.vocab import group_lines, groups

MET, UNMET, UNKNOWN, SOFT = "met", "unmet", "unknown", "soft"
_DATE = re.compile(r"(\d{4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?")
_CN_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "半": 0.5}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|[一二两三四五六七八九十半])(亿元|万元|元|%|个月|年|人|件|家|亩)")
_GE = ("超过", "大于", "高于", "达到", "不低于", "不少于", "满", "以上", "及以上", "突破")
_LE = ("不超过", "以下", "以内", "低于", "少于", "内", "不足", "不满")
_PLACE = re.compile(r"[\u4e00-\u9fff]{2,5}?(?:省|市|县|区)")


def words(group: str) -> tuple[str, ...]:
    """One group of `ingest/data/match_words.txt`."""
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


@lru_cache(maxsize=1)
def _known_places() -> tuple[str, ...]:
    """Province and city names (qa/places.txt), the world-level list the refusal rules use too."""
    path = Path(__file__).with_name("places.txt")
    names = [w for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#") for w in line.split()]
    return tuple(sorted(set(names), key=len, reverse=True))


def without_self_places(cond: str) -> str:
    """The condition without the document's words for its own place (县域内, 本市), once they are checked."""
    for level in ("province", "city", "county", "district"):
        for w in sorted(words(f"self_{level}"), key=len, reverse=True):
            cond = cond.replace(w, "")
    return cond


def _place_check(cond: str, facts: Facts, place: Place) -> Check | None:
    for level in ("province", "city", "county", "district"):
        if any(w in cond for w in words(f"self_{level}")):
            own = place.level(level)
            if own and not in_region(own, facts.region):
                return Check(cond, UNMET, f"限{own}（企业在{facts.region or '未填地区'}）")
    cues = words("place_cue")
    known = Place(facts.region, None).parts() + place.parts() + list(_known_places())
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


def _shares(a: str, b: str) -> bool:
    a, b = a.replace("日", "").replace("时间", ""), b.replace("日", "").replace("时间", "")
    return any(a[i : i + 2] in b for i in range(len(a) - 1) if "|" not in a[i : i + 2])


def _date_check(cond: str, facts: Facts) -> Check | None:
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
            if not _shares(key, _date_key(text, m)):
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
        return _CN_DIGIT.get(text)


def _numbers(text: str) -> list[tuple[str, str, float, str, str]]:
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
        op = ">=" if before.endswith(_GE) or after.startswith(_GE) else "<=" if before.endswith(_LE) or after.startswith(_LE) else ""
        out.append((before, op, value, unit, after))
    return out


def _subject(before: str) -> str:
    for w in sorted(_GE + _LE + ("在", "为", "的", "已", "同比"), key=len, reverse=True):
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


def _number_check(cond: str, facts: Facts) -> Check | None:
    """A threshold in the condition against the fact or profile field measuring the same thing."""
    for before, op, value, unit, after in _numbers(cond):
        if not op or re.match(r"[至—-]", after) or _DATE.search(before[-6:] + str(value)):
            continue
        subject = _subject(before)
        found = _field_value(subject, unit, facts)
        source = "企业信息"
        if found is None:
            for text in facts.texts:
                for f_before, _, f_value, f_unit, f_after in _numbers(text):
                    f_subject = _subject(f_before) or f_after
                    if f_unit == unit and subject and _shares(subject, f_subject):
                        found, source = f_value, text
                        break
                if found is not None:
                    break
        if found is None:
            continue
        ok = found >= value if op == ">=" else found <= value
        return Check(cond, MET if ok else UNMET, source if ok else f"{source}（{'未达到' if op == '>=' else '超过'}{value:g}{unit}）")
    return None


def _tokens(text: str) -> list[str]:
    import jieba

    stop = set(words("stop"))
    return [t for t in jieba.lcut(text) if t not in stop and re.search(r"[\u4e00-\u9fffA-Za-z]", t)]


def _slots(text: str) -> list[set[str]]:
    """Content words as slots: the words around 、/和/及/与 share a slot (one of them is enough); a list
    with a word that asks nothing ("企业和社会组织") asks nothing (an empty slot)."""
    import jieba

    stop = set(words("stop")) | set(_GE) | set(_LE)
    text = re.sub(rf"(?:[\d.]+|[{''.join(_CN_DIGIT)}])(?:亿元|万元|元|%|个月|年|人|件|家|亩)?(?:及以上|以上|以下|以内|内)?", "", text)
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
    for check in (_place_check(text, facts, place), _date_check(text, facts), _number_check(text, facts)):
        if check is not None and check.status == UNMET:
            return Check(cond, UNMET, check.reason)
        settled = settled or check
    text = without_self_places(text)
    if not _slots(text) and settled is not None:
        return Check(cond, MET, settled.reason)  # the place, date or threshold was all it asked
    if any(w in text for w in words("soft")) or not _slots(text):
        return Check(cond, SOFT, "由主管部门认定")
    scored = sorted(((coverage(text, t), t) for t in facts.texts), reverse=True)
    best_score, best = scored[0] if scored else (0.0, "")
    # A threshold whose measure the facts name without a figure ("固定资产投资" but no amount) is open.
    unsettled = settled is None and any(op and _shares(_subject(b), facts.joined) for b, op, _, _, _ in _numbers(text))
    if not unsettled and (coverage(text, facts.joined) >= 0.75 or best_score >= 0.75):
        why = _refuted(text, best, place)
        return Check(cond, UNMET, why) if why else Check(cond, MET, settled.reason if settled else best)
    if best_score >= 0.3 and (why := _refuted(text, best, place)):
        return Check(cond, UNMET, why)
    return Check(cond, UNKNOWN, "企业信息中未说明")
