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
