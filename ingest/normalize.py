"""Length-preserving normalisation for matching: one output character per input character.

Keeping the length lets a span found in the normalised text index the original text too, so the
original is what users see while regexes and lookups only ever deal with one form of each character.
Trailing spaces and CRLF are handled at load time (CRLF) and by trimming spans (trailing spaces).
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = "\u00a0\u3000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\t\x0b\x0c"

_TABLE: dict[int, str] = {ord(c): " " for c in _SPACES}
# Full-width ASCII (U+FF01..U+FF5E) maps onto ASCII: brackets, digits, colon, comma, full stop.
_TABLE.update({cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)})
_TABLE.update({ord("〔"): "[", ord("〕"): "]", ord("【"): "[", ord("】"): "]"})


def normalize(text: str) -> str:
    """Return `text` with spaces, full-width brackets/digits/punctuation folded; same length."""
    return text.translate(_TABLE)


_WS = re.compile(r"\s+")


def match_key(text: str) -> str:
    """NFKC plus whitespace removal: the form used to test whether one text contains another."""
    return _WS.sub("", unicodedata.normalize("NFKC", text))
