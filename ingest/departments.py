"""Responsibility tags: who leads, who is responsible and who cooperates on a provision.

Shapes read (after normalisation of full-width brackets, commas and colons):
  (牵头单位:市科技局、市财政局)                 labelled: every listed unit leads
  (牵头单位:市科委,配合单位:各区县市)           labelled roles, one after another
  (牵头单位:市商务局  责任单位:市编办、…)        labels separated only by spaces
  (责任单位:市发改委、市财政局等;各区政府)        a ;-continued list keeps its role
  (区政务服务局牵头,区发改局、区审改办配合)       phrase: units, then the role word
  (市科技局牵头,市财政局等部门分工负责)          a lead plus responsible units
  (市工信局、市科技局、市财政局)                 a bare list: all responsible, no stated lead
  …。责任单位:市发改委、市财政局。                 unparenthesised, at a sentence or line start
Role words and their roles are data (`data/tag_roles.txt`): lead (牵头), responsible (责任/负责/分工
负责: shared) and cooperating (配合/协助/参与). `departments` lists every unit, lead first; `cooperating`
is the subset that only supports. No false tags: a parenthesis is a tag only with a role word, or when
every item in it is shaped like a unit name (ingest/units.py); "(以下简称…)" never is, nor a second
name written right after a unit ("广州市民政局（广州市社会组织管理局）").
Tags on headings and in annex task tables are given to clauses by ingest/tag_assign.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from policyqa.text import normalize
from policyqa.vocab import lines
from ingest.units import (  # noqa: F401  (canonical: re-exported for qa/ and index/)
    canonical,
    has_unit_suffix,
    looks_like_unit,
    not_unit_openers,
    unit_suffixes,
    split_top,
    split_units,
)

ROLES = ("lead", "responsible", "cooperating")
_PARENS = re.compile(r"[()]")
_TRAIL = re.compile(r"(?:等部门|等单位|等)$")
_LABEL_NOUN = r"(?:单位|部门|主体|处室|科室|机构)?"


@dataclass(frozen=True)
class Tag:
    """One responsibility tag found in a text: its span (parentheses included) and its units."""

    start: int
    end: int
    raw: str
    lead: tuple[str, ...]
    departments: tuple[str, ...]
    cooperating: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def role_words() -> dict[str, dict[str, str]]:
    """{"label": {word: role}, "phrase": {word: role}} from `data/tag_roles.txt` (loaded once)."""
    words: dict[str, dict[str, str]] = {"label": {}, "phrase": {}}
    for line in lines("tag_roles.txt"):
        word, role, form = line.split("\t")
        for f in ("label", "phrase") if form == "both" else (form,):
            words[f][word] = role
    return words


def _alternation(words) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(label anywhere, label at a sentence or line start, one phrase segment)."""
    label = f"(?P<word>{_alternation(role_words()['label'])}){_LABEL_NOUN}[ ]*:"
    start = re.compile(rf"(?:^|(?<=[。;!?,\n]))[ ]*(?={label})", re.MULTILINE)
    phrase = re.compile(rf"(?P<units>.+?)(?:等部门|等单位|等)?(?P<word>{_alternation(role_words()['phrase'])})(?:负责|落实|实施|推进)?")
    return re.compile(label), start, phrase


def _units(text: str, strict: bool = False) -> list[str] | None:
    # Spaces separate units ("市商务局 市发改委").
    text = re.sub(r"[ ]+", "、", text.strip(" 、,;"))
    return split_units(text, strict=strict) if text else None


@lru_cache(maxsize=1)
def _side_note() -> re.Pattern[str]:
    words = _alternation(lines("tag_side_notes.txt"))
    return re.compile(rf"\d{{4}}年|{words}|^[\u4e00-\u9fff]{{2,8}}[ ]*:")


def _without_side_notes(content: str) -> str:
    """`content` up to its first side note (a deadline, "完成时限:…"): only units remain."""
    pieces = split_top(content, ",; ")
    keep = []
    for piece in pieces:
        if _side_note().search(piece):
            break
        keep.append(piece)
    return "、".join(keep)


def _labelled(body: str) -> dict[str, list[str]] | None:
    """Roles of a tag written as labels (牵头单位:X,配合单位:Y); None unless it opens with a label."""
    label = _patterns()[0]
    found = list(label.finditer(body))
    if not found or body[: found[0].start()].strip(" ,;、"):
        return None
    roles: dict[str, list[str]] = {r: [] for r in ROLES}
    for m, nxt in zip(found, found[1:] + [None]):
        units = _units(_without_side_notes(body[m.end() : nxt.start() if nxt else len(body)]))
        if units is None:
            return None
        roles[role_words()["label"][m.group("word")]] += units
    return roles


