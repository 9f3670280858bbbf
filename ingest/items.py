"""Support items (扶持事项): what each clause offers, to whom, how much and on what conditions.

    extract_items(clauses, documents) -> [SupportItem]     at build time, over every clause

Rules read the regular shapes (ingest/segments.py cuts a provision into segments and pieces;
ingest/amounts.py reads the amounts): one item per amount a benefit piece gives, except
  - a rate with a money cap is one item (value = the cap, ratio = the rate):
    "按其研发实际发生额的20%给予企业奖励，最高奖励不超过50万元" → 50万元, max, ratio 20;
  - a list of amounts is one item per listed case when the text says 分别 or labels each amount
    ("博士每人10000元、硕士每人7000元") and one capped item when it is a scale ("70%、80%和90%" for tiers
    of a condition, "5%—20%");
  - a cap over a sum ("同一申请人每年累计资助不超过8万元") is no item, a total ("总额最高不超过3万元")
    replaces the per-head amounts before it, a variant ("可提高至60万元") is dropped;
  - amounts inside brackets count only when the benefit states no other ("(…最高奖励不超过50万元)").
A benefit without an amount ("实行一事一议", "不征收增值税", "给予优先支持") is an item when the
provision gives no amount of the same form; an amountless grant that refers back to one stated earlier
("可享受本条第一款规定的…即征即退政策") takes that item's amount. Headings of procedure (申报材料,
注意事项…) give no items; headings of conditions (申报条件, 资助对象…) give every item beside them its
`scope`. Where a clause holds an amount in a benefit piece the rules cannot place, the optional model
path (ingest/item_model.py) is asked, and its fields are kept only when its quote checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.amounts import Mention, forms, words
from ingest.item_fields import list_members
from ingest.segments import Segment, clean_condition, first_word, opens_with_priority, strip_numbering


@dataclass(frozen=True)
class Amount:
    """An item's amount: value and unit (万元/元/%, None when not stated), whether it is a cap, the
    per-unit basis, a rate that comes with a cap, and the amount as written."""

    value: float | None = None
    unit: str | None = None
    max: bool = False
    per: str | None = None
    ratio: float | None = None
    text: str = ""

    def to_json(self) -> dict:
        """{value, unit, max, per, ratio, text}; whole numbers as ints."""
        def num(x: float | None):
            return int(x) if x is not None and float(x).is_integer() else x
        return {"value": num(self.value), "unit": self.unit, "max": self.max, "per": self.per or None,
                "ratio": num(self.ratio), "text": self.text}

    @classmethod
    def from_json(cls, row: dict) -> "Amount":
        """Inverse of `to_json`."""
        return cls(row.get("value"), row.get("unit"), bool(row.get("max")), row.get("per"), row.get("ratio"),
                   row.get("text", ""))

    def in_wan(self) -> float | None:
        """The value in 万元 (None for rates and unstated amounts)."""
        if self.value is None or self.unit not in ("万元", "元"):
            return None
        return self.value if self.unit == "万元" else self.value / 10000


@dataclass(frozen=True)
class SupportItem:
    """One support item (扶持事项) of one clause, every field as the document writes it."""

    id: str  # "<clause id>/<n>"
    name: str
    doc_id: str
    clause_id: str
    quote: str
    span: tuple[int, int]  # of the quote in the document's text
    form: str  # 奖励 | 补助 | 补贴 | 贴息 | 资助 | 减免 | other
    amount: Amount
    applicant: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()  # conditions of the section the item sits in (申报条件, 资助对象…)
    department: str = ""
    region: str = ""
    exclusions: tuple[str, ...] = ()  # what the text leaves out (不含深圳): a matcher checks places
    valid_from: str = ""
    valid_to: str = ""
    source: str = "rules"  # rules | model
    department_clause: str = ""  # the clause that names the handling unit

    def to_json(self) -> dict:
        """The shape of `policyqa items --json` (plus span, scope, validity and source)."""
        return {"id": self.id, "name": self.name, "doc_id": self.doc_id, "clause_id": self.clause_id,
                "quote": self.quote, "span": list(self.span), "form": self.form, "amount": self.amount.to_json(),
                "applicant": list(self.applicant), "conditions": list(self.conditions), "scope": list(self.scope),
                "department": self.department or None, "region": self.region, "exclusions": list(self.exclusions),
                "valid_from": self.valid_from or None, "valid_to": self.valid_to or None, "source": self.source,
                "department_clause": self.department_clause or None}

    @classmethod
    def from_json(cls, row: dict) -> "SupportItem":
        """Inverse of `to_json`."""
        return cls(row["id"], row["name"], row["doc_id"], row["clause_id"], row["quote"], tuple(row["span"]),
                   row["form"], Amount.from_json(row["amount"]), tuple(row.get("applicant", ())),
                   tuple(row.get("conditions", ())), tuple(row.get("scope", ())), row.get("department") or "",
                   row.get("region", ""), tuple(row.get("exclusions", ())), row.get("valid_from") or "",
                   row.get("valid_to") or "", row.get("source", "rules"), row.get("department_clause") or "")


@dataclass
class Draft:
    """An item being read from one provision: squeezed span, amount, form, conditions."""

    start: int
    end: int
    amount: Amount
    form: str
    conditions: list[str] = field(default_factory=list)
    member: str = ""
    label: str = ""
    amountless: bool = False
    restates: bool = True  # its segment names its own applicant or condition
    sentence: int = 0
    total: Mention | None = None  # a total cap waiting for the per-head amounts before it
    back_reference: bool = False
    text: str = ""
    source: str = "rules"
    lone: bool = False  # its segment is one piece ("每年奖励最高不超过100万元。")
    case: str = ""  # the case of a labelled amount ("博士每人10000元、硕士每人7000元" → 博士, 硕士)


def form_of(text: str) -> str:
    """The benefit form a text names (the first form of `data/item_words.txt` whose word occurs)."""
    for form, ws in forms():
        if any(w in text for w in ws):
            return form
    return "other"


def _grant_mentions(seg: Segment) -> list[Mention]:
    main, bracketed = [], []
    for m in seg.mentions:
        piece = seg.piece_at(m.start)
        if piece is None or piece.kind != "benefit" or m.base_is_benefit:
            continue
        before = piece.text[: m.start - piece.start]
        if m.threshold and not (m.floor and any(n in before for n in words("grant_noun"))):
            continue
        if any(w in seg.text[: m.start - seg.start] for w in words("raise")):
            continue
        (bracketed if m.in_parens else main).append(m)
    return main or bracketed


def _labelled(seg: Segment, a: Mention, b: Mention) -> bool:
    between = seg.text[a.end - seg.start : b.start - seg.start]
    for w in words("cap") + ("每人", "每年", "每月", "每家", "每件", "分别", "给予"):
        between = between.replace(w, "")
    return len(re.findall(r"[\u4e00-\u9fff]", between)) >= 2


def _case(text: str) -> str:
    """The case a labelled amount is for ("、硕士每人" → 硕士)."""
    for w in words("cap") + ("每人", "每年", "每月", "每家", "每件", "按", "给予", "、", "，", ","):
        text = text.replace(w, "")
    return text.strip()[-8:]


def _amount(mentions: list[Mention], *, cap: bool, text: str, ratio: float | None = None) -> Amount:
    top = max(mentions, key=lambda m: m.value)
    return Amount(top.value, top.unit, cap, next((m.per for m in mentions if m.per), "") or None, ratio, text)


def _groups(seg: Segment, kept: list[Mention]) -> list[tuple[Amount, str, Mention]]:
    """(amount, list member index marker, first mention) per item of one segment's kept amounts."""
    text = seg.text
    pcts = [m for m in kept if m.unit == "%"]
    money = [m for m in kept if m.money]
    if pcts and money and all(m.cap for m in money):
        span = text[pcts[0].start - seg.start : money[-1].end - seg.start]
        return [(_amount(money[:1], cap=True, text=span, ratio=max(p.value for p in pcts)), "", pcts[0])]
    out: list[tuple[Amount, str, Mention]] = []
    by_piece: dict[int, list[Mention]] = {}
    for m in kept:
        by_piece.setdefault(seg.piece_at(m.start).start, []).append(m)
    scale_size = sum(1 for m in seg.mentions if seg.piece_at(m.start).kind in ("condition", "other"))
    for group in by_piece.values():
        piece = seg.piece_at(group[0].start)
        if len(group) == 1:
            out.append((_amount(group, cap=group[0].cap, text=_piece_text(piece.text)), "", group[0]))
        elif any(_labelled(seg, a, b) for a, b in zip(group, group[1:])):
            starts = [piece.start] + [m.end for m in group[:-1]]
            out += [(_amount([m], cap=m.cap, text=m.text), "case:" + _case(seg.text[a - seg.start : m.start - seg.start]), m)
                    for a, m in zip(starts, group)]
        elif seg.has("respectively") and scale_size < len(group):
            out += [(_amount([m], cap=m.cap, text=m.text), f"{i}/{len(group)}", m) for i, m in enumerate(group)]
        else:
            span = text[group[0].start - seg.start : group[-1].end - seg.start]
            out.append((_amount(group, cap=not seg.has("no_cap"), text=span), "", group[0]))
    return out


