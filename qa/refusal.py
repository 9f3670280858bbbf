"""Deciding that the documents do not answer a question, before any text is generated.

A similarity threshold cannot do this here (off-topic and answerable questions score alike, see
MODELS.md), so refusal rests on what the question names and what the clauses contain:
- a place that no document covers ("大同市…" when the corpus is 阳泉/忻州/朔州);
- content words of the question that appear in none of the retrieved clauses (coverage);
- a money amount asked for ("多少元") when no top clause states an amount next to a word of the question.
Each rule returns a one-sentence reason; thresholds were set on the dev set's 15 unanswerable and
99 answerable questions (`policyqa eval` reports refusal accuracy in both directions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from policyqa.text import normalize
from ingest.records import DocMeta, Hit
from qa.intent import asks_figure

PLACES_FILE = Path(__file__).with_name("places.txt")
_MONEY_ASKED = re.compile(r"多少钱|多少元|多少万|金额|补助标准|补贴标准|奖励标准|奖励多少|补助多少|补贴多少|资助多少|给多少")
# Words any question about policy support or responsibilities contains at least one of.
_DOMAIN = tuple("""企业 公司 科技 技术 创新 创业 人才 政策 项目 资金 经费 补助 补贴 奖励 奖补 资助 支持 扶持 融资 贷款 担保
基金 投资 上市 挂牌 专利 知识产权 成果 研发 研究 高校 大学 院所 科研 产业 园区 开发区 税 财政 部门 单位 牵头 负责
目标 指标 任务 措施 规划 方案 意见 计划 文件 规定 条 服务 平台 孵化 众创 实验室 中心 工程 发展 建设 改革 机制
考核 评价 职称 人员 团队 用地 采购 金融 银行 保险 债 股 市场 转化 交易 合同 农业 工业 制造 能源 环保 煤 气
就业 人社 教育 培训 学校 国企 国有 民营 中小 小微 高新 政府 市 县 区 省 局 委 办""".split())
_RATE_ASKED = re.compile(r"税率|比例|比重|百分之|费率|利率")  # answered by a percentage, not any number
_PERCENT = re.compile(r"\d\s*[%％]|百分之")
_QUESTION_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|年|万元|亿元|元|家|个|项|件)")
_MONEY = re.compile(r"\d+(?:\.\d+)?\s*(?:万元|亿元|元|万)")
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[。；;\n]")
_PHRASE_END = re.compile(r"[。；;，,：:\n]")
# Words that say what kind of answer is wanted, not what it is about.
_GENERIC = set("""政策 文件 规定 要求 措施 方面 工作 什么 哪些 怎么 如何 多少 是否 可以 能否 有没有 有无 支持 扶持
相关 具体 内容 情况 目标 任务 部门 单位 牵头 负责 哪个 哪家 怎样 为什么 需要 应该 关于 我们 公司 企业 现在 目前
今年 明年 主要 一下 这个 那个 里面 其中 对于 以及 还有 分别 各自 几个 多少家 标准 条件 申请 办理 提到 讲 说
方案 意见 计划 实施 行动 市里 市 省 县 区 里 呢 吗 的 了 和 与 及 或 是 在 有 对 给 被 把 就 都 也 还 要 会 能
没有 有没有 能不能 会不会 可不可以 怎么办 天天 什么样 哪里 多久 时候 时间 之后 以后 一些 这些 那些 分别
不能 不到 才能 能用 不要 不会 自己 出来 他们 她们 人家 是不是 好不好 只要 除了 用来 这样 那样 一定 还是 进入
不同 外面 后来 每家 每个 最多 最多能 人想 能够 必须 特别 快速 问题 处理 帮忙 想要 打算 怎么分 怎么样 平时
多少钱 一下子 干什么 做什么 有啥 啥 咋 咋办 拿到 得到 搞 弄""".split())


def load_places(path: Path = PLACES_FILE) -> list[str]:
    """Province and city names (one or more per line, space separated; # starts a comment)."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            names += line.split()
    return names


@dataclass(frozen=True)
class Refusal:
    """Why a question is refused: the rule that fired and a one-sentence explanation in Chinese."""

    rule: str
    message: str


class RefusalPolicy:
    """The three refusal rules over a corpus's documents."""

    def __init__(self, documents: dict[str, DocMeta], *, min_coverage: float = 0.15,
                 min_figure_coverage: float = 0.5) -> None:
        self.min_coverage = min_coverage
        self.min_figure_coverage = min_figure_coverage
        covered = " ".join(normalize(f"{m.region} {m.title} {' '.join(m.aliases)}") for m in documents.values())
        self.unknown_places = [p for p in load_places() if p not in covered]

    def unknown_place(self, question: str) -> str | None:
        """A place named in the question that no document in the corpus covers."""
        q = normalize(question)
        for place in sorted(self.unknown_places, key=len, reverse=True):
            if place in q:
                return place
        return None

    def coverage(self, terms: list[str], hits: list[Hit]) -> tuple[float, list[str]]:
        """Share (weighted by length) of the question's content terms found in the hits' texts."""
        content = [t for t in dict.fromkeys(terms) if t not in _GENERIC and len(t) >= 2 and not t.isascii()]
        content = [t for t in content if not any(t != o and t in o for o in content)]  # keep longest forms
        if not content:
            return 1.0, []
        text = normalize(" ".join(f"{h.clause.doc_title} {h.clause.path_text} {h.clause.text}" for h in hits)).lower()
        missing = [t for t in content if t not in text]
        total = sum(len(t) for t in content)
        return 1.0 - sum(len(t) for t in missing) / total, missing

    def unstated_figure(self, question: str, hits: list[Hit]) -> str | None:
        """A number or year in the question (e.g. 2025年, 75%) that none of the hits contains."""
        text = re.sub(r"\s+", "", normalize(" ".join(h.clause.text for h in hits)))
        for m in _QUESTION_FIGURE.finditer(normalize(question)):
            if not re.search(rf"(?<![\d.]){re.escape(m.group(1))}(?![\d.])", text):
                return m.group(0)
        return None

    def decide(self, question: str, terms: list[str], hits: list[Hit], *, exact: bool = False) -> Refusal | None:
        """The first rule that refuses the question, or None when the clauses can answer it.

        `exact`: the question named a clause number that exists, so coverage is not asked for.
        """
        place = self.unknown_place(question)
        if place:
            return Refusal("unknown_place", f"现有文件不涉及“{place}”，无法回答这个问题。")
        if not hits:
            return Refusal("no_hits", "现有文件中没有找到与这个问题相关的规定。")
        if exact:
            return None
        q = normalize(question)
        if not any(word in q for word in _DOMAIN):
            return Refusal("off_topic", "这个问题与现有政策文件无关，无法回答。")
        score, missing = self.coverage(terms, hits)
        wants_figure = asks_figure(q)
        if score < self.min_coverage or (wants_figure and score < self.min_figure_coverage):
            return Refusal("coverage", f"现有文件中没有找到关于“{'、'.join(missing[:3])}”的规定。")
        if _MONEY_ASKED.search(q) and not self._number_near_terms(terms, hits[:2], number=_MONEY, within=_PHRASE_END):
            return Refusal("amount", "现有文件没有写明具体金额，无法回答这个数额。")
        figure = self.unstated_figure(question, hits)
        if figure:
            return Refusal("figure", f"现有文件中没有出现“{figure}”这一数字，无法回答。")
        if wants_figure and not self._number_near_terms(terms, hits[:3], number=_PERCENT if _RATE_ASKED.search(q) else _DIGIT):
            return Refusal("no_number", "现有文件提到了相关内容，但没有给出具体数字。")
        return None

    def _number_near_terms(self, terms: list[str], hits: list[Hit], *, number: re.Pattern,
                           within: re.Pattern = _SENTENCE_END) -> bool:
        """Whether some sentence (or, with `within=_PHRASE_END`, some phrase between commas) of the hits
        mentions a content term of the question and matches `number` (a rate question wants a
        percentage, not a count; an amount question an amount next to what it is for, not the
        "100亿元" of an output target in the same sentence)."""
        content = [t for t in terms if t not in _GENERIC and len(t) >= 2]
        for h in hits:
            for sentence in within.split(normalize(h.clause.text)):
                if number.search(sentence) and any(t in sentence for t in content):
                    return True
        return False
