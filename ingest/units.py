"""Unit names: what a government unit's name looks like, its canonical spelling, and unit lists.

A unit is recognised by shape, never by a list of known units: it ends with a unit suffix
(局/委/办/中心/政府/公司/银行…, `policyqa/data/unit_suffixes.txt`), and when no role word vouches for it (a bare
list such as "(市工信局、市科技局)") it must also start like one (市/省/县/区/各/国家, or a place name
ending in 市/省/县/区/州). A unit may carry its own parentheses ("市交通委（市道运局）": one office with
two names) and stays one unit. The trade-off: a unit spelled without any usual suffix ("某某小组")
is missed in a bare list; inside a tag with a role word only the suffix is asked for.
Names are kept as written; a corpus's own synonyms (`vocabulary.json` beside its documents) are applied
when the corpus is loaded (ingest/corpus.py).
"""

from __future__ import annotations

import re
from functools import lru_cache

from policyqa.text import normalize
from policyqa.vocab import lines


_PREFIX = re.compile(r"^(?:市|省|县|区|各|国家|中国|人行|人民银行|[\u4e00-\u9fff]{1,5}?(?:市|省|县|区|州|盟|旗))")
_ALL_PLACES = re.compile(r"各[区县市镇乡街村州盟旗]{1,4}")  # 各区县市, 各镇街: every local government
_BARE = {"政府", "人民政府", "党委", "委", "局"}
_NOT_NAME = re.compile(r"[。；;:《》\d!?！？“”\"的]")  # 的: a description, not a name
_SPACE = re.compile(r"\s+")
_TRAIL = re.compile(r"(等部门|等单位|等)$")
# One collective unit written several ways: 各县(区)人民政府 = 各县、区人民政府 = 各县区政府; 市人民政府 = 市政府.
_COLLECTIVE = re.compile(r"^各([区县市]{1,3})(?:[、(]([区县市]{1,3})\)?)?(?:人民)?政府$")
_LEVEL_GOVERNMENT = re.compile(r"^([市省县区])人民政府$")


@lru_cache(maxsize=1)
def unit_suffixes() -> tuple[str, ...]:
    """The unit-name suffixes of `policyqa/data/unit_suffixes.txt`, longest first (loaded once)."""
    return tuple(sorted(set(lines("unit_suffixes.txt")), key=len, reverse=True))


@lru_cache(maxsize=1)
def not_unit_openers() -> tuple[str, ...]:
    """Words that open a parenthesis which is never a tag (以下简称, 包括…), from `policyqa/data/not_unit_openers.txt`."""
    return tuple(sorted(set(lines("not_unit_openers.txt")), key=len, reverse=True))


def canonical(name: str) -> str:
    """Normalise one unit name: widths, spaces, a trailing 等部门/等单位, the one spelling of a collective
    or level government (各县(区)人民政府 → 各县区政府, 市人民政府 → 市政府). A corpus's own synonyms
    are applied by ingest/corpus.py."""
    name = _SPACE.sub("", normalize(name)).strip("、,;:")
    name = _TRAIL.sub("", name)
    if m := _COLLECTIVE.match(name):
        return f"各{m.group(1)}{m.group(2) or ''}政府"
    return _LEVEL_GOVERNMENT.sub(r"\1政府", name)


def _core(name: str) -> str:
    """The name without a trailing parenthesised second name: 市交通委(市道运局) → 市交通委."""
    return re.sub(r"\([^()]*\)$", "", name) or name


def has_unit_suffix(name: str) -> bool:
    """True when `name` ends like a unit (局, 委, 中心, 政府, 公司…) or names every local government (各区县)."""
    core = _core(canonical(name))
    if core.startswith(not_unit_openers()) or _NOT_NAME.search(core) or not 2 <= len(core) <= 30:
        return False
    return core.endswith(unit_suffixes()) and core not in _BARE or bool(_ALL_PLACES.fullmatch(core))


def looks_like_unit(name: str) -> bool:
    """True for strings shaped like a government unit name with a place or 各 prefix (市科技局,
    忻州银保监局, 各县区政府); the test for bare lists, where no role word says these are units."""
    core = _core(canonical(name))
    prefix = _PREFIX.match(core)
    # The place must be followed by a unit: "高新区" alone is a place, "高新区管委会" a unit.
    return bool(prefix) and prefix.end() < len(core) and has_unit_suffix(core) and len(core) >= 3


def split_top(text: str, seps: str = "、,;") -> list[str]:
    """Split `text` on any of `seps` outside parentheses: "市交通委(市道运局)、各县(市、区)" → 2 items."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        elif ch in seps and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def carry_next(piece: str) -> bool:
    """True for "各县" in "各县、区人民政府": a 各 + place piece that the next piece may complete."""
    return bool(_ALL_PLACES.fullmatch(piece)) and len(piece) <= 3


_LEVEL = re.compile(r"[\u4e00-\u9fff]{0,3}(?:市|区|县|镇|乡|街道|旗)")  # an administrative level: 县级市, 镇, 街道


def split_units(text: str, *, strict: bool = False) -> list[str] | None:
    """Split a unit list on 、/,/; (not inside parentheses); rejoin '各县' + '区人民政府'; None if an item
    is not a unit name.

    `strict` is for bare lists, where only the shape of the names shows that this is a tag; otherwise
    a role word vouches for the list and a unit suffix is enough.
    """
    units: list[str] = []
    carry = ""
    for piece in split_top(_SPACE.sub("", normalize(text))):
        if carry and re.sub(r"^[区县市镇乡]+", "", piece) in _BARE:
            piece = carry + "、" + piece
        elif carry:
            units.append(carry)  # "各区" alone: every district
        carry = ""
        if carry_next(piece):
            carry = piece  # "各县、区人民政府" is one unit written with a 、 inside
            continue
        if piece in _BARE and units:
            # "各县区委、政府": a bare suffix shares the previous unit's place prefix.
            prev = units[-1]
            stem = next((prev[: -len(s)] for s in unit_suffixes() if prev.endswith(s)), "")
            piece = stem + piece
        piece = _TRAIL.sub("", piece)
        if units and units[-1].startswith("各") and _LEVEL.fullmatch(piece):
            piece = "各" + piece  # "各区、县级市": the 各 covers every level listed after it
        elif not (looks_like_unit(piece) if strict else has_unit_suffix(piece)):
            return None
        units.append(canonical(piece))
    if carry:
        units.append(carry)
    return list(dict.fromkeys(units)) or None
