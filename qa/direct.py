"""The direct part an answer opens with, read from the sentences it quotes: the 可以/不可以 (有/没有,
会/不会 …) a yes/no question asks for, or the figure with its unit an amount question asks for.

Only what a quoted sentence settles is said. A sentence that allows, supports or rewards settles a
yes; one that forbids or withholds (不得, 不予, 禁止 …) settles a no, and a forbidding word wins over
an allowing one ("不予支持"). A figure is said when the sentence states one figure of the kind
asked, or one in the phrase that names what the question names, or the cap a "最多" question asks
for; otherwise the quote speaks alone. The words are language-level data (policyqa/data/answer_words.json).
The trade-off: a sentence that settles the question only by reasoning ("男性不超过60周岁" to "62岁
还能申请吗") gets no word, since a wrong 可以 is worse than none.
"""

from __future__ import annotations

import re
from functools import cache

from ingest.item_fields import exclusions
from policyqa.text import normalize
from qa.intent import asks_figure, asks_yes_no
from qa.words import pattern, table, words

_PHRASE = re.compile(r"[，,；;：:。！？!?\n]")
_RATE = re.compile(r"税率|比例|比重|百分之|费率|利率")
# A date or a time limit as policy texts write them: 2026年12月31日, 30个工作日内, 自发布之日起, 年底前.
TIME = re.compile(r"\d{4}\s*年|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{1,2}\s*月(?:底|末|份)|[\d一二三四五六七八九十两]+\s*个?"
                   r"(?:工作日|日|天|周|星期|月|年)(?:内|前|以内|之内|后)|之日起|起施行|起执行|起实施|有效期|截止|截至"
                   r"|年底|年末|月底|上半年|下半年|季度|每年|每月")


def answer_words(question: str) -> tuple[str, str]:
    """The (yes, no) words a yes/no question wants: ("有", "没有") for 有没有, ("可以", "不可以") for 能不能 …"""
    q = normalize(question)
    for form, yes, no in table()["yes_no_words"]:
        if form in q:
            return yes, no
    return "是", "不是"


def stance(sentence: str) -> bool | None:
    """True when `sentence` allows, supports or rewards; False when it forbids or withholds; None when
    it does neither."""
    s = normalize(sentence)
    if pattern("forbids").search(s):
        return False
    return True if pattern("allows").search(s) else None


@cache
def _figure() -> re.Pattern[str]:
    before = "|".join(re.escape(w) for w in words("figure_before"))
    after = "|".join(re.escape(w) for w in words("figure_after"))
    units = "|".join(re.escape(w) for w in words("figure_units"))
    return re.compile(rf"(?:{before})?\d+(?:\.\d+)?\s*(?:{units})(?:{after})?")


def figures(text: str) -> list[str]:
    """The figures of `text` with their units and qualifiers ("6000元", "2.5%以上", "最高不超过3万元")."""
    return [m.group(0) for m in _figure().finditer(normalize(text))]


def money(figure: str) -> bool:
    """The figure is an amount of money ("6000元", "最高不超过3万元")."""
    return any(figure.rstrip("以上下内左右").endswith(u) for u in words("money_units"))


def asks_money(question: str) -> bool:
    """A figure question about money (补贴, 资助, 多少钱 …): an amount answers it, not a count or a term.
    A rate of money (经费占GDP比重, 补贴比例) asks for a percentage, not an amount."""
    q = normalize(question)
    return asks_figure(question) and bool(pattern("money_nouns").search(q)) and not _RATE.search(q)