def _phrased(body: str) -> dict[str, list[str]] | None:
    """Roles of a tag written as phrases (X牵头,Y、Z配合) or a bare unit list; None if not a tag."""
    phrase = _patterns()[2]
    roles: dict[str, list[str]] = {r: [] for r in ROLES}
    worded = False
    for segment in split_top(body, ",;"):
        if _side_note().search(segment):
            continue
        segment = re.sub(r"^由", "", segment)  # (由市科技局牵头)
        m = phrase.fullmatch(segment)
        if m and (units := _units(m.group("units"))):
            roles[role_words()["phrase"][m.group("word")]] += units
            worded = True
        elif units := _units(segment, strict=True):
            roles["responsible"] += units
        else:
            return None
    return roles if worded or any(roles.values()) else None


def read_tag(content: str) -> dict[str, tuple[str, ...]] | None:
    """The roles in one tag (parentheses optional): {"lead", "responsible", "cooperating"} → units
    as written; None when `content` is not a responsibility tag."""
    body = normalize(content).replace("\n", "").strip()  # a line break inside a tag is a wrap (PDF text)
    if body[:1] == "(" and body[-1:] == ")":
        body = body[1:-1].strip()
    if not body or body.startswith(not_unit_openers()):
        return None
    roles = _labelled(body) or _phrased(body)
    if not roles or not any(roles.values()):
        return None
    lead = list(dict.fromkeys(roles["lead"]))
    coop = [u for u in dict.fromkeys(roles["cooperating"]) if u not in lead]
    resp = [u for u in dict.fromkeys(roles["responsible"]) if u not in lead and u not in coop]
    return {"lead": tuple(lead), "responsible": tuple(resp), "cooperating": tuple(coop)}


