"""政策计算器: an enterprise profile against every support item — eligible, possible, ineligible.

    match_profile(Profile.from_json(row), snapshot.items, snapshot.documents) -> MatchResult

Each item is judged on
  - its place: a document's items reach enterprises inside its region (a province's items its cities'
    enterprises, a city's items not another city's); a national document reaches everyone; an
    excluded place ("不含深圳") is unmet; a document whose place is unknown leaves the item `possible`;
  - its own conditions, one by one (qa/conditions.py: place, dates, thresholds, words, and the fact
    that refutes them);
  - the conditions of its section (申报条件, 资助对象…), which can only rule it out (a date range the
    facts fall outside, another city): no profile states every procedural line of a notice.
Eligible: nothing unmet and every condition of its own met or soft (judged by the authority).
Possible: nothing unmet, some condition unknown — these are listed. Ineligible: the unmet condition is
named. The total adds the money caps of the eligible items (rates and amounts without a value are
listed, not added).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Sequence

from ingest.items import SupportItem
from ingest.records import DocMeta
from policyqa.errors import PolicyQAError
from qa.conditions import judge
from qa.measures import MET, SOFT, UNKNOWN, UNMET, Check, Facts, Place, in_region

_INDIVIDUAL = ("青年", "毕业生", "学生", "人员", "居民", "个人", "人才", "借款人")


@dataclass(frozen=True)
class Profile:
    """An enterprise as the calculator sees it (the `profile` shape of the calculator gold set)."""

    region: str = ""
    kinds: tuple[str, ...] = ()
    industry: str = ""
    founded_year: int | None = None
    employees: int | None = None
    revenue_wan: float | None = None
    rd_ratio: float | None = None
    facts: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, row: dict) -> "Profile":
        """A profile from its JSON object (a `{"profile": {...}}` wrapper is accepted too)."""
        row = row.get("profile", row) if isinstance(row, dict) else None
        if not isinstance(row, dict):
            raise PolicyQAError("企业画像应为 JSON 对象 (a profile is a JSON object with region, kinds, facts…)")
        try:
            return cls(region=str(row.get("region") or ""), kinds=tuple(str(k) for k in row.get("kinds") or ()),
                       industry=str(row.get("industry") or ""), founded_year=_int(row.get("founded_year")),
                       employees=_int(row.get("employees")), revenue_wan=_float(row.get("revenue_wan")),
                       rd_ratio=_float(row.get("rd_ratio")), facts=tuple(str(f) for f in row.get("facts") or ()))
        except (TypeError, ValueError) as exc:
            raise PolicyQAError(f"企业画像字段格式不对：{exc} (numbers: founded_year, employees, revenue_wan, rd_ratio)") from exc

    def facts_view(self) -> Facts:
        """The profile read for judging (qa/conditions.Facts)."""
        fields = {"revenue_wan": self.revenue_wan, "employees": self.employees, "rd_ratio": self.rd_ratio,
                  "age": date.today().year - self.founded_year if self.founded_year else None}
        return Facts.of(self.region, self.kinds, self.industry, self.facts, fields)


def _int(x) -> int | None:
    return None if x in (None, "") else int(x)


def _float(x) -> float | None:
    return None if x in (None, "") else float(x)


@dataclass(frozen=True)
class ItemMatch:
    """One item judged: its status and every check behind it."""

    item: SupportItem
    status: str  # eligible | possible | ineligible
    checks: tuple[Check, ...]

    def _list(self, *statuses: str) -> list[str]:
        return [c.condition + (f"（{c.reason}）" if c.reason and c.status != MET else "") for c in self.checks
                if c.status in statuses]

    def to_json(self) -> dict:
        """{item_id, name, amount, met, unknown, unmet, soft, doc_id, clause_id, quote, form, department, region}."""
        i = self.item
        return {"item_id": i.id, "name": i.name, "amount": i.amount.to_json(), "met": self._list(MET),
                "unknown": self._list(UNKNOWN), "unmet": self._list(UNMET), "soft": self._list(SOFT),
                "doc_id": i.doc_id, "clause_id": i.clause_id, "quote": i.quote, "form": i.form,
                "department": i.department or None, "region": i.region}


@dataclass(frozen=True)
class MatchResult:
    """The three lists and the total of the eligible items' money amounts (万元)."""

    eligible: tuple[ItemMatch, ...]
    possible: tuple[ItemMatch, ...]
    ineligible: tuple[ItemMatch, ...]
    total_wan: float = 0.0
    not_added: tuple[str, ...] = field(default_factory=tuple)  # eligible items whose amount is a rate or unstated

    def to_json(self) -> dict:
        """The shape of `policyqa match --json` and POST /api/match."""
        return {"eligible": [m.to_json() for m in self.eligible], "possible": [m.to_json() for m in self.possible],
                "ineligible": [m.to_json() for m in self.ineligible],
                "total": {"value": round(self.total_wan, 4), "unit": "万元", "max": True,
                          "not_added": list(self.not_added)}}


