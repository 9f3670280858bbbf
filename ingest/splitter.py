"""Split a policy or legal document into clauses along its own numbering.

Markers are recognised at the start of a line only (after indentation), which is how these texts
number provisions; the body usually continues on the same line ("(一)战略定位。全面贯彻…").
Levels are not fixed in advance: the first marker kind seen becomes the outermost level, and a kind
seen again closes everything opened after it. That copes with documents that skip levels or start
at (一). Each marker opens a provision that runs to the next marker; a provision whose only text is
its heading line is a section (it appears in paths, not as a clause). Text before the first marker
is the preamble clause. Long provisions are cut at paragraph ends, then sentence ends, into parts
that share one path. A document with no markers at all falls back to one clause per paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.departments import find_tags, tag_units
from ingest.normalize import normalize
from ingest.records import Clause, Document
from ingest.tag_assign import assign_tags

CN_NUM = "一二三四五六七八九十百千万零〇两"
_MARKERS: list[tuple[str, re.Pattern[str]]] = [
    ("md", re.compile(r"(#{1,6})[ \t]+(\S.*)")),
    ("编", re.compile(rf"第[{CN_NUM}\d]+(?:分)?编")),
    ("章", re.compile(rf"第[{CN_NUM}\d]+章")),
    ("节", re.compile(rf"第[{CN_NUM}\d]+节")),
    ("条", re.compile(rf"第[{CN_NUM}\d]+条(?:之[{CN_NUM}]+)?")),
    ("一、", re.compile(rf"[{CN_NUM}]+[、.]")),
    ("(一)", re.compile(rf"\([{CN_NUM}]+\)")),
    ("1.", re.compile(r"\d{1,3}(?:[、]|\.(?!\d))")),
    ("(1)", re.compile(r"\(\d{1,3}\)")),
]
_LEGAL_RANK = {"编": 0, "章": 1, "节": 2, "条": 3}
_SENTENCE_END = re.compile(r"[。！？!?；;]+[”’\"')）]*")
_SOFT_END = re.compile(r"[，,、:]")


@dataclass
class _Marker:
    kind: str
    label: str  # as used in ids: 二, (一), 3, 第三条, or a Markdown heading's text
    heading: str  # the heading line as shown in paths
    start: int  # line start offset
    line_end: int


def _label(kind: str, raw: str) -> str:
    if kind == "一、":
        return raw[:-1]
    if kind == "1.":
        return raw.rstrip(".、")
    return raw


def _heading_text(line: str, marker_len: int) -> str:
    """The heading shown in a path: the marker plus its title, cut at the first sentence end."""
    m = re.search(r"[。！？；;:：]", line[marker_len:])
    head = line if m is None else line[: marker_len + m.start()]
    return head.strip()[:40]


_KINDS = [k for k, _ in _MARKERS]
# One multiline pass finds candidate lines; the per-kind patterns then label them in priority order.
_ANY_MARKER = re.compile(
    r"^[ ]*(?:" + "|".join(f"(?:{p.pattern})" for _, p in _MARKERS) + ")", re.MULTILINE
)


def find_markers(norm: str) -> list[_Marker]:
    """Every line that starts with a numbering marker, in order."""
    found: list[_Marker] = []
    for hit in _ANY_MARKER.finditer(norm):
        line_start = hit.start()
        line_end = norm.find("\n", line_start)
        line_end = len(norm) if line_end < 0 else line_end
        line = norm[line_start:line_end]
        stripped = line.lstrip(" ")
        start = line_start + len(line) - len(stripped)
        for kind, pattern in _MARKERS:
            m = pattern.match(stripped)
            if not m:
                continue
            if kind == "md":
                title = m.group(2).strip()
                inner = next(((k, p) for k, p in _MARKERS[1:5] if p.match(title)), None)
                if inner:
                    # "## 第一节" under "### 第一章" occurs: the legal numbering decides the level.
                    found.append(_Marker(inner[0], inner[1].match(title).group(0), title[:40], start, line_end))
                else:
                    found.append(_Marker(f"md{len(m.group(1))}", title[:30], title[:40], start, line_end))
            else:
                found.append(_Marker(kind, _label(kind, m.group(0)), _heading_text(stripped, m.end()), start, line_end))
            break
    return found


def _drop_items_inside_articles(markers: list[_Marker]) -> list[_Marker]:
    """In legal texts an article (第X条) is the unit: its (一)/1. items stay inside it."""
    kept, in_article = [], False
    for m in markers:
        if m.kind == "条":
            in_article = True
        elif m.kind in ("编", "章", "节") or m.kind.startswith("md"):
            in_article = False
        elif in_article:
            continue
        kept.append(m)
    return kept


def _is_heading_only(norm: str, marker: _Marker, next_start: int) -> bool:
    body = norm[marker.line_end : next_start].strip()
    line = norm[marker.start : marker.line_end].strip()
    # An article (第X条) is always a provision; other markers are headings when no sentence follows.
    return not body and marker.kind != "条" and len(line) <= 40 and not _SENTENCE_END.search(line)


def _trim(norm: str, start: int, end: int) -> tuple[int, int]:
    while start < end and norm[start].isspace():
        start += 1
    while end > start and norm[end - 1].isspace():
        end -= 1
    return start, end


def _cut_points(norm: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut [start, end) into trimmed pieces of at most `limit` characters, preferring paragraph ends,
    then sentence ends, then commas; a hard cut only for a run with no punctuation at all."""
    start, end = _trim(norm, start, end)
    if end - start <= limit:
        return [(start, end)] if end > start else []
    window = norm[start : start + limit + 1]
    # Aim for equal parts so a long provision does not end in a scrap (such as a lone tag).
    target = (end - start) / -(-(end - start) // limit)
    for boundary in (re.compile(r"\n"), _SENTENCE_END, _SOFT_END):
        cuts = [m.end() for m in boundary.finditer(window) if limit // 4 <= m.end() <= limit]
        if cuts:
            cut = start + min(cuts, key=lambda c: abs(c - target))
            return _cut_points(norm, start, cut, limit) + _cut_points(norm, cut, end, limit)
    cut = start + limit
    return [(start, cut)] + _cut_points(norm, cut, end, limit)


def split_document(doc: Document, limit: int = 400) -> list[Clause]:
    """Split `doc` into clauses; every non-whitespace character outside section headings lands in
    exactly one clause."""
    text = doc.text
    norm = normalize(text)
    markers = find_markers(norm)
    if markers and markers[0].kind == "md1" and not norm[: markers[0].start].strip():
        follows = markers[1].start if len(markers) > 1 else len(norm)
        if sum(m.kind == "md1" for m in markers) == 1 or not norm[markers[0].line_end : follows].strip():
            markers = markers[1:]  # the top heading is the title: it stays in the preamble
    markers = _drop_items_inside_articles(markers)
    pieces: list[tuple[tuple[str, ...], tuple[str, ...], int, int]] = []  # (labels, path, start, end)
    if not markers:
        para = 0
        for m in re.finditer(r"[^\n]+", norm):
            if m.group(0).strip():
                para += 1
                pieces.append(((f"段{para}",), (f"第{para}段",), m.start(), m.end()))
    else:
        if norm[: markers[0].start].strip():
            pieces.append((("前言",), ("前言",), 0, markers[0].start))
        stack: list[_Marker] = []
        for i, marker in enumerate(markers):
            next_start = markers[i + 1].start if i + 1 < len(markers) else len(norm)
            stack = _push(stack, marker)
            if _is_heading_only(norm, marker, next_start):
                continue
            labels = tuple(m.label for m in stack)
            path = tuple(m.heading for m in stack[:-1]) + (_short(marker),)
            pieces.append((labels, path, marker.start, next_start))
    return assign_tags(_to_clauses(doc, norm, pieces, limit), norm)


def _short(marker: _Marker) -> str:
    """A clause's own path entry: its heading when it has a short title, else just its number."""
    if marker.kind.startswith("md") or marker.kind in ("一、", "(一)", "编", "章", "节") and len(marker.heading) <= 24:
        return marker.heading
    line_label = {"1.": f"{marker.label}.", "一、": f"{marker.label}、"}.get(marker.kind, marker.label)
    return line_label


def _push(stack: list[_Marker], marker: _Marker) -> list[_Marker]:
    kinds = [m.kind for m in stack]
    if marker.kind.startswith("md"):
        level = int(marker.kind[2:])
        while stack and (not stack[-1].kind.startswith("md") or int(stack[-1].kind[2:]) >= level):
            stack = stack[:-1]
        return stack + [marker]
    if marker.kind in _LEGAL_RANK:
        # Legal levels are fixed: a chapter after bare articles (a missing 第一章) still encloses.
        rank = _LEGAL_RANK[marker.kind]
        while stack and not stack[-1].kind.startswith("md") and _LEGAL_RANK.get(stack[-1].kind, 99) >= rank:
            stack = stack[:-1]
        return stack + [marker]
    if marker.kind in kinds:
        return stack[: kinds.index(marker.kind)] + [marker]
    return stack + [marker]


def _to_clauses(doc: Document, norm: str, pieces, limit: int) -> list[Clause]:
    meta = doc.meta
    clauses: list[Clause] = []
    seen: dict[str, int] = {}
    for labels, path, start, end in pieces:
        parts = _cut_points(norm, start, end, limit)
        if not parts:
            continue
        base = f"{meta.doc_id}#{'.'.join(labels)}"
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            base += f"@{seen[base]}"
        whole = doc.text[parts[0][0] : parts[-1][1]]
        tags = find_tags(whole, norm[parts[0][0] : parts[-1][1]])
        lead, departments, cooperating = tag_units(tags)
        for n, (s, e) in enumerate(parts, start=1):
            piece = doc.text[s:e]
            clauses.append(
                Clause(
                    id=base if len(parts) == 1 else f"{base}~{n}",
                    doc_id=meta.doc_id,
                    doc_title=meta.title,
                    path=path,
                    text=piece,
                    span=(s, e),
                    lead=lead,
                    departments=departments,
                    cooperating=cooperating,
                    region=meta.region,
                    part=0 if len(parts) == 1 else n,
                    tags=tuple(t.raw for t in find_tags(piece, norm[s:e])),
                )
            )
    return clauses