def _piece_text(text: str) -> str:
    """A piece as an amount's text: no separator, no trailing bracket (a responsibility tag, a note)."""
    text = text.rstrip(",，:;；。\n")
    return re.sub(r"[(（][^()（）]*[)）][。;；]?$", "", text).rstrip(",，:;；。") or text


def _kept(grant: list[Mention]) -> tuple[list[Mention], Mention | None]:
    kept: list[Mention] = []
    total = None
    for m in grant:
        if m.raise_:
            continue
        if m.aggregate and m.total:
            kept, total = [], m  # a total replaces the per-head amounts of its sentence (item_extract._settle)
            continue
        if m.aggregate:
            continue  # a cap over a sum: of the item before it, or of no item
        kept.append(m)
    return kept, total


def _lead(piece_text: str) -> str:
    """The condition a benefit piece opens with ("获美国、日本、欧盟国家授权的发明专利每件资助50000元"
    → 获美国、日本、欧盟国家授权的发明专利), or "" when it opens with the benefit, its reckoning or the
    amount's own description ("对其增值税实际税负超过3%的部分…")."""
    piece_text = strip_numbering(piece_text)
    stops = words("grant_verb") + words("priority_opener") + words("full") + ("每", "单个", "单品种", "按", "最高", "一次性")
    cut = min([i for i in (piece_text.find(w) for w in stops) if i >= 0] + [len(piece_text)])
    digit = re.search(r"\d", piece_text)
    if digit and digit.start() < cut:
        return ""
    lead = piece_text[:cut]
    if first_word(lead) in words("method_opener") and not lead.startswith("对") or lead.startswith("由"):
        return ""
    return clean_condition(lead) if len(clean_condition(lead)) >= 4 else ""