def parse_tag(content: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Classify the inside of one parenthesis (or a whole tag, parentheses included); return (lead,
    departments) or None if not a tag. Names are as written."""
    roles = read_tag(content)
    if roles is None:
        return None
    return roles["lead"], _all_units(roles)


def _all_units(roles: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(roles["lead"] + roles["responsible"] + roles["cooperating"]))


def paren_groups(norm: str) -> list[tuple[int, int]]:
    """Spans of the outermost (…) groups in normalised text, parentheses included; an unclosed "("
    is ignored."""
    spans, stack = [], []
    for m in _PARENS.finditer(norm):
        if m.group(0) == "(":
            stack.append(m.start())
        elif stack:
            start = stack.pop()
            if not stack:
                spans.append((start, m.end()))
    return spans


def _second_name(norm: str, start: int) -> bool:
    """True when the parenthesis at `start` follows a unit name directly: 市民政局(市社会组织管理局)."""
    before = re.search(r"[\u4e00-\u9fff]{2,30}$", norm[max(0, start - 30) : start])
    return bool(before) and has_unit_suffix(before.group(0)[-12:])


def _make(text: str, start: int, end: int, roles: dict[str, tuple[str, ...]]) -> Tag:
    return Tag(start, end, text[start:end], roles["lead"], _all_units(roles), roles["cooperating"])


def roles_units(roles: dict[str, tuple[str, ...]]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(lead, departments, cooperating) of one `read_tag` result."""
    return roles["lead"], _all_units(roles), roles["cooperating"]


def _paren_tags(text: str, norm: str, lo: int, hi: int) -> list[Tag]:
    """Tags among the parenthesis groups of norm[lo:hi]; inside a group that is not a tag, its own
    groups are tried ("(详见附件(市科技局牵头))" is rare but costs nothing)."""
    tags = []
    for s, e in paren_groups(norm[lo:hi]):
        s, e = s + lo, e + lo
        if e - s > 240:
            tags += _paren_tags(text, norm, s + 1, e - 1)
            continue
        roles = read_tag(norm[s:e]) if _could_be_tag(norm[s + 1 : e - 1]) else None
        if roles and len(roles["responsible"]) == 1 and _bare(norm[s:e]) and _second_name(norm, s):
            roles = None  # "X局(Y局)": one office's second name, not a tag
        if roles:
            tags.append(_make(text, s, e, roles))
        elif "(" in norm[s + 1 : e - 1]:
            tags += _paren_tags(text, norm, s + 1, e - 1)
    return tags


def _could_be_tag(content: str) -> bool:
    """A cheap first test: a role word inside, or the content ends like a unit name (局, 委, 等…)."""
    return bool(_any_role().search(content)) or _TRAIL.sub("", content.rstrip()).endswith(unit_suffixes())


@lru_cache(maxsize=1)
def _any_role() -> re.Pattern[str]:
    return re.compile(_alternation(set(role_words()["label"]) | set(role_words()["phrase"])))


def _bare(tag: str) -> bool:
    """True when a tag has no role word at all (only unit names)."""
    return not _any_role().search(tag)


def _open_tags(text: str, norm: str, taken: list[tuple[int, int]]) -> list[Tag]:
    """Unparenthesised labelled tags: "责任单位:X、Y。" or "牵头单位:X;配合单位:Y" at a sentence or line
    start, running to the sentence end; a ;-field that is neither a label nor a unit list ends it."""
    label, start, _ = _patterns()
    tags = []
    for m in start.finditer(norm):
        s = m.end()
        if any(a <= s < b for a, b in taken) or (tags and s < tags[-1].end):
            continue
        stop = re.search(r"[。\n]|$", norm[s:])
        fields, end = [], s
        for field in re.finditer(r"[^;]+", norm[s : s + stop.start()]):
            if not (label.match(field.group(0).strip()) or fields and _units(field.group(0), True)):
                break
            fields.append(field.group(0))
            end = s + field.end()
        roles = read_tag(";".join(fields)) if fields else None
        if roles:
            while end > s and norm[end - 1] in " ,、":
                end -= 1
            tags.append(_make(text, s, end, roles))
    return tags


def find_tags(text: str, norm: str | None = None) -> list[Tag]:
    """Every responsibility tag in `text`, in order, with spans into `text` (`norm`: its normal form,
    when the caller has it already)."""
    norm = normalize(text) if norm is None else norm
    tags = _paren_tags(text, norm, 0, len(norm)) if "(" in norm else []
    if ":" in norm:
        tags += _open_tags(text, norm, paren_groups(norm) if "(" in norm else [])
    return sorted(tags, key=lambda t: t.start)


def tag_units(tags: list[Tag]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(lead, departments, cooperating) of several tags together: lead first, a unit that leads in one
    tag is not also cooperating."""
    lead = tuple(dict.fromkeys(u for t in tags for u in t.lead))
    departments = tuple(dict.fromkeys(lead + tuple(u for t in tags for u in t.departments)))
    cooperating = tuple(dict.fromkeys(u for t in tags for u in t.cooperating if u not in lead))
    return lead, departments, cooperating


def provision_id(clause_id: str) -> str:
    """The id of the whole provision a clause belongs to (parts of a split provision share it)."""
    return clause_id.split("~", 1)[0]


@dataclass(frozen=True)
class UnitCount:
    """How many provisions a unit leads, cooperates on, and shares in total."""

    name: str
    lead: int
    total: int
    cooperating: int = 0

    def to_json(self) -> dict:
        """{name, lead, cooperating, total}: one row of `policyqa departments --json` and GET /api/departments."""
        return {"name": self.name, "lead": self.lead, "cooperating": self.cooperating, "total": self.total}


def unit_counts(clauses) -> list[UnitCount]:
    """Every responsible unit with its provision counts, most provisions first."""
    seen: dict[str, dict[str, set[str]]] = {}
    for c in clauses:
        pid = provision_id(c.id)
        for unit in c.departments:
            roles = seen.setdefault(unit, {"lead": set(), "cooperating": set(), "total": set()})
            roles["total"].add(pid)
            if unit in c.lead:
                roles["lead"].add(pid)
            elif unit in getattr(c, "cooperating", ()):
                roles["cooperating"].add(pid)
    rows = [UnitCount(u, len(r["lead"]), len(r["total"]), len(r["cooperating"])) for u, r in seen.items()]
    return sorted(rows, key=lambda r: (-r.total, -r.lead, r.name))


def unit_role(unit: str, clause) -> str:
    """A unit's role in one provision: "lead", "cooperating" (配合) or "shared" (responsible, 分工负责)."""
    if unit in clause.lead:
        return "lead"
    return "cooperating" if unit in getattr(clause, "cooperating", ()) else "shared"


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
