"""extract_items: support items of every provision of every document (records in ingest/items.py).

Per document: provisions (the parts of a split clause joined again) are read segment by segment
(ingest/items.segment_drafts), then the provision's drafts are settled together: a total cap takes the
per-head amounts of its sentence, an amount without conditions borrows those of the sentence that
introduces it ("…可申请租金补贴。补贴标准为：…"), an amountless grant of a form the provision already
gives an amount for is dropped ("同一人员只能享受1次…补助"), consecutive amountless grants that name no
new applicant are one item. Sections headed as procedure give nothing; sections headed as conditions
give their lines to the items of the same section (or of the whole document when their own section
has none) as `scope`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Mapping, Sequence

from ingest.amounts import Squeezed, words
from ingest.departments import provision_id
from ingest.item_fields import applicants, exclusions, handler, validity
from ingest.items import Draft, SupportItem, segment_drafts, settle_members
from ingest.records import Clause, DocMeta
from ingest.segments import clean_condition, read_segments, strip_numbering



class Provision:
    """The parts of one provision joined (one line each), squeezed, with a map back to each part."""

    def __init__(self, parts: list[Clause]) -> None:
        self.parts = parts
        self.offsets, pos = [], 0
        for c in parts:
            self.offsets.append(pos)
            pos += len(c.text) + 1
        self.sq = Squeezed.of("\n".join(c.text for c in parts))

    @property
    def path(self) -> tuple[str, ...]:
        """The breadcrumb of the provision."""
        return self.parts[0].path

    def locate(self, start: int, end: int) -> tuple[Clause, str, tuple[int, int]]:
        """(part, quote as written, span in the document) of squeezed [start, end)."""
        a, b = self.sq.span(start, end)
        k = max(i for i, off in enumerate(self.offsets) if off <= a)
        part, off = self.parts[k], self.offsets[k]
        quote = self.sq.source[a:b]
        lo, hi = part.span
        if hi - lo == len(part.text):  # the clause text is the document's text there
            return part, quote, (lo + a - off, lo + min(b - off, len(part.text)))
        return part, quote, (lo, hi)


def _heading_has(path: Sequence[str], group: str) -> int:
    """Index of the deepest heading holding a word of `group`, or -1."""
    hits = [i for i, h in enumerate(path) if any(w in h for w in words(group))]
    return hits[-1] if hits else -1


def _id_parts(clause_id: str) -> list[str]:
    return provision_id(clause_id).split("#", 1)[-1].split(".")


def _settle(drafts: list[Draft], segments) -> list[Draft]:
    """Totals, borrowed conditions, amountless grants (see the module docstring)."""
    out: list[Draft] = []
    for d in drafts:
        if d.total is not None:
            before = [x for x in out if x.sentence == d.sentence and not x.amountless]
            if before:
                out = [x for x in out if x not in before]
                d = replace(d, start=before[0].start, conditions=before[0].conditions or d.conditions, total=None)
            else:
                d = replace(d, total=None)
        out.append(d)
    out = _caps_of_previous(out)
    lead: list[str] = []
    for d in out:
        if d.conditions and (d.amountless or d.restates):
            lead = d.conditions
        elif not d.conditions:
            d.conditions = list(lead)
    given = {d.form for d in out if not d.amountless}
    kept: list[Draft] = []
    for d in out:
        if d.amountless and d.form in given:
            continue
        if d.amountless and kept and kept[-1].amountless and not d.restates:
            capped = replace(kept[-1].amount, max=kept[-1].amount.max or d.amount.max)
            kept[-1] = replace(kept[-1], end=d.end, amount=capped)
            continue
        kept.append(d)
    return kept


def _caps_of_previous(drafts: list[Draft]) -> list[Draft]:
    """A sentence that only caps ("每年奖励最高不超过100万元。") caps the item before it: a rate without a
    cap takes it as its value (ratio kept), anything else keeps its own amount."""
    out: list[Draft] = []
    for d in drafts:
        prev = next((x for x in reversed(out) if not x.amountless), None)
        cap_only = (d.lone and not d.amountless and d.amount.max and d.amount.unit != "%" and not d.restates
                    and not d.member and d.amount.ratio is None)
        if prev is not None and cap_only and prev.sentence != d.sentence:
            if prev.amount.unit == "%" and prev.amount.ratio is None and not prev.amount.max:
                merged = replace(d.amount, ratio=prev.amount.value, text=prev.amount.text + "；" + d.amount.text)
                out[out.index(prev)] = replace(prev, amount=merged, end=d.end)
            continue
        out.append(d)
    return out


def _label(segments, seg_index: int) -> str:
    """The short title sentence before a segment ("（一）落户补贴。", "鼓励企业产品研发。"), or ""."""
    for seg in reversed(segments[:seg_index]):
        core = strip_numbering(seg.text.rstrip("。;；:：\n"))
        if not seg.mentions and len(core) <= 12 and not any(w in core for w in words("grant_verb")):
            return core
    return ""


def _may_give(text: str) -> bool:
    """A cheap first test: does the provision use any benefit word at all (most law articles do not)?"""
    return any(w in text for group in ("grant_verb", "exempt", "priority_opener", "full") for w in words(group))


def provision_drafts(prov: Provision) -> list[Draft]:
    """The settled drafts of one provision, each with its label."""
    if not _may_give(prov.sq.text):
        return []
    segments = read_segments(prov.sq.text)
    drafts = []
    for i, seg in enumerate(segments):
        for d in segment_drafts(seg):
            d.label = _label(segments, i)
            drafts.append(d)
    settle_members(drafts)
    return _settle(drafts, segments)


def _quote_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Trim numbering, a leading label ("资助额度：", "方向1："), and trailing separators."""
    body = text[start:end]
    m = re.match(r"\s*(?:[(（]?[一二三四五六七八九十\d]+[)）、.．]|第[一二三四五六七八九十百\d]+条)?\s*(?:[^,，。;；:：]{1,10}[:：])?", body)
    if m and m.end() < len(body):
        start += m.end()
    while end > start and text[end - 1] in ",，;；\n":
        end -= 1
    return start, end


