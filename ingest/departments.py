"""Responsibility tags: the parenthesised unit lists that end policy provisions.

Shapes seen in the seeds (after normalisation of full-width brackets and colons):
  (牵头单位:市科技局、市财政局)             every listed unit leads
  (市工信局牵头负责)                        the listed units lead
  (市科技局、市工信局分工负责)              shared responsibility, no lead
  (市科技局牵头,市财政局等部门分工负责)     a lead plus supporting units
  (市工信局、市科技局、市财政局)            a bare list: all responsible, no stated lead
A parenthesis is only a tag when every item in it looks like a unit name, so "(R&D)", "(园区)" and
"(晋办发[2020]15号)" are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from ingest.normalize import normalize

# Canonical names for units the seeds spell two ways. Only exact synonyms go here.
ALIASES: dict[str, str] = {
    "市发展改革委": "市发改委",
    "市发展和改革委员会": "市发改委",
    "市人力资源社会保障局": "市人社局",
    "市人力资源和社会保障局": "市人社局",
    "各县、区人民政府": "各县区政府",
    "各县区人民政府": "各县区政府",
    "各县(区)人民政府": "各县区政府",
    "各县(区)政府": "各县区政府",
    "各县、区政府": "各县区政府",
    "市人民政府": "市政府",
}

_SUFFIX = (
    "局", "委", "办", "部", "厅", "政府", "中心", "科协", "协会", "支行", "中支", "分局", "开发区",
    "办公室", "委员会", "有关部门", "公司", "集团", "银行", "工会", "联合会", "工商联", "院", "所",
)
_PREFIX = re.compile(r"^(市|省|县|区|各|人行|人民银行|中国人民银行|国家|[\u4e00-\u9fff]{1,4}(市|省|县|区))")
_BARE = {"政府", "人民政府", "党委", "委", "局"}
_PAREN = re.compile(r"\(([^()]{2,200})\)")
_SEP = re.compile(r"[、,;]")


@dataclass(frozen=True)
class Tag:
    """One responsibility tag found in a text: its span (parentheses included) and its units."""

    start: int
    end: int
    raw: str
    lead: tuple[str, ...]
    departments: tuple[str, ...]


def canonical(name: str, *, aliases: bool = True) -> str:
    """Normalise one unit name: widths, spaces, a trailing 等部门/等单位, known aliases (unless `aliases`
    is False: the name as the document writes it)."""
    name = re.sub(r"\s+", "", normalize(name)).strip("、,;:")
    name = re.sub(r"(等部门|等单位|等)$", "", name)
    return ALIASES.get(name, name) if aliases else name


def looks_like_unit(name: str) -> bool:
    """True for strings shaped like a government unit name (市科技局, 忻州银保监局, 各县区政府)."""
    name = canonical(name)
    return 3 <= len(name) <= 24 and name.endswith(_SUFFIX) and bool(_PREFIX.match(name))


def _is_name(piece: str, strict: bool) -> bool:
    if strict:
        return looks_like_unit(piece)
    # Inside a tag that says 牵头/负责 any short name is a unit ("阳泉经济技术开发区", "市工商联").
    return 2 <= len(piece) <= 24 and not re.search(r"[。；;:《》\d]", piece)


def split_units(text: str, *, strict: bool = False, aliases: bool = True) -> list[str] | None:
    """Split a unit list on 、/,; rejoin '各县' + '区人民政府'; None if an item is not a unit name.

    `strict` is for bare lists, where only the shape of the names shows that this is a tag; `aliases`
    False keeps each name as written.
    """
    pieces = [p.strip() for p in _SEP.split(text) if p.strip()]
    units: list[str] = []
    carry = ""
    for piece in pieces:
        piece = carry + ("、" if carry else "") + piece
        carry = ""
        if re.fullmatch(r"各[\u4e00-\u9fff]{1,2}", piece):
            carry = piece  # "各县、区人民政府" is one unit written with a 、 inside
            continue
        if piece in _BARE and units:
            # "各县区委、政府": a bare suffix shares the previous unit's place prefix.
            prev = units[-1]
            stem = next((prev[: -len(s)] for s in sorted(_SUFFIX, key=len, reverse=True) if prev.endswith(s)), "")
            piece = stem + piece
        if not _is_name(piece, strict):
            return None
        units.append(canonical(piece, aliases=aliases))
    if carry or not units:
        return None
    return list(dict.fromkeys(units))


def parse_tag(content: str, *, aliases: bool = True) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Classify the inside of one parenthesis (or a whole tag, parentheses included); return (lead,
    departments) or None if not a tag. Names are canonical, or as written when `aliases` is False."""
    body = re.sub(r"\s+", "", normalize(content))
    if body[:1] == "(" and body[-1:] == ")":
        body = body[1:-1]
    split = partial(split_units, aliases=aliases)
    lead: list[str] | None
    rest: list[str] | None = []
    m = re.fullmatch(r"牵头单位[:：](.+)", body)
    if m:
        lead = split(m.group(1))
    elif m := re.fullmatch(r"(.+?)牵头[,，;](.+?)(?:等部门|等单位)?(?:分工|配合)?负责", body):
        lead, rest = split(m.group(1)), split(m.group(2))
    elif m := re.fullmatch(r"(.+?)牵头(?:负责)?", body):
        lead = split(m.group(1))
    elif m := re.fullmatch(r"(.+?)(?:等部门|等单位)?(?:分工|配合|共同)负责", body):
        lead, rest = [], split(m.group(1))
    else:
        lead, rest = [], split(body, strict=True)
    if lead is None or rest is None or not (lead or rest):
        return None
    return tuple(lead), tuple(dict.fromkeys(lead + rest))


