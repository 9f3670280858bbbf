"""The fields of a support item besides its amount: applicants, list members, handling unit, validity.

All read from the text as written, by shape: an applicant is a phrase ending in an applicant-kind
suffix (企业, 纳税人, 毕业生…); a handling unit follows 向/由/报送至 and ends like a unit
(ingest/units.py) or in 部门/机构/机关; validity comes from "自…起施行" and "有效期…". Word lists live
in `data/item_words.txt`. Trade-off: a unit named without any of those shapes is not found, and the
item says so (department "") rather than guessing.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

from ingest.amounts import number, words
from ingest.units import has_unit_suffix
from policyqa.text import CN_NUM

_BOUNDARY = "的对为由向和或及与、,，:：;；。%"
_HANDLER_END = ("部门", "机构", "机关", "学校", "办公室", "工作站", "小组", "科", "站", "处")
_DATE = r"(\d{4})年(\d{1,2})月(\d{1,2})日"


@lru_cache(maxsize=1)
def _applicant_pattern() -> re.Pattern[str]:
    suffixes = "|".join(sorted(map(re.escape, words("applicant_suffix")), key=len, reverse=True))
    return re.compile(rf"[^{_BOUNDARY}]{{0,18}}?(?:{suffixes})(?![\u4e00-\u9fff]{{0,1}}(?:{suffixes}))")


def applicants(texts: list[str]) -> tuple[str, ...]:
    """Applicant kinds as written in `texts` (squeezed): 高新技术企业, 港澳青年企业, 增值税一般纳税人."""
    found: list[str] = []
    for text in texts:
        text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", text)
        for m in _applicant_pattern().finditer(text):
            phrase = re.sub(r"^(?:[\d年月日内以上下]+|在|到|入驻|给予|分别给予|当年分别给予|当年给予|可对)", "",
                            m.group(0).strip("“”\"()"))
            if 2 <= len(phrase) <= 16 and not re.search(r"\d{4}年", phrase):
                found.append(phrase)
    return tuple(dict.fromkeys(found))[:4]


_MEMBER_STOP = ("认定为", "评定为", "评为", "列入", "获批", "获得", "获", "为", "的", "对", "在", "是", ",", "，", "、")


def list_members(text: str, n: int) -> tuple[int, int, list[str]] | None:
    """The n parallel members of a list in `text` ("国家级和省级", "国际标准、国家标准、行业标准",
    "“小升规”“规改股”“股上市”"): (start, end, members), or None when no list of n is found.

    The ends are read to the nearest stop word ("评为省级未来工厂、…、绍兴市级数字化车间的"); when the
    last end runs far longer than the first, the members are modifiers of one head noun ("国家级和省级
    企业技术中心"), and the first word after the separator is the last member."""
    quoted = [m for m in re.finditer(r"“[^“”]{1,12}”", text)]
    for i in range(len(quoted) - n + 1):
        run = quoted[i : i + n]
        if all(text[run[k].end() : run[k + 1].start()] in ("", "、", "和", "及", "与", "或") for k in range(n - 1)):
            return run[0].start(), run[-1].end(), [q.group(0) for q in run]
    seps = [m.start() for m in re.finditer(r"[、和及与]", text)]
    for i in range(len(seps) - n + 2):
        window = seps[i : i + n - 1]
        if not window:
            return None
        middle = [text[a + 1 : b] for a, b in zip(window, window[1:])]
        if any(not 1 <= len(x) <= 12 or not re.fullmatch(r"[\u4e00-\u9fff“”]+", x) for x in middle):
            continue
        first, last = _back_to_stop(text, window[0]), _forward_to_stop(text, window[-1] + 1)
        if len(first) <= 3 and len(last) >= len(first) + 3:
            last = _token_after(text, window[-1] + 1)  # 国家级和省级企业技术中心: modifiers of one noun
        if first and last:
            return window[0] - len(first), window[-1] + 1 + len(last), [first, *middle, last]
    return None


def _back_to_stop(text: str, pos: int) -> str:
    head = text[max(0, pos - 16) : pos]
    cut = max((head.rfind(w) + len(w) for w in _MEMBER_STOP if w in head), default=0)
    member = head[cut:]
    return member if re.fullmatch(r"[\u4e00-\u9fff“”]{1,16}", member) else ""


def _forward_to_stop(text: str, pos: int) -> str:
    tail = text[pos : pos + 20]
    cut = min((tail.find(w) for w in ("的", ",", "，", "(", "（", "分别", "给予") if w in tail), default=len(tail))
    member = tail[:cut]
    return member if re.fullmatch(r"[\u4e00-\u9fff“”]{1,20}", member) else ""


def _tokens(text: str) -> list[str]:
    import jieba

    return [t for t in jieba.lcut(text) if t.strip()]


def _token_after(text: str, pos: int) -> str:
    tokens = _tokens(text[pos : pos + 12])
    return tokens[0] if tokens and re.fullmatch(r"[\u4e00-\u9fff]+", tokens[0]) else ""


def _looks_like_handler(name: str) -> bool:
    return 3 <= len(name) <= 30 and (has_unit_suffix(name) or name.endswith(_HANDLER_END))


def handler(text: str) -> str:
    """The unit that handles applications in squeezed `text` ("向所在地人力资源社会保障部门提出",
    "报送至市经信局…", "由…审核"), or ""."""
    before = "|".join(map(re.escape, words("handler_before")))
    after = "|".join(map(re.escape, words("handler_after")))
    for m in re.finditer(rf"(?:{before})([^,，。;；()向由]{{2,30}}?)(?={after}|[,，。;；]|$)", text):
        name = re.sub(r"^(?:至|到|经|由|向)", "", m.group(1))
        if _looks_like_handler(name):
            return name
    for m in re.finditer(r"([^,，。;；()、]{3,20}?)(?:审核批准|负责受理|受理申请)", text):
        name = re.sub(r"^(?:经|由|向)", "", m.group(1))
        if _looks_like_handler(name):
            return name
    return ""


def _iso(y: str, mo: str, d: str) -> str:
    return f"{int(y):04d}-{int(mo):02d}-{int(d):02d}"


def validity(text: str, issued: str = "") -> tuple[str, str]:
    """(valid_from, valid_to) as yyyy-mm-dd from a document's squeezed text; "" where it does not say."""
    start = end = ""
    opens = "|".join(map(re.escape, words("valid_from")))
    m = re.search(rf"自{_DATE}(?:{opens})", text)
    if m:
        start = _iso(*m.groups())
    elif re.search(rf"自(?:发布|印发)之日(?:{opens})", text):
        start = issued
    m = re.search(rf"(?:{'|'.join(map(re.escape, words('valid_to')))}){_DATE}", text)
    if m:
        end = _iso(*m.groups())
    else:
        m = re.search(rf"有效期(?:为)?([\d{CN_NUM}]+)年|(?:暂定)?([\d{CN_NUM}]+)年有效期", text)
        years = number(m.group(1) or m.group(2)) if m else None
        if years and start:
            y, mo, d = map(int, start.split("-"))
            end = (date(y + int(years), mo, d) - timedelta(days=1)).isoformat()
    return start, end


def exclusions(text: str) -> tuple[str, ...]:
    """What `text` leaves out: "不含深圳", "港澳台除外" → the named things (a matcher checks places)."""
    before = "|".join(map(re.escape, words("exclude_before")))
    after = "|".join(map(re.escape, words("exclude_after")))
    found: list[str] = []
    for m in re.finditer(rf"(?:{before})([^,，。;；()]{{2,20}})", text):
        found += re.split(r"[、和及与]", m.group(1))
    for m in re.finditer(rf"([^,，。;；()]{{2,12}})(?:{after})", text):
        found += re.split(r"[、和及与]", m.group(1))
    return tuple(dict.fromkeys(x.strip("()") for x in found if len(x.strip("()")) >= 2))
