"""Reading a question for what it names: documents and places, clause numbers, departments.

Questions name the place or the document ("朔州…", "阳泉的意见…") while clause texts never do,
so a named document restricts retrieval to its clauses. A clause number ("二(一)3", "四、(三)2",
"第十二条") is looked up exactly in clause ids. Department names come from the parsed tags.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence
from dataclasses import dataclass

from ingest.departments import canonical
from policyqa.text import CN_NUM as CN
from policyqa.text import normalize
from ingest.records import DocMeta

_CLAUSE_REF = re.compile(
    rf"(?:第)?([{CN}]{{1,3}})(?:、|部分|\.)?\s*(?:[(（]\s*([{CN}]{{1,3}})\s*[)）])\s*(?:第)?(\d{{1,2}}|[(（]\d{{1,2}}[)）])?(?!\d)"
)
_ARTICLE_REF = re.compile(rf"第([{CN}\d]{{1,6}})条")


def place_names(meta: DocMeta) -> list[str]:
    """Names a user may call a document by: aliases, short region names, the title, the id."""
    names = list(meta.aliases) + [meta.title, meta.doc_id]
    region = normalize(meta.region)
    for part in re.findall(r"[\u4e00-\u9fff]{2,}?(?:省|市|县|区)", region):
        names += [part, part[:-1]] if len(part) > 2 else [part]
    return [n for n in dict.fromkeys(names) if len(n) >= 2]


def mentioned_documents(question: str, documents: Mapping[str, DocMeta]) -> list[str]:
    """Ids of documents whose names appear in the question (longest names win overlaps)."""
    q = normalize(question)
    hits: dict[str, int] = {}
    for doc_id, meta in documents.items():
        for name in place_names(meta):
            if normalize(name) in q and len(name) > hits.get(doc_id, 0):
                hits[doc_id] = len(name)
    # A name that is part of a longer matched name of another document does not count ("县域" in a title).
    return sorted(hits, key=lambda d: -hits[d])


def clause_label_refs(question: str) -> list[str]:
    """Clause-number references as id label paths: '二(一)3' -> '二.(一).3', '第十二条' -> '第十二条'."""
    q = normalize(question)
    refs = []
    for m in _CLAUSE_REF.finditer(q):
        labels = [m.group(1), f"({m.group(2)})"]
        if m.group(3):
            labels.append(m.group(3).strip("()（）") if m.group(3)[0].isdigit() else f"({m.group(3).strip('()（）')})")
        refs.append(".".join(labels))
    refs += [f"第{m.group(1)}条" for m in _ARTICLE_REF.finditer(q)]
    return refs


def mentioned_departments(question: str, known: Sequence[str]) -> list[str]:
    """Known unit names that appear in the question, also when written without the leading 市."""
    q = canonical(question)
    found = []
    for unit in sorted(known, key=len, reverse=True):
        short = unit[1:] if unit.startswith("市") and len(unit) > 3 else unit
        if (unit in q or short in q) and not any(unit in f for f in found):
            found.append(unit)
    return found


@dataclass(frozen=True)
class Route:
    """What the question names: documents to restrict to, exact clause refs, departments."""

    doc_ids: tuple[str, ...]
    clause_refs: tuple[str, ...]
    departments: tuple[str, ...]


def route(question: str, documents: Mapping[str, DocMeta], units: Sequence[str]) -> Route:
    """Read the question once for all three kinds of names."""
    return Route(
        tuple(mentioned_documents(question, documents)),
        tuple(clause_label_refs(question)),
        tuple(mentioned_departments(question, units)),
    )