def split_conjoined(text: str) -> list[str]:
    """A condition cut at the conjunctions 并/且/并且 between two parts of four characters or more
    ("在天河区依法登记注册并实际运营满一年"), never inside a word (兼并, 一并)."""
    import jieba

    parts, current = [], ""
    for token in jieba.lcut(text):
        if token in ("并", "且", "并且") and len(re.findall(r"[\u4e00-\u9fff]", current)) >= 4:
            parts.append(current)
            current = ""
        else:
            current += token
    if parts and len(re.findall(r"[\u4e00-\u9fff]", current)) < 4:
        parts[-1] += "并" + current
        current = ""
    return [p for p in parts + [current] if p]


def _conditions(seg: Segment, upto: int | None = None) -> list[str]:
    """The conditions of the item whose benefit piece starts at `upto` (default: the first benefit
    piece): condition and other pieces before it, the openings of amountless benefit pieces before it,
    and its own piece's opening."""
    if upto is None:
        upto = next((p.start for p in seg.pieces if p.kind == "benefit"), seg.end)
    texts: list[str] = []
    for p in seg.pieces:
        if p.start > upto:
            break
        if p.start < upto and p.text.endswith((":", "：")) and re.search(r"如下|以下|下列|具体", p.text):
            texts = []  # what comes before "…如下：" introduces the list, it is no condition of an item in it
            continue
        if p.kind == "benefit":
            own = p.start == upto
            if own or not any(p.start <= m.start < p.end for m in seg.mentions):
                texts.append(_lead(p.text))
        elif p.kind in ("condition", "other") and p.start < upto:
            texts.append(p.text)
    out = []
    for text in filter(None, texts):
        for part in split_conjoined(text):
            cond = clean_condition(part)
            if len(cond) >= 2:
                out.append(cond)
    return out


