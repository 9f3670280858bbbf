"""Page furniture and wrapped lines in text that came out of a PDF, an OCR engine or a Markdown export.

A `Layout` says what in a document's text is not document text (page numbers such as "— 5 —" or
"第5页 共12页", running headers repeated beside the page numbers, "(此页无正文)", HTML tags and image
links left in Markdown) and which line breaks only wrap a sentence. The original text is never
changed: the layout is a list of edits over it, so spans stay offsets into the source and every
removal can be shown to the user (`Furniture`, with its span). Two views come from the edits:

- `view(norm)`: the same length as the text, edited ranges blanked (a wrapped line break becomes a
  space), so the splitter finds line-start markers and sentence ends as a reader sees them;
- `render(text, start, end)`: the text a clause shows and quotes, furniture dropped, wraps joined.

Trade-off: a line break is taken for a wrap only on evidence — the document is laid out at a fixed
width (most lines within two characters of one width and almost none longer) and the line is full
and does not end a sentence, or the line ends with a comma. Tidy texts with one paragraph a line
therefore never have lines joined.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from policyqa.text import normalize
from policyqa.vocab import words

_DASH = r"[-—–―~_]"
_PAGE_NUMBER = re.compile(
    rf"{_DASH}+ *\d{{1,4}} *{_DASH}+"
    r"|第 *[\d一二三四五六七八九十百]+ *页(?: *[,，/]? *共 *[\d一二三四五六七八九十百]+ *页)?"
    r"|共 *\d+ *页 *[,，]? *第 *\d+ *页"
    r"|[Pp]age *\d+(?: *(?:of|/) *\d+)?"
)
_MARKUP = re.compile(
    r"<!--.{0,2000}?-->"
    r"|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,500})?/?>"
    r"|!\[[^\]\n]{0,200}\]\([^)\n]{0,500}\)",
    re.DOTALL,
)
# A sentence end, possibly followed by a parenthesis that closes the line ("…。（市科技局牵头）").
_HARD_END = re.compile(r"[。！？!?；;:：][”’\"')）\]]*(?:[（(][^（()）\n]{1,60}[)）])?$")
_SOFT_END = re.compile(r"[，,、]$")
_SENTENCE_PUNCT = re.compile(r"[。；！？;!?]")


@dataclass(frozen=True)
class Furniture:
    """Something removed from a document because it is page furniture, not text: kind, text, span."""

    kind: str  # page_number | running_header | page_marker | markup
    text: str
    span: tuple[int, int]

    def to_json(self) -> dict:
        """The shape `policyqa clauses --json` prints for a removed piece."""
        return {"furniture": self.kind, "text": self.text, "span": list(self.span)}


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    replacement: str  # what `render` shows instead of text[start:end]
    join: bool  # a wrapped line break: its newlines vanish from the view too


@dataclass(frozen=True)
class Layout:
    """The furniture found in one text and the edits that drop it and join wrapped lines."""

    removed: tuple[Furniture, ...]
    edits: tuple[_Edit, ...]

    def view(self, norm: str) -> str:
        """`norm` with every edited range blanked: same length, newlines kept except in joins."""
        chars = list(norm)
        for e in self.edits:
            for i in range(e.start, e.end):
                if e.join or chars[i] != "\n":
                    chars[i] = " "
        return "".join(chars)

    def joining(self, view: str, text: str, positions: list[int]) -> "Layout":
        """This layout plus a join before each line start in `positions` (lines that go on a
        sentence the line above left open, such as a wrapped cross-reference "第五条所列…")."""
        edits = list(self.edits)
        for pos in positions:
            start = len(view[:pos].rstrip())
            edits.append(_Edit(start, pos, _glue(text, start, pos), True))
        return Layout(self.removed, tuple(_merge(edits)))

    def touches(self, start: int, end: int) -> bool:
        """True when some edit overlaps [start, end)."""
        i = bisect.bisect_left(self._ends, start + 1)
        return i < len(self.edits) and self.edits[i].start < end

    @cached_property
    def _ends(self) -> list[int]:
        return [e.end for e in self.edits]

    def render(self, text: str, start: int, end: int) -> str:
        """`text[start:end]` as a reader sees it: furniture dropped, wrapped lines joined."""
        out, pos = [], start
        for e in self.edits:
            if e.end <= start or e.start >= end:
                continue
            out.append(text[pos : max(pos, e.start)])
            if start <= e.start and e.end <= end:
                out.append(e.replacement)
            pos = max(pos, min(e.end, end))
        out.append(text[pos:end])
        return "".join(out)


@dataclass
class _Line:
    start: int
    end: int  # before the newline
    text: str  # stripped
    furniture: str = ""  # kind when the whole line is furniture


def scan(text: str, is_marker_line=lambda line: False, norm: str | None = None) -> Layout:
    """Find the furniture and wrapped lines of `text`; `is_marker_line` tells numbering lines apart
    (`norm`: the text's normal form, when the caller has it already)."""
    norm = normalize(text) if norm is None else norm
    inline = [m for m in _MARKUP.finditer(text)]
    removed = [Furniture("markup", m.group(0), (m.start(), m.end())) for m in inline]
    edits = [_Edit(m.start(), m.end(), "", False) for m in inline]
    lines = _lines(text, norm, inline)
    is_full = _full_line_test(text)
    _mark_line_furniture(text, lines, is_full, is_marker_line)
    for ln in lines:
        if ln.furniture and ln.furniture != "markup":
            raw = text[ln.start : ln.end]
            start = ln.start + len(raw) - len(raw.lstrip())
            end = ln.start + len(raw.rstrip())
            removed.append(Furniture(ln.furniture, text[start:end], (start, end)))
    edits += _line_edits(text, lines, is_full, is_marker_line)
    edits = _merge(edits)
    return Layout(tuple(sorted(removed, key=lambda f: f.span)), tuple(edits))


def _lines(text: str, norm: str, inline: list[re.Match]) -> list[_Line]:
    """Every line with its stripped normalised text; a line of nothing but markup is furniture."""
    blank = list(norm)
    for m in inline:
        for i in range(m.start(), m.end()):
            if blank[i] != "\n":
                blank[i] = " "
    blanked = "".join(blank)
    lines, pos = [], 0
    for raw in text.split("\n"):
        end = pos + len(raw)
        stripped = blanked[pos:end].strip()
        line = _Line(pos, end, stripped)
        if not stripped and raw.strip():
            line.furniture = "markup"
        lines.append(line)
        pos = end + 1
    return lines


def _mark_line_furniture(text: str, lines: list[_Line], is_full, is_marker_line) -> None:
    """Label whole lines that are page numbers, page markers or running headers."""
    markers = words("page_markers")
    marker_re = re.compile(r"[(\[]? *(?:" + "|".join(map(re.escape, markers)) + r") *[)\]]?") if markers else None
    for ln in lines:
        if ln.furniture or not ln.text:
            continue
        if _PAGE_NUMBER.fullmatch(ln.text):
            ln.furniture = "page_number"
        elif marker_re and marker_re.fullmatch(ln.text):
            ln.furniture = "page_marker"
    _mark_running_headers(text, lines, is_full, is_marker_line)


def _mark_running_headers(text: str, lines: list[_Line], is_full, is_marker_line) -> None:
    """A short line repeated beside page numbers (within two lines of each) is a running header.

    Page numbers are the evidence that the text was paginated: a repeated line in a text without them
    (the court's name and seal under each of three forms) is text. The header's first occurrence
    stays when it opens the document: that is the title the header repeats.
    """
    if not any(ln.furniture == "page_number" for ln in lines):
        return
    content = [ln for ln in lines if ln.text and not ln.furniture]
    counts = Counter(ln.text for ln in content)
    first = content[0] if content else None
    for key, n in counts.items():
        if n < 2 or len(key) > 40 or _SENTENCE_PUNCT.search(key) or key[-1] in ":：" or "|" in key:
            continue
        if not any(ch.isalnum() for ch in key):
            continue  # a line of separators or invisible characters (U+200B) is not a header
        hits = [ln for ln in content if ln.text == key]
        if is_marker_line(key) or any(is_full(text[ln.start : ln.end]) for ln in hits):
            continue  # a full-width line is a piece of a wrapped paragraph, not a header
        if not all(_near_page_number(lines, ln) for ln in hits if ln is not first):
            continue
        for ln in hits:
            if ln is not first:
                ln.furniture = "running_header"


def _near_page_number(lines: list[_Line], line: _Line, reach: int = 2) -> bool:
    """True when a page-number line is within `reach` non-blank lines of `line`."""
    i = lines.index(line)
    around = [ln for ln in lines[max(0, i - 6) : i + 7] if ln.text]
    j = around.index(line)
    return any(ln.furniture == "page_number" for ln in around[max(0, j - reach) : j + reach + 1])


# Characters two columns wide (CJK, Hangul, full-width forms): an east_asian_width W/F test by range,
# since calling unicodedata per character is the slowest step on large texts.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f"
                   "\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]")


