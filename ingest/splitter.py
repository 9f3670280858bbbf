"""Split a policy or legal document into clauses along its own numbering.

The splitter works on a view of the text in which page furniture is blanked and wrapped lines are
joined (`ingest.furniture`), so spans stay offsets into the source while markers and sentence ends
are seen as a reader sees them; a clause's text is its span rendered (furniture dropped, wraps
joined). Markers count at line starts only (`ingest.markers`). Levels are not fixed in advance: the
first marker kind seen becomes the outermost level, and a kind seen again closes everything opened
after it. That copes with documents that skip levels or start at (一). Each marker opens a provision
that runs to the next marker; a provision whose only text is its heading line is a section (it
appears in paths, not as a clause). A 附件 heading closes everything and opens an annex. A field-label
line ("补贴标准：…") after a run of numbered sub-items closes that run: it and what follows belong to
the item above, as further parts of it. Text before the first marker is the preamble clause. Long
provisions are cut at paragraph ends, then sentence ends, into parts that share one path. A document
with no markers at all falls back to one clause per paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.departments import find_tags, tag_units
from ingest.furniture import Layout, scan
from policyqa.text import SENTENCE_END
from ingest.markers import (
    LEGAL_RANK,
    Marker,
    drop_items_inside_articles,
    promote_section_headings,
    drop_out_of_sequence,
    find_annexes,
    find_labels,
    find_markers,
    is_marker_line,
)
from policyqa.text import normalize
from policyqa.text import CN_NUM, to_int
from ingest.records import Clause, Document
from ingest.tag_assign import assign_tags

__all__ = ["CN_NUM", "find_markers", "layout_of", "split_document", "structure_markers"]
_SOFT_END = re.compile(r"[，,、:]")
_ITEM_KINDS = ("一、", "(一)", "1.", "(1)")
_KIND_OF = {"条": "article", "附件": "annex", "编": "section", "章": "section", "节": "section"}


@dataclass
class _Piece:
    labels: tuple[str, ...]
    path: tuple[str, ...]
    kind: str
    segments: list[tuple[int, int]] = field(default_factory=list)


def layout_of(doc: Document) -> Layout:
    """The furniture and wrapped lines of `doc` (what `split_document` removes and joins)."""
    return _analyse(doc)[0]


def _analyse(doc: Document) -> tuple[Layout, str, list[Marker], str]:
    """The layout, the view the splitter reads, the structure markers and the normal form of `doc`.

    A cross-reference that starts a line mid-sentence ("…不再具备\n第五条所列…") is found only once
    the markers are known; its line break is then joined too.
    """
    norm = normalize(doc.text)
    layout = scan(doc.text, is_marker_line, norm)
    view = layout.view(norm)
    markers, continued = structure_markers(view)
    if continued:
        layout = layout.joining(view, doc.text, [m.start for m in continued])
        view = layout.view(norm)
    return layout, view, markers, norm


def structure_markers(view: str) -> tuple[list[Marker], list[Marker]]:
    """The markers that shape the document (numbering, annexes, the labels that close a run), and
    the line-start numbers that are cross-references continuing a sentence."""
    markers = find_markers(view)
    if markers and markers[0].kind == "md1" and not view[: markers[0].start].strip():
        follows = markers[1].start if len(markers) > 1 else len(view)
        if sum(m.kind == "md1" for m in markers) == 1 or not view[markers[0].line_end : follows].strip():
            markers = markers[1:]  # the top heading is the title: it stays in the preamble
    markers = sorted(markers + find_annexes(view), key=lambda m: m.start)
    markers, continued = drop_out_of_sequence(view, drop_items_inside_articles(promote_section_headings(view, markers)))
    events = sorted(markers + find_labels(view), key=lambda m: m.start)
    stack: list[Marker] = []
    kept: list[Marker] = []
    labelled: set[int] = set()  # items whose own text has reached its label lines
    for ev in events:
        if ev.kind == "label":
            if stack and id(stack[-1]) not in labelled:
                if _closes_run(view, stack, ev, labelled):
                    stack = stack[:-1]
                    kept.append(ev)
                if stack:
                    labelled.add(id(stack[-1]))
            continue
        stack = _push(stack, ev)
        kept.append(ev)
    return kept, continued


def _closes_run(view: str, stack: list[Marker], label: Marker, labelled: set[int]) -> bool:
    """Whether `label` closes the innermost run of numbered sub-items and goes back to their item.

    It does when the item above already had a label line before the run ("补贴条件：" then (1)…(3),
    then "补贴标准："), or when the item above is a numbered item, the run has more than one
    sub-item and the last one has said more than a bare title. Right under a bare title
    ("1.技改补助⏎申报条件："), or inside one item of a Markdown section, the label is the sub-item's.
    """
    if len(stack) < 2 or stack[-1].kind not in _ITEM_KINDS:
        return False
    top, parent = stack[-1], stack[-2]
    if id(parent) in labelled:
        return True
    said = view[top.start : label.start].strip()
    in_run = (to_int(top.label.strip("()")) or 0) > 1
    return parent.kind in _ITEM_KINDS and in_run and ("\n" in said or len(said) > 24)


def _is_heading_only(view: str, marker: Marker, next_start: int) -> bool:
    body = view[marker.line_end : next_start].strip()
    line = view[marker.start : marker.line_end].strip()
    # An article (第X条) is always a provision; other markers are headings when no sentence follows.
    return not body and marker.kind != "条" and len(line) <= 40 and not SENTENCE_END.search(line)


def _trim(view: str, start: int, end: int) -> tuple[int, int]:
    while start < end and view[start].isspace():
        start += 1
    while end > start and view[end - 1].isspace():
        end -= 1
    return start, end


def _cut_points(view: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut [start, end) into trimmed pieces of at most `limit` characters, preferring paragraph ends,
    then sentence ends, then commas; a hard cut only for a run with no punctuation at all."""
    start, end = _trim(view, start, end)
    if end - start <= limit:
        return [(start, end)] if end > start else []
    window = view[start : start + limit + 1]
    # Aim for equal parts so a long provision does not end in a scrap (such as a lone tag).
    target = (end - start) / -(-(end - start) // limit)
    for boundary in (re.compile(r"\n"), SENTENCE_END, _SOFT_END):
        cuts = [m.end() for m in boundary.finditer(window) if limit // 4 <= m.end() <= limit]
        if cuts:
            cut = start + min(cuts, key=lambda c: abs(c - target))
            return _cut_points(view, start, cut, limit) + _cut_points(view, cut, end, limit)
    cut = start + limit
    return [(start, cut)] + _cut_points(view, cut, end, limit)


def split_document(doc: Document, limit: int = 400) -> list[Clause]:
    """Split `doc` into clauses; every non-whitespace character outside section headings and removed
    furniture lands in exactly one clause."""
    layout, view, markers, norm = _analyse(doc)
    if not markers:
        pieces = [
            _Piece((f"段{n}",), (f"第{n}段",), "paragraph", [(m.start(), m.end())])
            for n, m in enumerate((m for m in re.finditer(r"[^\n]+", view) if m.group(0).strip()), start=1)
        ]
    else:
        pieces = _pieces(view, markers)
    pieces = [p for piece in pieces for p in _with_rows(view, piece)]
    return assign_tags(_to_clauses(doc, (layout, view, norm), pieces, limit), norm)


def _pieces(view: str, markers: list[Marker]) -> list[_Piece]:
    """One piece per provision (its segments: the marker's text, plus the parts labels hand back)."""
    pieces: list[_Piece] = []
    if view[: markers[0].start].strip():
        pieces.append(_Piece(("前言",), ("前言",), "preamble", [(0, markers[0].start)]))
    by_marker: dict[int, _Piece] = {}
    stack: list[Marker] = []
    for i, marker in enumerate(markers):
        next_start = markers[i + 1].start if i + 1 < len(markers) else len(view)
        if marker.kind == "label":
            stack = stack[:-1]
            owner = stack[-1]
            if id(owner) not in by_marker:
                by_marker[id(owner)] = _piece_for(stack)
                pieces.append(by_marker[id(owner)])
            by_marker[id(owner)].segments.append((marker.start, next_start))
            continue
        stack = _push(stack, marker)
        if _is_heading_only(view, marker, next_start):
            continue
        by_marker[id(marker)] = _piece_for(stack)
        by_marker[id(marker)].segments.append((marker.start, next_start))
        pieces.append(by_marker[id(marker)])
    return pieces


# A table row as loaders write it: three or more cells joined by " | ", or "名称：值；" pairs (in the
# normalised view the full-width colon and semicolon are ASCII).
_ROW = re.compile(r"^[ ]*(?:[^\n| ][^\n|]* \| [^\n|]* \| [^\n]*|(?:[^\n:;|]{1,12}:[^\n;]*;){2,}[^\n]*)$", re.MULTILINE)


def _with_rows(view: str, piece: _Piece) -> list[_Piece]:
    """`piece` with each table row inside it cut out as a row piece of its own (kind table_row).

    A table is two or more row lines in a row; the first row of a " | " table is its header and is
    carried in the path of the rows below it, so a row is read with its column names.
    """
    rows = [m for s, e in piece.segments if " | " in view[s:e] or ";" in view[s:e] for m in _ROW.finditer(view, s, e)]
    if len(rows) < 2:
        return [piece]
    out, rest, n, header = [], [], 0, None
    name = _table_name(view[piece.segments[0][0] : rows[0].start()], piece.path)
    for s, e in piece.segments:
        pos = s
        for m in (m for m in rows if s <= m.start() < e):
            rest.append((pos, m.start()))
            n += 1
            path = piece.path + ((name,) if name else ()) + ((header,) if header else ()) + (f"第{n}行",)
            out.append(_Piece(piece.labels + (f"行{n}",), path, "table_row", [(m.start(), m.end())]))
            if n == 1 and " | " in m.group(0):
                header = m.group(0).strip()[:40]
            pos = m.end()
        rest.append((pos, e))
    return [_Piece(piece.labels, piece.path, piece.kind, rest)] + out


def _table_name(before: str, path: tuple[str, ...]) -> str:
    """The table's name: the last short line above its first row (a caption or the annex's title),
    unless it is already the last entry of the path."""
    lines = [ln.strip() for ln in before.splitlines() if ln.strip()]
    if not lines or len(lines[-1]) > 40 or (path and lines[-1] in path[-1]):
        return ""
    return lines[-1]


def _piece_for(stack: list[Marker]) -> _Piece:
    marker = stack[-1]
    labels = tuple(m.label for m in stack)
    path = tuple(m.heading for m in stack[:-1]) + (_short(marker),)
    kind = _KIND_OF.get(marker.kind, "section" if marker.kind.startswith("md") else "item")
    return _Piece(labels, path, kind)


def _short(marker: Marker) -> str:
    """A clause's own path entry: its heading when it has a short title, else just its number.

    A numbered item ("1、", "(1)") shows its title only when its line is nothing but that title
    ("1、一次性创业资助" above its conditions), not the first words of a sentence it starts.
    """
    titled = len(marker.heading) <= 24 and marker.line_end - marker.start == len(marker.heading)
    if marker.kind.startswith("md") or marker.kind in ("一、", "(一)", "编", "章", "节", "附件") and len(marker.heading) <= 24:
        return marker.heading
    if marker.kind in ("1.", "(1)") and titled:
        return marker.heading
    line_label = {"1.": f"{marker.label}.", "一、": f"{marker.label}、"}.get(marker.kind, marker.label)
    return line_label


def _push(stack: list[Marker], marker: Marker) -> list[Marker]:
    kinds = [m.kind for m in stack]
    if marker.kind.startswith("md"):
        level = int(marker.kind[2:])
        while stack and (not stack[-1].kind.startswith("md") or int(stack[-1].kind[2:]) >= level):
            stack = stack[:-1]
        return stack + [marker]
    if marker.kind in LEGAL_RANK:
        # Legal levels are fixed: a chapter after bare articles (a missing 第一章) still encloses.
        rank = LEGAL_RANK[marker.kind]
        if rank < 0:
            return [marker]  # an annex closes everything, Markdown headings included
        while stack and not stack[-1].kind.startswith("md") and LEGAL_RANK.get(stack[-1].kind, 99) >= rank:
            stack = stack[:-1]
        return stack + [marker]
    if marker.kind in kinds:
        return stack[: kinds.index(marker.kind)] + [marker]
    return stack + [marker]


def _to_clauses(doc: Document, analysed: tuple[Layout, str, str], pieces: list[_Piece], limit: int) -> list[Clause]:
    layout, view, norm = analysed
    meta = doc.meta
    clauses: list[Clause] = []
    seen: dict[str, int] = {}
    for piece in pieces:
        parts = [p for s, e in piece.segments for p in _cut_points(view, s, e, limit)]
        if not parts:
            continue
        base = f"{meta.doc_id}#{'.'.join(piece.labels)}"
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            base += f"@{seen[base]}"
        shown = [_shown(doc.text, norm, layout, s, e) for s, e in parts]
        tags = find_tags("\n".join(t for t, _ in shown), "\n".join(n for _, n in shown))
        lead, departments, cooperating = tag_units(tags)
        for n, ((s, e), (text, text_norm)) in enumerate(zip(parts, shown), start=1):
            clauses.append(
                Clause(
                    id=base if len(parts) == 1 else f"{base}~{n}",
                    doc_id=meta.doc_id,
                    doc_title=meta.title,
                    path=piece.path,
                    text=text,
                    span=(s, e),
                    lead=lead,
                    departments=departments,
                    cooperating=cooperating,
                    region=meta.region,
                    part=0 if len(parts) == 1 else n,
                    tags=tuple(t.raw for t in find_tags(text, text_norm)),
                    kind=piece.kind,
                )
            )
    return sorted(clauses, key=lambda c: c.span)


def _shown(text: str, norm: str, layout: Layout, start: int, end: int) -> tuple[str, str]:
    """A part's text as shown and its normal form (a slice of both when nothing in it is edited)."""
    if not layout.touches(start, end):
        return text[start:end], norm[start:end]
    shown = layout.render(text, start, end)
    return shown, normalize(shown)