def find_tags(text: str, norm: str | None = None) -> list[Tag]:
    """Every responsibility tag in `text`, in order, with spans into `text` (`norm`: its normal form,
    when the caller has it already)."""
    norm = normalize(text) if norm is None else norm
    if "(" not in norm:
        return []
    tags = []
    for m in _PAREN.finditer(norm):
        parsed = parse_tag(m.group(1))
        if parsed:
            tags.append(Tag(m.start(), m.end(), text[m.start() : m.end()], *parsed))
    return tags


def provision_id(clause_id: str) -> str:
    """The id of the whole provision a clause belongs to (parts of a split provision share it)."""
    return clause_id.split("~", 1)[0]


@dataclass(frozen=True)
class UnitCount:
    """How many provisions a unit leads and shares in total."""

    name: str
    lead: int
    total: int


def unit_counts(clauses) -> list[UnitCount]:
    """Every responsible unit with its provision counts, most provisions first."""
    lead: dict[str, set[str]] = {}
    total: dict[str, set[str]] = {}
    for c in clauses:
        pid = provision_id(c.id)
        for unit in c.departments:
            total.setdefault(unit, set()).add(pid)
        for unit in c.lead:
            lead.setdefault(unit, set()).add(pid)
    rows = [UnitCount(u, len(lead.get(u, ())), len(ids)) for u, ids in total.items()]
    return sorted(rows, key=lambda r: (-r.total, -r.lead, r.name))


def resolve_unit(name: str, known: list[str]) -> list[str]:
    """Known unit names matching `name`: the exact canonical name, else every name containing it."""
    wanted = canonical(name)
    if wanted in known:
        return [wanted]
    short = re.sub(r"^市", "", wanted)
    return [k for k in known if short and short in k]


def clauses_for_unit(clauses, unit: str) -> dict[str, list]:
    """The provisions `unit` leads or shares, grouped by document id, one entry per provision
    (the first part of a split provision stands for it), in document order."""
    grouped: dict[str, list] = {}
    seen: set[str] = set()
    for c in clauses:
        pid = provision_id(c.id)
        if unit in c.departments and pid not in seen:
            seen.add(pid)
            grouped.setdefault(c.doc_id, []).append(c)
    return grouped