def _restates(seg: Segment) -> bool:
    generic = words("generic")
    for cond in _conditions(seg):
        rest = cond
        for g in generic:
            rest = rest.replace(g, "")
        if len(rest) >= 3:
            return True
    return False


def _amountless(seg: Segment) -> Draft | None:
    if seg.ends_list:
        return None
    nouns = words("amountless_noun")
    for p in seg.pieces:
        if any(w in p.text for w in words("not_benefit")):
            continue
        verb = any(w in p.text for w in words("amountless_verb")) and any(n in p.text for n in nouns)
        exempt = any(w in p.text for w in words("exempt")) or opens_with_priority(p.text)
        if p.kind == "benefit" and (verb or exempt):
            cap = any(w in p.text for w in words("cap"))
            form = form_of(p.text) if form_of(p.text) != "other" else form_of(seg.text)
            return Draft(seg.start, seg.end, Amount(None, None, cap, None, None, _piece_text(p.text)), form, _conditions(seg), amountless=True, restates=_restates(seg),
                         sentence=seg.sentence, back_reference=seg.has("back_reference"), text=p.text)
    return None


def segment_drafts(seg: Segment) -> list[Draft]:
    """The items one segment states (amountless ones included)."""
    kept, total = _kept(_grant_mentions(seg))
    if total is not None:
        amount = _amount([total], cap=True, text=_piece_text(seg.piece_at(total.start).text))
        return [Draft(seg.start, seg.end, amount, form_of(seg.text), _conditions(seg), sentence=seg.sentence,
                      total=total)]
    drafts = []
    for amount, member, first in _groups(seg, kept):
        piece = seg.piece_at(first.start)
        form = form_of(piece.text) if form_of(piece.text) != "other" else form_of(seg.text)
        case = member[5:] if member.startswith("case:") else ""
        drafts.append(Draft(seg.start, seg.end, amount, form, _conditions(seg, piece.start),
                            member="" if case else member, sentence=seg.sentence, restates=_restates(seg),
                            text=piece.text, lone=len(seg.pieces) == 1, case=case))
    return drafts or ([d] if (d := _amountless(seg)) else [])


def settle_members(drafts: list[Draft]) -> None:
    """Give each draft of a 分别 list its own member of the condition's list ("国家级和省级" → 国家级, 省级)."""
    for d in drafts:
        if not d.member:
            continue
        i, n = map(int, d.member.split("/"))
        d.member = ""
        for k, cond in enumerate(d.conditions):
            found = list_members(cond, n)
            if found:
                start, end, members = found
                d.member = members[i]
                # "实现“小升规”“规改股”“股上市”三个梯度发展目标的" — the count after the list describes it
                rest = re.sub(r"^[一二三四五六七八九十两\d]+(?:个|项|类|种|大)[^的,，]{0,10}(?=的|$)", "", cond[end:])
                d.conditions[k] = cond[:start] + members[i] + rest
                break
