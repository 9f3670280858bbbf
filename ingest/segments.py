"""A provision read for benefits: sentences, ；-segments, comma pieces and what each piece does.

A policy provision states its benefits in a regular shape: segments separated by ；or 。, each a
chain of comma pieces — conditions ("对初次认定为国家高新技术企业的"), the benefit ("给予企业20万元奖励"),
the way the amount is reckoned ("按其研发实际发生额的20%"), caps ("最高奖励不超过50万元"). This module
cuts a squeezed provision (`ingest.amounts.Squeezed`) into those parts and labels each piece:
  condition  ends with 的 (the classic "对…的，"), or is a subject without a benefit verb
  benefit    holds a benefit verb (给予, 予以, 资助, 可申请…) or a benefit noun next to an amount
             (补贴标准为…, 贷款额度最高…); also a short "label + amount" piece continuing a benefit
             ("其他地区每年最高4000元")
  method     opens with 按/参照/根据… and states no amount or verb
  label      a short heading before a colon ("资助额度：")
  other      anything else
A sentence wholly in brackets ("(…最高奖励不超过50万元)。") belongs to the segment before it.
The words are data (`data/item_words.txt`); the grouping of amounts into items is ingest/items.py's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.amounts import Mention, find_amounts, has_formula, paren_depths, words
from policyqa.text import CN_NUM

_SENTENCE_END = "。!?！？\n"
_SEGMENT_END = ";；"
_PIECE_END = ",:，："
_NUMBERING = re.compile(rf"^\s*(?:第[{CN_NUM}\d\s]+?[条章节编]|[{CN_NUM}]+\s*[、.．]|[(（][{CN_NUM}\d]+[)）]|\d+\s*[、.．](?!\d)|[①-⑳])\s*")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Piece:
    """One comma piece of a segment: its squeezed span, text and role."""

    start: int
    end: int
    text: str
    kind: str  # condition | benefit | method | label | other


@dataclass(frozen=True)
class Segment:
    """A ；- or 。-delimited part of a provision, with its pieces and every amount in it."""

    start: int
    end: int
    text: str
    sentence: int  # index of the 。-sentence it belongs to
    pieces: tuple[Piece, ...]
    mentions: tuple[Mention, ...]
    ends_list: bool = False  # ends with a colon: it introduces a list ("具体如下：")

    def piece_at(self, pos: int) -> Piece | None:
        """The piece holding squeezed position `pos`."""
        return next((p for p in self.pieces if p.start <= pos < p.end), None)

    def has(self, group: str) -> bool:
        """True when a word of `group` occurs in the segment."""
        return any(w in self.text for w in words(group))


def _cuts(text: str, seps: str, depth: list[int], lo: int, hi: int) -> list[tuple[int, int]]:
    """Spans of text[lo:hi] cut after each top-level separator (the separator stays with its part)."""
    out, start = [], lo
    for i in range(lo, hi):
        if text[i] in seps and depth[i] == 0:
            out.append((start, i + 1))
            start = i + 1
    if start < hi:
        out.append((start, hi))
    return [(a, b) for a, b in out if text[a:b].strip(seps + " ")]


def _bracketed(text: str) -> bool:
    body = text.rstrip(_SENTENCE_END + _SEGMENT_END)
    return len(body) > 2 and body[0] in "([" and body[-1] in ")]" and paren_depths(body)[1:-1].count(0) == 0


def _has_verb(text: str) -> bool:
    return (any(w in text for w in words("grant_verb")) or any(w in text for w in words("exempt"))
            or opens_with_priority(text))


def opens_with_priority(text: str) -> bool:
    """A piece whose benefit is a priority: "优先组织外出培训", "符合条件的优先推荐…"."""
    return any(re.search(rf"^(?:[^,，]{{0,8}}的)?{re.escape(w)}", text) for w in words("priority_opener"))


def _core(text: str) -> str:
    """A piece without its separator, brackets and leading numbering."""
    text = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", text.rstrip(_PIECE_END + _SEGMENT_END + _SENTENCE_END))
    return _NUMBERING.sub("", text)


def _kind(text: str, mentions: list[Mention], prev: str) -> str:
    core = _core(text)
    if text.endswith((":", "：")) and not mentions and len(core) <= 14:
        return "label"
    if core.endswith(("的", "者")):
        return "condition"
    if _has_verb(core) or mentions and _named_amount(core, mentions[0]):
        return "benefit"
    if mentions and prev in ("benefit", "label") and len(_CJK.findall(_strip_amounts(core, mentions))) <= 8:
        return "benefit"  # "其他地区每年最高4000元": a benefit list continued
    if first_word(core) in words("method_opener") and not core.startswith("对"):
        return "method"
    return "other"


def first_word(text: str) -> str:
    """The first word of `text` (jieba): 按 in "按每人…", not in "按照"; 从 in "从该品种…", not in "从事"."""
    if not text or not any(w.startswith(text[0]) for w in words("method_opener")):
        return text[:1]  # no opener starts this way: jieba is not needed (it is the costly part)
    import jieba

    return next((t for t in jieba.cut(text[:8]) if t.strip()), "")


def _named_amount(core: str, first: Mention) -> bool:
    """A benefit noun names the amount: 补贴标准为每人3000元, 贷款额度最高30万元, 按每人3000元标准."""
    at = core.find(first.text)
    after = core[at + len(first.text) : at + len(first.text) + 4] if at >= 0 else ""
    return at >= 0 and any(n in core[:at] or after.lstrip("的").startswith(n) for n in words("grant_noun"))


def _strip_amounts(core: str, mentions: list[Mention]) -> str:
    for m in mentions:
        core = core.replace(m.text, "")
    for w in words("cap") + ("每人", "每年", "每月", "每家", "每件"):
        core = core.replace(w, "")
    return core


def _pieces(text: str, depth: list[int], lo: int, hi: int, mentions: list[Mention]) -> tuple[Piece, ...]:
    pieces, prev = [], ""
    for a, b in _cuts(text, _PIECE_END, depth, lo, hi):
        inside = [m for m in mentions if a <= m.start < b]
        kind = _kind(text[a:b], inside, prev)
        pieces.append(Piece(a, b, text[a:b], kind))
        prev = kind
    return tuple(pieces)


def read_segments(text: str) -> list[Segment]:
    """The segments of squeezed provision `text` in order; formula lines (税额=销售额×3%) are left out."""
    depth = paren_depths(text)
    mentions = find_amounts(text)
    segments: list[Segment] = []
    for n, (s_lo, s_hi) in enumerate(_cuts(text, _SENTENCE_END, depth, 0, len(text))):
        if has_formula(text[s_lo:s_hi]):
            continue
        if _bracketed(text[s_lo:s_hi]) and segments and segments[-1].sentence == n - 1:
            last = segments.pop()  # "(…，最高奖励不超过50万元)。" continues the segment before it
            s_lo, n = last.start, last.sentence
        for lo, hi in _cuts(text, _SEGMENT_END, depth, s_lo, s_hi):
            inside = [m for m in mentions if lo <= m.start < hi]
            pieces = _pieces(text, depth, lo, hi, inside)
            body = text[lo:hi].rstrip(_SENTENCE_END + _SEGMENT_END)
            segments.append(Segment(lo, hi, text[lo:hi], n, pieces, tuple(inside), body.endswith((":", "："))))
    return segments


def strip_numbering(text: str) -> str:
    """`text` without its leading numbering (第3条, 一、, (二), 1., ①)."""
    return _NUMBERING.sub("", text.strip())


def clean_condition(text: str) -> str:
    """A condition as shown: no separator, leading numbering, 对/凡, or trailing 的 / 分别."""
    text = _NUMBERING.sub("", text.strip().rstrip(_PIECE_END + _SEGMENT_END + _SENTENCE_END))
    text = re.sub(r"^(?:对于|对|凡|其中|并且|并|且|同时)", "", text)
    text = re.sub(r"(?:当年)?(?:分别|均)$", "", text)
    return re.sub(r"(?:的|者)$", "", text).strip()
