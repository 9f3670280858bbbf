"""Length-preserving normalisation for matching: one output character per input character.

Keeping the length lets a span found in the normalised text index the original text too, so the
original is what users see while regexes and lookups only ever deal with one form of each character.
Trailing spaces and CRLF are handled at load time (CRLF) and by trimming spans (trailing spaces).

Traditional characters fold to simplified ones (OpenCC's t2s, character by character so the length
holds), so a document in traditional script is found by simplified questions and quoted as written.
Phrase-level conversions (where one traditional character has two simplified readings) are not
applied: matching only needs one consistent form, and both sides go through the same table.
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
