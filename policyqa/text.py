"""Text helpers many modules share, each in one copy: normalisation for matching, Chinese numerals, the
sentence splitter and the citation-marker pattern.

Normalisation is length-preserving: one output character per input character. Keeping the length lets
a span found in the normalised text index the original text too, so the original is what users see
while regexes and lookups only ever deal with one form of each character. Trailing spaces and CRLF are
handled at load time (CRLF) and by trimming spans (trailing spaces). Traditional characters fold to
simplified ones (OpenCC's t2s, character by character so the length holds), so a document in
traditional script is found by simplified questions and quoted as written. Phrase-level conversions
(where one traditional character has two simplified readings) are not applied: matching only needs one
consistent form, and both sides go through the same table.

Numerals: one set of Chinese numeral characters (`CN_NUM`) and a parser (`to_int`) for what document
numbering uses (up to the thousands), not general amounts such as 三万五千.

Sentences: `split_sentences` cuts text after 。！？；!?; and at line ends; a closing quote or a citation
marker right after the end mark stays with its sentence ("…。”[1]").

Citation markers: `[n]`, also in full-width or 【】 brackets and with several numbers (`[1,2]`, `[1、3]`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = "\u00a0\u3000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\t\x0b\x0c"

_TABLE: dict[int, str] = {ord(c): " " for c in _SPACES}
# Full-width ASCII (U+FF01..U+FF5E) maps onto ASCII: brackets, digits, colon, comma, full stop.
_TABLE.update({cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)})
_TABLE.update({ord("〔"): "[", ord("〕"): "]", ord("【"): "[", ord("】"): "]"})


_CJK_BLOCKS = ((0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00))


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
        return True
    except UnicodeEncodeError:
        return False


@lru_cache(maxsize=1)
def _t2s() -> dict[int, str]:
    """OpenCC's one-to-one traditional -> simplified characters, built once (about 2,600 pairs)."""
    import opencc

    chars = [chr(cp) for lo, hi in _CJK_BLOCKS for cp in range(lo, hi)]
    # One character per line: OpenCC's phrase matching never crosses a newline, so this is per character.
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(simplified) != len(chars):
        return {}
    # A character of the simplified standard set (GB2312) is left alone even where OpenCC would fold
    # it (著 -> 着, 乾 -> 干): simplified texts must come out exactly as they were.
    return {ord(t): s for t, s in zip(chars, simplified) if t != s and len(s) == 1 and not _in_gb2312(t)}


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    return {**_TABLE, **_t2s()}


def normalize(text: str) -> str:
    """Return `text` with spaces, full-width brackets/digits/punctuation and traditional characters
    folded; same length."""
    return text.translate(_table())


def to_simplified(text: str) -> str:
    """Traditional characters of `text` as simplified ones, one for one; nothing else changes."""
    return text.translate(_t2s())


_WS = re.compile(r"\s+")


def match_key(text: str) -> str:
    """NFKC, traditional folded to simplified, whitespace removed: the form used to test whether one
    text contains another."""
    return _WS.sub("", to_simplified(unicodedata.normalize("NFKC", text)))


_HAN = "\u4e00-\u9fff"
_STRAY = re.compile(rf"(?<=[{_HAN}\d，、。；：“（《])[ \xa0](?=[{_HAN}])|(?<=[{_HAN}，、；：“（《])[ \xa0](?=\d)")
_PROSE = re.compile(r"[，,。；;、]")
_SPACED_NUMBER = re.compile(r"第[ \xa0]*(\d[\d \xa0]*)[ \xa0]*?(条|章|节|款|项)")  # "第 2 6 条" → "第26条"
_OPENING_NUMBER = re.compile(rf"^\s*(?:第[ \xa0\d{_HAN}]{{1,12}}?[条章节编]|[(（]?[\d{_HAN}]{{1,3}}[)）、.．])[ \xa0]*$")


def close_stray_spaces(text: str) -> str:
    """`text` without the lone spaces PDF and web typesetting leave inside Chinese prose ("矿 产品",
    "不低于200 万元", "资金， 列入"), for quotes. Only lines with sentence punctuation are touched: a
    title or signature line ("中共某县委 某县人民政府") keeps its spaces, and so does the space after a
    line's opening number ("第一条 为了…"); runs of spaces (indentation, "&nbsp; &nbsp;") stay too."""
    out = []
    for line in text.split("\n"):
        line = _SPACED_NUMBER.sub(lambda m: "第" + re.sub(r"[ \xa0]", "", m.group(1)) + m.group(2), line)
        if _PROSE.search(line):
            drop = [m.start() for m in _STRAY.finditer(line)
                    if line[m.start() - 1] not in " \xa0" and line[m.end() : m.end() + 1] not in (" ", "\xa0")
                    and not _OPENING_NUMBER.match(line[: m.start()])]
            for i in reversed(drop):
                line = line[:i] + line[i + 1 :]
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------- numerals

CN_NUM = "一二三四五六七八九十百千万零〇两"
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def to_int(numeral: str) -> int | None:
    """The value of `numeral` (二十一 -> 21, 一百零三 -> 103, 12 -> 12); None when it is not one."""
    numeral = re.sub(r"\s+", "", numeral)
    if numeral.isdigit():
        return int(numeral)
    if not numeral or any(ch not in _DIGITS and ch not in _UNITS for ch in numeral):
        return None
    total, digit = 0, None
    for ch in numeral:
        if ch in _DIGITS:
            digit = _DIGITS[ch] if digit is None else digit * 10 + _DIGITS[ch]  # 二〇二五-style runs
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    return total + (digit or 0)


# --------------------------------------------------------------------------- sentences and citation markers

_DIGIT = r"[0-9０-９]"
SENTENCE_END = re.compile(r"[。！？!?；;]+[”’\"')）]*")  # an end mark and the closing quotes after it
MARKER = re.compile(rf"[\[［【]\s*({_DIGIT}{{1,3}}(?:\s*[,，、]\s*{_DIGIT}{{1,3}})*)\s*[\]］】]")
_ENDS = "。！？；!?;"
_SENTENCE = re.compile(rf"[^{_ENDS}\n]*(?:[{_ENDS}]+[”’」』)）]*|\n|$)")
_TRAILING_MARKERS = re.compile(rf"^(?:\s*{MARKER.pattern})+")


def segments(text: str) -> list[str]:
    """`text` cut into sentences with their end marks, closing quotes and line ends, so that
    `"".join(segments(text)) == text`: cut after 。！？；!?; and at line ends; citation markers right
    after an end mark stay with the sentence they follow ("…。”[1]")."""
    out: list[str] = []
    for piece in (m.group(0) for m in _SENTENCE.finditer(text) if m.group(0)):
        lead = _TRAILING_MARKERS.match(piece)
        if lead and out:
            out[-1] += lead.group(0)
            piece = piece[lead.end():]
        if piece:
            out.append(piece)
    return out


def split_sentences(text: str) -> list[str]:
    """The sentences of `segments(text)`, stripped, empty ones dropped."""
    return [s.strip() for s in segments(text) if s.strip()]


def marker_numbers(text: str) -> list[int]:
    """The clause numbers `text` cites, distinct, in order of first appearance ("[2]…[1,2]" → [2, 1])."""
    found = (int(normalize(d)) for m in MARKER.finditer(text) for d in re.findall(_DIGIT + "+", m.group(1)))
    return list(dict.fromkeys(found))


def strip_markers(text: str) -> str:
    """`text` without its citation markers."""
    return MARKER.sub("", text)