def figure_lead(question: str, terms: list[str], sentence: str) -> str:
    """The one figure of `sentence` that answers `question`, or "" when the sentence does not single
    one out."""
    q = normalize(question)
    phrases = [p for p in _PHRASE.split(normalize(sentence)) if figures(p)]
    found = [(p, f) for p in phrases for f in figures(p)]
    if _RATE.search(q):
        found = [(p, f) for p, f in found if "%" in f or "％" in f]
    if asks_money(question):
        found = [(p, f) for p, f in found if money(f)]  # a year or a count does not answer 多少钱
    else:
        found = [(p, f) for p, f in found if money(f)] or found
    if len(found) > 1 and pattern("cap_words").search(q):
        found = [(p, f) for p, f in found if pattern("cap_words").search(p)] or found
    if len(found) > 1:
        # A phrase naming what the question names and the other phrases do not: "三等奖10万元" for 三等奖.
        distinctive = [t for t in terms if len(t) >= 2 and 0 < sum(t in p for p, _ in found) < len(found)]
        found = [(p, f) for p, f in found if any(t in p for t in distinctive)] or found
    return found[0][1] if len({f for _, f in found}) == 1 else ""


def carved_out(terms: list[str], sentence: str) -> bool:
    """Whether a question term (two characters or more) appears in `sentence` only inside a carve-out:
    "采矿" in "对工业类项目（不含采矿、矿产品初加工）…给予奖励", "国有企业" in "…，国有企业除外"."""
    s = normalize(sentence)
    left_out = exclusions(s)
    rest = s
    for thing in left_out:
        rest = rest.replace(thing, "")
    return any(len(t) >= 2 and t not in rest and any(t in x for x in left_out) for t in set(terms))


def settles(terms: list[str], sentence: str) -> bool | None:
    """The stance of the phrase of `sentence` that is most about the question (its terms) and takes
    one: "可采取后补助方式予以资助" rather than the "资助资金不再规定适用范围" after it — unless
    another phrase forbids what the question asks and the chosen phrase does not mention it, or the
    sentence names what the question asks only in a carve-out ("（不含采矿…）", "…除外"): then no."""
    if stance(sentence) is not None and carved_out(terms, sentence):
        return False
    phrases = [p for p in _PHRASE.split(normalize(sentence)) if p]
    about = sorted(phrases, key=lambda p: -sum(len(t) ** 1.5 for t in set(terms) if t in p))
    taking = [p for p in about if stance(p) is not None]
    if not taking:
        return None
    # A phrase forbidding a word the question asks about that the chosen phrase lacks decides it:
    # "应当及时组织抢救…，不得…拒绝" answers "能不能拒绝抢救" with 不可以.
    lacking = {t for t in terms if len(t) >= 2 and t not in taking[0]}
    if stance(taking[0]) and any(stance(p) is False and any(t in p for t in lacking) for p in taking[1:]):
        return False
    return stance(taking[0])


def _number(figure: str) -> str:
    """The number of a figure with its unit ("最高20万元" → "20万元", "100人以下" → "100人")."""
    m = re.search(r"[\d.]+\s*[^\d\s以左]*", figure)
    return re.sub(r"\s", "", m.group()) if m else figure


def lead(question: str, terms: list[str], quoted: list[str]) -> str:
    """The opening of an answer quoting `quoted` (best sentence first): "可以。", "没有。", "6000元。" or ""."""
    if asks_yes_no(question):
        yes, no = answer_words(question)
        # "员工120人的企业能不能申请": only a sentence stating that figure settles it; "…可申请" says nothing
        # of 120人, and "100人以下" settles it only by reasoning (a wrong 可以 is worse than none).
        stated = {_number(f) for f in figures(question) if not re.fullmatch(r"\D*\d{4}年\D*", f)}
        for sentence in quoted:
            if stated and not stated & {_number(f) for f in figures(sentence)}:
                continue
            said = settles(terms, sentence)
            if said is not None:
                return f"{yes if said else no}。"
        return ""
    if asks_figure(question):
        # The best sentence stating a figure settles it, or nothing does.
        stating = [s for s in quoted if figures(s)]
        figure = figure_lead(question, terms, stating[0]) if stating else ""
        return f"{figure}。" if figure else ""
    return ""
