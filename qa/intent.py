"""What a question asks for, read in one place so the extractive answer, the refusal rules, the list
answers and the answer check never disagree about one question.

Each pattern is language-level (question words), never a corpus's topic or place.
"""

from __future__ import annotations

import re

# A number is wanted: an amount, a count, a rate, a target or a standard.
ASKS_FIGURE = re.compile(r"多少|几家|几个|几项|比例|比重|税率|百分之|起征点|目标|达到|金额|标准|率")
# A unit is wanted: who leads, who is responsible.
ASKS_WHO = re.compile(r"哪个部门|哪些部门|哪个单位|哪些单位|谁牵头|谁负责|牵头|负责单位|责任单位|主管|由谁|由哪")
# A whole enumeration is wanted.
ASKS_LIST = re.compile(r"哪些|都有啥|都有什么|列出|列举|所有|全部|多少项|几项")
# A yes or no is wanted.
ASKS_YES_NO = re.compile(r"能不能|可不可以|是否|能否|可否|有没有|会不会|是不是|行不行|算不算|吗[？?]?\s*$")


def asks_figure(question: str) -> bool:
    """The question wants a number (多少, 比例, 标准 …)."""
    return bool(ASKS_FIGURE.search(question))


def asks_who(question: str) -> bool:
    """The question wants the unit that leads or is responsible."""
    return bool(ASKS_WHO.search(question))


def asks_yes_no(question: str) -> bool:
    """The question wants a yes or a no (能不能, 是否, …吗)."""
    return bool(ASKS_YES_NO.search(question))
