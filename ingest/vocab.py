"""Word lists the ingest stage reads (label nouns, page markers, document-type words), loaded once.

Each list is a UTF-8 file in `ingest/data/`: one or more words a line, separated by spaces;
`#` starts a comment. Keeping them as data means a new document habit is a line, not a regex.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data"


@cache
def words(name: str) -> tuple[str, ...]:
    """The words of `ingest/data/<name>.txt`, longest first (so alternations prefer the longer word)."""
    path = _DATA / f"{name}.txt"
    found: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found.extend(line.split("#", 1)[0].split())
    return tuple(sorted(dict.fromkeys(found), key=len, reverse=True))


@cache
def groups(name: str) -> dict[str, tuple[str, ...]]:
    """The groups of `ingest/data/<name>.txt`, written `group: word word …` one or more lines each (in
    file order; `#` starts a comment)."""
    found: dict[str, list[str]] = {}
    for line in (_DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if ":" in line:
            key, rest = line.split(":", 1)
            found.setdefault(key.strip(), []).extend(rest.split())
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


@cache
def group_lines(name: str, key: str) -> tuple[tuple[str, ...], ...]:
    """Each line of group `key` in `ingest/data/<name>.txt` as its own tuple (groups of alternatives)."""
    lines = []
    for line in (_DATA / f"{name}.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(f"{key}:"):
            lines.append(tuple(line.split(":", 1)[1].split()))
    return tuple(lines)