def _region_check(item: SupportItem, region: str) -> Check:
    where = item.region
    if where == "全国":
        return Check(f"适用地区：{where}", MET, "全国适用")
    if not where:
        return Check("适用地区", UNKNOWN, "文件未写明适用地区")
    parts = Place(where, None).parts() or [where]
    if not region:
        return Check(f"适用地区：{where}", UNKNOWN, "企业未填地区")
    if in_region(parts[-1], region) and all(in_region(p, region) or not _has_level(region, p) for p in parts):
        return Check(f"适用地区：{where}", MET, region)
    return Check(f"适用地区：{where}", UNMET, f"企业在{region}")


def _has_level(region: str, part: str) -> bool:
    """True when `region` names a place of `part`'s level (a city for 广州市)."""
    return bool(re.search(rf"[\u4e00-\u9fff]+{part[-1]}", region))


def _year(item: SupportItem, documents: Mapping[str, DocMeta]) -> int | None:
    meta = documents.get(item.doc_id)
    when = (meta.date if meta else "") or item.valid_from
    return int(when[:4]) if re.match(r"\d{4}", when or "") else None


def judge_item(item: SupportItem, facts: Facts, documents: Mapping[str, DocMeta]) -> ItemMatch:
    """One item against one profile (see the module docstring)."""
    place = Place(item.region, _year(item, documents))
    checks = [_region_check(item, facts.region)]
    checks += [Check(f"不含{x}", UNMET, f"企业在{facts.region}") for x in item.exclusions
               if facts.region and in_region(x, facts.region)]
    own = [judge(c, facts, place) for c in item.conditions]
    checks += own
    checks += [c for c in (judge(s, facts, place) for s in item.scope) if c.status == UNMET]
    if item.applicant and all(a.endswith(_INDIVIDUAL) for a in item.applicant):
        checks.append(Check(f"申请对象：{'、'.join(item.applicant)}", UNKNOWN, "面向个人"))
    if not any(c.status == MET for c in own) and not any(c.status in (UNMET, UNKNOWN) for c in checks):
        checks.append(Check("申请条件", UNKNOWN, "企业信息未对应本项的任何申请条件"))
    if any(c.status == UNMET for c in checks):
        status = "ineligible"
    elif any(c.status == UNKNOWN for c in checks):
        status = "possible"
    else:
        status = "eligible"
    return ItemMatch(item, status, tuple(checks))


def match_profile(profile: Profile, items: Sequence[SupportItem], documents: Mapping[str, DocMeta]) -> MatchResult:
    """Every item judged for `profile`, eligible ones by amount (largest first)."""
    facts = profile.facts_view()
    judged = [judge_item(item, facts, documents) for item in items]
    eligible = sorted((m for m in judged if m.status == "eligible"),
                      key=lambda m: -(m.item.amount.in_wan() or 0.0))
    total = sum(m.item.amount.in_wan() or 0.0 for m in eligible)
    not_added = tuple(m.item.name for m in eligible if m.item.amount.in_wan() is None)
    return MatchResult(tuple(eligible), tuple(m for m in judged if m.status == "possible"),
                       tuple(m for m in judged if m.status == "ineligible"), total, not_added)
