"""Numbering markers at line starts: which lines open a provision, an annex, or a field label.

Markers are recognised at the start of a line only (after indentation), on the splitter's view of
the text (furniture blanked, wrapped lines joined). Three kinds of evidence keep text from being read
as numbering: spaced legal headings ("第 四 章") are headings like unspaced ones; a 附件 heading opens
an annex, except the "附件：…" list line that precedes the annexes themselves; and legal articles run
in sequence, so a line that starts with an out-of-sequence 第N条 right after a line that does not end
a sentence ("…不再具备\n第五条所列…") is a cross-reference, not an article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from policyqa.text import CN_NUM, SENTENCE_END, to_int
from policyqa.vocab import words

_N = rf"[{CN_NUM}\d]"
_SPACED = rf"{_N}(?: *{_N})*"  # "第 十 二 条": PDF and OCR text spaces the characters out
_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("md", re.compile(r"(#{1,6})[ \t]+(\S.*)")),
    ("编", re.compile(rf"第 *{_SPACED} *(?:分 *)?编")),
    ("章", re.compile(rf"第 *{_SPACED} *章")),
    ("节", re.compile(rf"第 *{_SPACED} *节")),
    ("条", re.compile(rf"第 *{_SPACED} *条(?:之[{CN_NUM}]+)?")),
    ("一、", re.compile(rf"[{CN_NUM}]+(?:[、.]| +、)")),  # "二 、支持范围" as typed in some pages
    ("(一)", re.compile(rf"\([{CN_NUM}]+\)")),
    ("1.", re.compile(r"\d{1,3}(?:[、]|\.(?!\d))")),
    ("(1)", re.compile(r"\(\d{1,3}\)")),
]
LEGAL_RANK = {"附件": -1, "编": 0, "章": 1, "节": 2, "条": 3}
_ANNEX = re.compile(rf"附 *件 *({_N}*) *(?:[:.、] *)?(\S.*)?")
_KINDS = [k for k, _ in _MARKERS]
_ANY_MARKER = re.compile(r"^[ ]*(?:" + "|".join(f"(?:{p.pattern})" for _, p in _MARKERS) + ")", re.MULTILINE)


@dataclass
class Marker:
    """One line that opens a provision (or an annex, or a label): its kind, id label and heading."""

    kind: str
    label: str  # as used in ids: 二, (一), 3, 第三条, 附件1, or a Markdown heading's text
    heading: str  # the heading line as shown in paths
    start: int  # offset of the marker's first character
    line_end: int


def _label(kind: str, raw: str) -> str:
    raw = raw.replace(" ", "")
    if kind == "一、":
        return raw[:-1]
    if kind == "1.":
        return raw.rstrip(".、")
    return raw


def _heading_text(line: str, raw: str) -> str:
    """The heading shown in a path: the marker (spaces closed up) and its title, cut at a sentence end."""
    rest = line[len(raw) :]
    m = re.search(r"[。！？；;:：]", rest)
    title = rest if m is None else rest[: m.start()]
    compact = raw.replace(" ", "")
    if compact.endswith(("、", ".", ")")):  # "二 、 支持范围" shows as "二、支持范围"
        return (compact + title.strip()).strip()[:40]
    if compact != raw:  # "第 四 章 见习基地管理" shows as "第四章 见习基地管理"
        return (compact + " " + title.strip()).strip()[:40]
    return (raw + title).strip()[:40]


def is_marker_line(line: str) -> bool:
    """True when `line` (normalised, stripped) starts with a numbering marker."""
    return bool(_ANY_MARKER.match(line))


def find_markers(view: str) -> list[Marker]:
    """Every line of `view` that starts with a numbering marker, in order (no annexes or labels)."""
    found: list[Marker] = []
    for hit in _ANY_MARKER.finditer(view):
        line_end = view.find("\n", hit.start())
        line_end = len(view) if line_end < 0 else line_end
        line = view[hit.start() : line_end]
        stripped = line.lstrip(" ")
        start = hit.start() + len(line) - len(stripped)
        for kind, pattern in _MARKERS:
            m = pattern.match(stripped)
            if not m:
                continue
            if kind != "md":
                raw = m.group(0)
                found.append(Marker(kind, _label(kind, raw), _heading_text(stripped, raw), start, line_end))
                break
            title = m.group(2).strip()
            inner = next(((k, p) for k, p in _MARKERS[1:5] if p.match(title)), None)
            if inner:
                # "## 第一节" under "### 第一章" occurs: the legal numbering decides the level.
                raw = inner[1].match(title).group(0)
                found.append(Marker(inner[0], _label(inner[0], raw), _heading_text(title, raw), start, line_end))
            else:
                found.append(Marker(f"md{len(m.group(1))}", title[:30], title[:40], start, line_end))
            break
    return in_sequence_items(view, found)


_DECIMAL_LOOKING = re.compile(r"^[ ]*(\d{1,3})\.(?=\d)", re.MULTILINE)  # "11.121人才梯队项目" or "3.5倍…"


def in_sequence_items(view: str, found: list[Marker]) -> list[Marker]:
    """`found` plus the "N." items whose number runs straight into digits ("11.121人才梯队项目"): such a
    line opens item N only when it continues the sequence on both sides (N-1 before it, N+1 after it
    or nothing after), else it is a decimal ("3.5倍") and stays text."""
    items = [m for m in found if m.kind == "1."]
    added = []
    for hit in _DECIMAL_LOOKING.finditer(view):
        n = int(hit.group(1))
        before = [m for m in items if m.start < hit.start()]
        after = [m for m in items if m.start > hit.start()]
        prev_ok = bool(before) and before[-1].label.isdigit() and int(before[-1].label) == n - 1
        next_ok = not after or (after[0].label.isdigit() and int(after[0].label) == n + 1)
        if prev_ok and next_ok:
            line_end = view.find("\n", hit.start())
            line_end = len(view) if line_end < 0 else line_end
            start = hit.start(1)
            raw = view[start : hit.end()]
            added.append(Marker("1.", str(n), _heading_text(view[start:line_end], raw), start, line_end))
    return sorted(found + added, key=lambda m: m.start) if added else found


def find_annexes(view: str) -> list[Marker]:
    """附件 headings: "附件", "附件1", "附件2：名称" at a line start, short and without a sentence end.

    A "附件：名称" line that comes before a bare "附件"/"附件N" line is the annex list of the body,
    not an annex; an annex heading that opens the document names the document itself.
    """
    found: list[tuple[Marker, bool]] = []
    for m in re.finditer(r"^ *(附 *件.*)$", view, re.MULTILINE):
        line = m.group(1).strip()
        a = _ANNEX.fullmatch(line)
        if not a or len(line) > 40 or SENTENCE_END.search(line) or not view[: m.start(1)].strip():
            continue
        if a.group(2) and not a.group(1) and not re.match(r"附 *件 *[:.、 ]", line):
            continue  # "附件材料清单" is text about annexes, "附件：清单" and "附件1清单" head one
        label = "附件" + a.group(1).replace(" ", "")
        found.append((Marker("附件", label, line, m.start(1), m.end(1)), a.group(2) is None))
    first_bare = next((i for i, (_, bare) in enumerate(found) if bare), None)
    if first_bare is None:
        return [mk for mk, _ in found]
    return [mk for i, (mk, _) in enumerate(found) if i >= first_bare]


def find_labels(view: str) -> list[Marker]:
    """Field-label lines ("补贴对象：…", "申报材料："): a short phrase ending in a label noun and a colon."""
    nouns = words("label_nouns")
    pattern = re.compile(r"^ *([\u4e00-\u9fff]{0,8}?(?:" + "|".join(nouns) + r")) *[:：]", re.MULTILINE)
    found = []
    for m in pattern.finditer(view):
        line_end = view.find("\n", m.start(1))
        line_end = len(view) if line_end < 0 else line_end
        if not is_marker_line(view[m.start(1) : line_end]):
            found.append(Marker("label", m.group(1), m.group(1), m.start(1), line_end))
    return found


_SECTION_LEVEL = {"一、": "章", "(一)": "节"}


def promote_section_headings(view: str, markers: list[Marker]) -> list[Marker]:
    """Numbered headings above articles read as chapters and sections: a bare-title "一、政策支持" or
    "(一)固定资产投资奖励" line (no punctuation, nothing under it but further such titles before a
    第N条), standing where a sentence has ended, encloses the articles after it like 第一章 would.
    An "一、…" line inside an article's list ("…如下：⏎一、…；") stays an item of that article."""
    out = list(markers)
    for i, m in enumerate(markers):
        if m.kind not in _SECTION_LEVEL or not _bare_title(view, m):
            continue
        j = i + 1
        while j < len(markers) and markers[j].kind in _SECTION_LEVEL and _bare_title(view, markers[j]):
            j += 1
        if j == len(markers) or markers[j].kind != "条" or view[m.line_end : markers[i + 1].start].strip():
            continue
        before = view[: m.start].rstrip()
        if before and not re.search(r"[。！？!?][”’\"')）]*$", before) and not (i and out[i - 1].kind in ("章", "节")
                                                                          and out[i - 1].line_end >= len(before)):
            continue
        out[i] = replace(m, kind=_SECTION_LEVEL[m.kind])
    return out