_FORM_NOUN = re.compile(r"[\u4e00-\u9fff]{2,6}?(?:补贴|奖励|补助|资助|贴息|贷款|奖金)")


def _name(d: Draft, prov: Provision, siblings: int, own_label: bool = False) -> str:
    """A readable name: the listed case (分别), the provision's title line when it states one item (or a
    title line of its own: "（二）租金补贴。"), the item's own condition, the benefit noun it names
    (交通补贴), else the title."""
    title = strip_numbering(prov.path[-1]) if prov.path else ""
    noun = _FORM_NOUN.search(re.sub(r"[\d.]+(?:万元|元|%)|每[人年月件家]", "", d.text))
    if d.member:
        base = next((c for c in d.conditions if d.member in c), d.member)
    elif siblings == 1 and (d.label or len(title) <= 14 and title) or d.label and own_label:
        base = d.label or title
    elif d.restates and d.conditions:
        base = d.conditions[0]
    elif noun:
        base = noun.group(0)
    else:
        base = d.label or title or clean_condition(d.text)
    base = re.sub(r"\(.*?\)|\[.*?\]", "", base).split("的")[-1] if base == (noun.group(0) if noun else None) \
        else re.sub(r"\(.*?\)|\[.*?\]", "", base)
    base = base if len(base) <= 22 else base[:21] + "…"
    named = base if base.endswith(("奖励", "补贴", "补助", "资助", "贴息", "支持", "贷款")) or d.form == "other" \
        else base + d.form
    return named + (f"（{d.case}）" if d.case else "")


def _section_kind(prov: Provision) -> tuple[str, int]:
    """("procedure" | "condition" | "", heading index) from the deepest heading that says which; the
    provision's own title is its label line ("1、受理范围：") when its breadcrumb ends with a bare number."""
    titles = list(prov.path)
    first = prov.parts[0].text.strip().split("\n", 1)[0]
    own = re.split(r"[:：。]", strip_numbering(first), maxsplit=1)[0]
    if titles and len(own) <= 16:
        titles[-1] = titles[-1] + own
    for i in range(len(titles) - 1, -1, -1):
        title = titles[i]
        for kind, group in (("", "benefit_heading"), ("condition", "condition_heading"), ("procedure", "procedure_heading")):
            if any(w in title for w in words(group)):
                return kind, i
    return "", -1


def _doc_context(doc_clauses: list[Clause], meta: DocMeta, provisions: list[Provision]) -> dict:
    text = Squeezed.of("\n".join(c.text for c in doc_clauses)).text
    region = meta.region or ("全国" if any(w in text for w in words("national")) else "")
    valid_from, valid_to = validity(text, meta.date)
    found = next(((h, p.parts[0].id) for p in provisions if _section_kind(p)[0] == "procedure"
                  and (h := handler(p.sq.text))), None)
    found = found or next(((h, p.parts[0].id) for p in provisions if (h := handler(p.sq.text))), None)
    department, where = found or (meta.issuer, "")
    return {"region": region, "valid_from": valid_from, "valid_to": valid_to, "department": department,
            "department_clause": where}


def _scopes(provisions: list[Provision], item_ids: list[list[str]]) -> list[tuple[list[str], list[str]]]:
    """(id prefix, condition lines) per condition section; a section whose own part of the document
    has no items speaks for the whole document (prefix [])."""
    out: list[tuple[list[str], list[str]]] = []
    for prov in provisions:
        kind, at = _section_kind(prov)
        if kind != "condition":
            continue
        prefix = _id_parts(prov.parts[0].id)[:at]
        if not any(ids[: len(prefix)] == prefix for ids in item_ids):
            prefix = []
        lines = [clean_condition(s.text) for s in read_segments(prov.sq.text)]
        lines = [x.rstrip(":：") for x in lines if len(x) > 6]
        if lines:
            out.append((prefix, lines))
    return out