def _width(s: str) -> int:
    return len(s) + len(_WIDE.findall(s))


def wrap_width(text: str, measure=_width, slack: int = 4) -> int | None:
    """The fixed line width a text was laid out at (in `measure` units, lines up to `slack` short
    count as full), or None if it was not laid out at a fixed width."""
    widths = [measure(line.rstrip()) for line in text.split("\n") if line.strip()]
    candidates = Counter(w for w in widths if w >= 20)
    if len(widths) < 6 or not candidates:
        return None
    width = candidates.most_common(1)[0][0]
    near = sum(width - slack <= w <= width + slack // 2 for w in widths)
    longer = sum(w > width + slack for w in widths)
    if near >= 5 and near >= 0.4 * len(widths) and longer <= 0.05 * len(widths):
        return width
    return None


def _full_line_test(text: str):
    """A test for "this line runs to the layout width", by display width or by character count.

    A PDF lays lines out by display width (a digit is half a character); a text re-wrapped by a
    tool counts characters. Either fixed width is evidence of wrapping.
    """
    checks = [(wrap_width(text, m, slack), m, slack) for m, slack in ((_width, 4), (len, 2))]
    return lambda line: any(w is not None and m(line.rstrip()) >= w - slack for w, m, slack in checks)


def _line_edits(text: str, lines: list[_Line], is_full, is_marker_line) -> list[_Edit]:
    """Edits for whole-line furniture and for line breaks that only wrap a sentence."""
    content = [i for i, ln in enumerate(lines) if ln.text and not ln.furniture]
    edits: list[_Edit] = []
    bounds = [-1] + content + [len(lines)]
    for a, b in zip(bounds, bounds[1:]):
        gap = lines[a + 1 : b]
        has_furniture = any(ln.furniture for ln in gap)
        has_blank = any(not ln.text and not ln.furniture for ln in gap)
        if 0 <= a and b < len(lines) and _wraps(text, lines[a], lines[b], is_full, is_marker_line) and (
            not has_blank or has_furniture
        ):
            start = lines[a].start + len(text[lines[a].start : lines[a].end].rstrip())
            raw_b = text[lines[b].start : lines[b].end]
            stop = lines[b].start + len(raw_b) - len(raw_b.lstrip())
            edits.append(_Edit(start, stop, _glue(text, start, stop), True))
        elif has_furniture:
            first = next(ln for ln in gap if ln.furniture)
            stop = lines[b].start if b < len(lines) else len(text)
            edits.append(_Edit(first.start, stop, "", False))
    return edits


def _wraps(text: str, a: _Line, b: _Line, is_full, is_marker_line) -> bool:
    """True when the break after line `a` only wraps a sentence that goes on in line `b`."""
    if _HARD_END.search(a.text):
        return False
    if is_marker_line(b.text):  # a numbered line starts a provision (cross-references are joined apart)
        return False
    return is_full(text[a.start : a.end]) or bool(_SOFT_END.search(a.text))


def _glue(text: str, start: int, stop: int) -> str:
    """What a joined line break becomes: nothing between CJK text, a space between two Latin words
    (a break inside a number or between a number and a word is taken as no space)."""
    left, right = text[start - 1 : start], text[stop : stop + 1]
    return " " if (left + right).isascii() and left.isalpha() and right.isalpha() else ""


def _merge(edits: list[_Edit]) -> list[_Edit]:
    """Sort edits; an edit inside another (markup inside a joined gap) gives way to the outer one."""
    merged: list[_Edit] = []
    for e in sorted(edits, key=lambda e: (e.start, -e.end)):
        if merged and e.start < merged[-1].end:
            if e.end > merged[-1].end:
                last = merged[-1]
                merged[-1] = _Edit(last.start, e.end, last.replacement, last.join)
            continue
        merged.append(e)
    return merged