def _bare_title(view: str, marker: Marker) -> bool:
    line = view[marker.start : marker.line_end].strip()
    return len(line) <= 24 and not re.search(r"[，,。；;：:！？!?]", line)


def drop_items_inside_articles(markers: list[Marker]) -> list[Marker]:
    """In legal texts an article (第X条) is the unit: its (一)/1. items stay inside it."""
    kept, in_article = [], False
    for m in markers:
        if m.kind == "条":
            in_article = True
        elif m.kind in LEGAL_RANK or m.kind.startswith("md"):
            in_article = False
        elif in_article:
            continue
        kept.append(m)
    return kept


def _article_number(label: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"第(.+?)条(?:之(.+))?", label)
    if not m:
        return None
    base = to_int(m.group(1))
    sub = (to_int(m.group(2)) or 0) if m.group(2) else 0
    return None if base is None else (base, sub)


def _ends_mid_sentence(view: str, pos: int, headings: set[int]) -> bool:
    """True when the text before `pos` stops inside a sentence: not after a sentence end, a blank
    line, a marker heading, or a short line with no punctuation at all (an unnumbered heading)."""
    before = view[:pos].rstrip(" ")
    if not before.strip() or before.endswith("\n\n") or re.search(r"\n[ ]*\n[ ]*$", before):
        return False
    before = before.rstrip()
    raw = before[before.rfind("\n") + 1 :]
    line = raw.strip()
    if len(before) - len(raw.lstrip()) in headings:
        return False
    if len(line) <= 40 and not re.search(r"[，,、。；;：:！？!?]", line):
        return False
    return not re.search(r"[。！？!?；;:：][”’\"')）]*$", before)


def drop_out_of_sequence(view: str, markers: list[Marker]) -> tuple[list[Marker], list[Marker]]:
    """Drop 第N条 lines that break the article sequence: they are cross-references, not articles.

    An article may repeat its predecessor's number only as 第N条之一; a restart at 第一条 (an annex
    with its own articles) and a forward gap after a finished sentence (an excerpt) are articles.
    Returns the markers kept and the dropped ones that continue a sentence (their line break is a
    wrap, to be joined).
    """
    kept: list[Marker] = []
    continued: list[Marker] = []
    last: tuple[int, int] | None = None
    headings = {m.start for m in markers if m.kind != "条"}
    for m in markers:
        if m.kind == "附件":
            last = None
        number = _article_number(m.label) if m.kind == "条" else None
        if number is not None and last is not None:
            in_step = number[0] == last[0] + 1 and number[1] == 0 or number[0] == last[0] and number[1] > last[1]
            restart = number == (1, 0)
            forward = number > last and not _ends_mid_sentence(view, m.start, headings)
            if not (in_step or restart or forward):
                if _ends_mid_sentence(view, m.start, headings):
                    continued.append(m)
                continue
        if number is not None:
            last = number
        kept.append(m)
    return kept, continued