def _inherit_back_references(items: list[SupportItem], back: set[str]) -> list[SupportItem]:
    """An amountless grant that refers back ("可享受本条第一款规定的…即征即退政策") takes the amount of
    the earlier item of its document naming the same benefit; one that names none is dropped."""
    out: list[SupportItem] = []
    for item in items:
        if item.id in back and item.amount.value is None:
            names = [w for w in words(f"form_{item.form}") if w in item.quote] if item.form != "other" else []
            earlier = next((x for x in reversed(out) if x.doc_id == item.doc_id and x.amount.value is not None
                            and any(n in x.quote for n in names)), None)
            if earlier is None:
                continue  # "享受本办法的扶持对象…": a reference to the measure as a whole, no benefit of its own
            item = replace(item, amount=replace(earlier.amount, text=item.amount.text))
        out.append(item)
    return out


def document_items(doc_clauses: list[Clause], meta: DocMeta, reviewer=None) -> list[SupportItem]:
    """The support items of one document's clauses (in document order); `reviewer(provision, drafts)`
    may replace the drafts of provisions the rules read poorly (the model path)."""
    provisions: list[Provision] = []
    for c in doc_clauses:
        if provisions and provision_id(provisions[-1].parts[0].id) == provision_id(c.id):
            provisions[-1] = Provision(provisions[-1].parts + [c])
        else:
            provisions.append(Provision([c]))
    context = _doc_context(doc_clauses, meta, provisions)
    found: list[tuple[Provision, Draft]] = []
    for prov in provisions:
        if _section_kind(prov)[0]:
            continue
        drafts = provision_drafts(prov)
        if reviewer is not None:
            drafts = reviewer(prov, drafts)
        found += [(prov, d) for d in drafts]
    scopes = _scopes(provisions, [_id_parts(p.parts[0].id) for p, _ in found])
    items, back, counts = [], set(), {}
    per_provision: dict[int, int] = {}
    labels: dict[tuple[int, str], int] = {}
    for prov, d in found:
        per_provision[id(prov)] = per_provision.get(id(prov), 0) + 1
        labels[id(prov), d.label] = labels.get((id(prov), d.label), 0) + 1
    for prov, d in found:
        own = bool(d.label) and labels[id(prov), d.label] == 1
        items.append(_item(prov, d, context, scopes, counts, (per_provision[id(prov)], own)))
        if d.back_reference:
            back.add(items[-1].id)
    return _dedupe(_inherit_back_references(items, back))


def _given_to(text: str) -> tuple[str, ...]:
    """The applicant a benefit piece names after its verb ("给予企业20万元奖励" → 企业)."""
    m = re.search(r"(?:给予|奖励|补助给|支付给|奖励给)([\u4e00-\u9fff]{2,8}?)(?=[\d一二三四五六七八九十每]|$)", text)
    return applicants([m.group(1)]) if m else ()


def _item(prov: Provision, d: Draft, context: dict, scopes, counts: dict, naming: tuple[int, bool]) -> SupportItem:
    start, end = _quote_bounds(prov.sq.text, d.start, d.end)
    part, quote, span = prov.locate(start, end)
    counts[part.id] = counts.get(part.id, 0) + 1
    ids = _id_parts(part.id)
    scope = [line for prefix, lines in scopes if ids[: len(prefix)] == prefix for line in lines]
    segment = prov.sq.text[d.start : d.end]
    department, where = _department(prov, segment, context)
    return SupportItem(
        id=f"{part.id}/{counts[part.id]}", name=_name(d, prov, *naming), doc_id=part.doc_id, clause_id=part.id,
        quote=quote.strip(), span=span, form=d.form, amount=d.amount,
        applicant=applicants(d.conditions) or _given_to(d.text), conditions=tuple(dict.fromkeys(d.conditions)),
        scope=tuple(dict.fromkeys(scope)), department=department, region=context["region"],
        exclusions=exclusions(segment), valid_from=context["valid_from"], valid_to=context["valid_to"],
        source=d.source, department_clause=where)


def _department(prov: Provision, segment: str, context: dict) -> tuple[str, str]:
    """The handling unit and the clause naming it: the segment's, the provision's, its tag's lead, the
    document's (a procedure section's "报送至…"), else the issuer."""
    own = handler(segment) or handler(prov.sq.text) or next(iter(prov.parts[0].lead or prov.parts[0].departments), "")
    if own:
        return own, prov.parts[0].id
    return context["department"], context["department_clause"]


def _dedupe(items: list[SupportItem]) -> list[SupportItem]:
    seen, out = set(), []
    for item in items:
        key = (item.doc_id, item.quote, item.amount.value, item.amount.unit, item.conditions)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def extract_items(clauses: Sequence[Clause], documents: Mapping[str, DocMeta], reviewer=None) -> list[SupportItem]:
    """Every support item of `clauses` (any number of documents, in clause order)."""
    by_doc: dict[str, list[Clause]] = {}
    for c in clauses:
        by_doc.setdefault(c.doc_id, []).append(c)
    out: list[SupportItem] = []
    for doc_id, doc_clauses in by_doc.items():
        meta = documents.get(doc_id) or DocMeta(doc_id=doc_id, title=doc_clauses[0].doc_title, region=doc_clauses[0].region)
        out += document_items(doc_clauses, meta, reviewer)
    return out
