"""政策匹配 (eligibility): which clauses mention a kind of applicant AND a need, by keyword, each with
the support items read from it (amounts and conditions where the text states them; the 政策计算器 of
qa/match.py matches whole enterprise profiles against the items).

Keyword matching over clause text with synonyms per kind and need: transparent and complete (every
matching clause is listed and counted) rather than ranked by similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from policyqa.text import normalize
from ingest.records import Clause
from policyqa.errors import PolicyQAError

KINDS: dict[str, tuple[str, ...]] = {
    "高新技术企业": ("高新技术企业", "高新企业", "高新区企业"),
    "科技型中小企业": ("科技型中小企业", "科技型中小微企业", "科技型企业", "中小企业", "中小微企业", "小微企业",
                  "科技小巨人", "初创企业", "创业企业"),
    "国有企业": ("国有企业", "国企", "国有资本", "国有控股", "国有"),
    "高校": ("高校", "高等学校", "高等院校", "大学", "院校"),
    "科研院所": ("科研院所", "科研机构", "研究院", "研究所", "研发机构", "科研单位"),
    "个人": ("个人", "科技人员", "科研人员", "创业者", "专业技术人员", "自然人"),
    "团队": ("团队",),
}
NEEDS: dict[str, tuple[str, ...]] = {
    "融资": ("融资", "贷款", "担保", "风险补偿", "基金", "信贷", "保险", "创投", "风险投资", "股权投资", "天使投资",
           "科技金融", "金融", "质押", "授信", "贴息"),
    "人才": ("人才", "引进", "培养", "团队", "专家", "院士", "博士", "引智"),
    "研发投入": ("研发", "研究开发", "加计扣除", "R&D", "后补助", "创新券"),
    "上市": ("上市", "挂牌", "新三板", "创业板", "科创板", "中小板", "股份制改造", "股改"),
    "政府采购": ("政府采购", "首台", "首购", "订购", "首批次", "首版次"),
    "知识产权": ("知识产权", "专利", "商标", "著作权", "版权"),
}


@dataclass(frozen=True)
class EligibleClause:
    """A clause that matches the chosen kinds and needs, with the words that matched."""

    clause: Clause
    kinds: tuple[str, ...]
    needs: tuple[str, ...]
    terms: tuple[str, ...]
    items: tuple = ()  # the clause's support items (ingest/items.py): amounts and conditions where stated

    def to_json(self) -> dict:
        """Clause JSON plus matched kinds, needs, terms and the clause's items."""
        return dict(self.clause.to_json(), kinds=list(self.kinds), needs=list(self.needs), terms=list(self.terms),
                    items=[i.to_json() for i in self.items])


@dataclass(frozen=True)
class Eligibility:
    """The clauses that match an eligibility query, in document order."""

    kinds: tuple[str, ...]
    needs: tuple[str, ...]
    doc_ids: tuple[str, ...]  # the place's documents; empty means every document
    items: tuple[EligibleClause, ...]

    @property
    def documents(self) -> list[str]:
        """Ids of the documents the matches come from, in order."""
        return list(dict.fromkeys(i.clause.doc_id for i in self.items))

    def to_json(self) -> dict:
        """{count, documents, kinds, needs, clauses}."""
        return {"count": len(self.items), "documents": self.documents, "kinds": list(self.kinds),
                "needs": list(self.needs), "clauses": [i.to_json() for i in self.items]}


def match_clauses(clauses: Sequence[Clause], kinds: Sequence[str], needs: Sequence[str],
                  doc_ids: Sequence[str] = (), items: Sequence = ()) -> tuple[EligibleClause, ...]:
    """Clauses mentioning any chosen kind (or synonym) AND any chosen need keyword, within `doc_ids` if
    given, each with its support items (`items`: the index's, ingest/items.SupportItem)."""
    by_clause: dict[str, list] = {}
    for item in items:
        by_clause.setdefault(item.clause_id, []).append(item)
    unknown = [k for k in kinds if k not in KINDS] + [n for n in needs if n not in NEEDS]
    if unknown:
        raise PolicyQAError(f"unknown options: {'、'.join(unknown)}", value="、".join(unknown),
                            hint=f"kinds: {'、'.join(KINDS)}; needs: {'、'.join(NEEDS)}",
                            zh=f"未知的选项：{'、'.join(unknown)}；可选主体：{'、'.join(KINDS)}；可选需求：{'、'.join(NEEDS)}")
    if not kinds and not needs:
        raise PolicyQAError("choose at least one kind or need", zh="请至少选择一种主体类型或一项需求")
    out = []
    for c in clauses:
        if doc_ids and c.doc_id not in doc_ids:
            continue
        text = normalize(c.text)
        got_kinds = [k for k in kinds if any(w in text for w in KINDS[k])]
        got_needs = [n for n in needs if any(w in text for w in NEEDS[n])]
        if (kinds and not got_kinds) or (needs and not got_needs):
            continue
        words = [w for k in got_kinds for w in KINDS[k]] + [w for n in got_needs for w in NEEDS[n]]
        terms = tuple(dict.fromkeys(w for w in words if w in text))
        out.append(EligibleClause(c, tuple(got_kinds), tuple(got_needs), terms, tuple(by_clause.get(c.id, ()))))
    return tuple(out)
