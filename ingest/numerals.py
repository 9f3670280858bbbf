"""Chinese and Arabic numerals as used in clause numbers (第十二条, 第3条, 二十一、), read as integers.

One set of Chinese numeral characters for the whole ingest package; the parser covers what document
numbering uses (up to the thousands), not general amounts such as 三万五千.
"""

from __future__ import annotations

import re

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
