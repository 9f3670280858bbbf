"""Deadlines of a task as the text states them: 2025年底前, 6月底前, 2025年12月31日前, 到2020年, 每年, 长期坚持.

Read in order of trust: a labelled field ("完成时限：2025年底前", inside a tag or not), a dated
"…前"/"…底", a target year ("到2020年", "2023—2025年"), recurring work ("每年") and ongoing work
("长期坚持", "持续推进"). The deadline is returned as written (normalised widths, no spaces); a task
without one returns "". Words are data (`data/deadline_words.txt`). Trade-off: a date that is not a
deadline ("自2023年起施行") is not taken, but a target year in a plan ("到2020年…达到30家") is: in a
division of tasks it is the date the work is due.
"""

from __future__ import annotations

import re

from policyqa.vocab import groups
from policyqa.text import normalize

_YMD = r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?"
_DATED = re.compile(rf"(?:{_YMD}|\d{{1,2}}月)(?:底|末|中旬|上旬|下旬)?(?:前|之前|以前)|\d{{4}}年(?:底|末)")
_TARGET = re.compile(r"(?:到|至|在)(\d{4}年(?:底|末)?)|(\d{4}\s*[—\-~至]\s*\d{4}年)")


def _words(group: str) -> tuple[str, ...]:
    return tuple(sorted(groups("deadline_words").get(group, ()), key=len, reverse=True))


def deadline(text: str) -> str:
    """The deadline `text` states (see the module docstring), or ""."""
    flat = re.sub(r"\s+", "", normalize(text))
    labels = "|".join(map(re.escape, _words("label")))
    m = re.search(rf"(?:{labels})[:：]?([^,，;；。)）]{{2,20}})", flat)
    if m:
        return m.group(1)
    m = _DATED.search(flat)
    if m:
        return m.group(0)
    m = _TARGET.search(flat)
    if m:
        return (m.group(1) or m.group(2)).replace(" ", "")
    for group in ("periodic", "ongoing"):
        found = next((w for w in _words(group) if w in flat), "")
        if found:
            return found
    return ""
