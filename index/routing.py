"""Reading a question for what it names: documents and places, clause numbers, departments.

`route` reads the question once and returns a frozen `Route` (ingest/records.py); search filters by
it and the answer chain reads it, nobody parses the question or the search notes again.
Questions name the place or the document ("朔州…", "阳泉的意见…") while clause texts never do,
so a named document restricts retrieval to its clauses. A document may also be named by a short
title that ends in a document-type word ("…管理办法", "实施细则", "条例"): the type word picks the
documents whose title has it and the characters before it pick among them (shared character
pairs with the title), so "实施细则第一条" is the 细则's article, not another document's. A clause
number ("二(一)3", "四、(三)2", "第十二条" = "第12条" = "第 十二 条") is looked up exactly in clause
ids, articles compared by value. Department names come from the parsed tags.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

from ingest.departments import canonical
from ingest.records import DocMeta, Route
from policyqa.vocab import words
from policyqa.text import CN_NUM as CN
from policyqa.text import normalize, to_int

_CLAUSE_REF = re.compile(
    rf"(?:第)?([{CN}]{{1,3}})(?:、|部分|\.)?\s*(?:[(（]\s*([{CN}]{{1,3}})\s*[)）])\s*(?:第)?(\d{{1,2}}|[(（]\d{{1,2}}[)）])?(?!\d)"
)
_ARTICLE_REF = re.compile(rf"第\s*([{CN}\d](?:\s*[{CN}\d]){{0,5}})\s*条")
_ARTICLE_LABEL = re.compile(rf"^第([{CN}\d]{{1,6}})条$")
_TITLE_CUT = re.compile(r"[（(][^）)]*[）)]|[\s《》“”\"]")
_PHRASE = 14  # characters before a document-type word read as the short title


def place_names(meta: DocMeta) -> list[str]:
    """Names a user may call a document by: aliases, short region names, the title, the id."""
    names = list(meta.aliases) + [meta.title, meta.doc_id]
    region = normalize(meta.region)
    for part in re.findall(r"[\u4e00-\u9fff]{2,}?(?:省|市|县|区)", region):
        names += [part, part[:-1]] if len(part) > 2 else [part]
    return [n for n in dict.fromkeys(names) if len(n) >= 2]


def document_mentions(question: str, documents: Mapping[str, DocMeta]) -> dict[str, str]:
    """{doc id: the longest of its names that appears in the question}, longest names first."""
    q = normalize(question)
    hits: dict[str, str] = {}
    for doc_id, meta in documents.items():
        for name in place_names(meta):
            if normalize(name) in q and len(name) > len(hits.get(doc_id, "")):
                hits[doc_id] = normalize(name)
    return dict(sorted(hits.items(), key=lambda kv: -len(kv[1])))


def mentioned_documents(question: str, documents: Mapping[str, DocMeta]) -> list[str]:
    """Ids of documents whose names appear in the question (longest names win overlaps)."""
    return list(document_mentions(question, documents))


def distinct_names(names: Sequence[str]) -> tuple[str, ...]:
    """The names a question uses, once each; a name inside a longer one it also uses is the same
    mention ("广州" inside "广州市"), so one place covering two documents is one name."""
    unique = sorted(set(names), key=len, reverse=True)
    return tuple(n for i, n in enumerate(unique) if not any(n in longer for longer in unique[:i]))


def clause_label_refs(question: str) -> list[str]:
    """Clause-number references as id label paths: '二(一)3' -> '二.(一).3', '第十二条' -> '第十二条'."""
    q = normalize(question)
    refs = []
    for m in _CLAUSE_REF.finditer(q):
        labels = [m.group(1), f"({m.group(2)})"]
        if m.group(3):
            labels.append(m.group(3).strip("()（）") if m.group(3)[0].isdigit() else f"({m.group(3).strip('()（）')})")
        refs.append(".".join(labels))
    for m in _ARTICLE_REF.finditer(q):
        n = to_int(m.group(1))
        if n:
            refs.append(f"第{n}条")
    return refs


def canonical_label(label: str) -> str:
    """A clause id's label path with article numbers in Arabic numerals ("第一章.第三条" → "第一章.第3条"),
    the form `clause_label_refs` returns."""
    parts = []
    for part in label.split("."):
        m = _ARTICLE_LABEL.match(part)
        n = to_int(m.group(1)) if m else None
        parts.append(f"第{n}条" if n else part)
    return ".".join(parts)


def titled_documents(question: str, documents: Mapping[str, DocMeta], *, loose: bool = False) -> list[str]:
    """Documents the question names by a short title ending in a document-type word (办法, 实施细则,
    条例, 意见…): those whose title has the type word, narrowed to the ones sharing the most character
    pairs with the words before it. Without `loose` the words before it must share at least two pairs
    with the title (a bare "方案" is too common to name a document); `loose` (the question names a
    clause number) accepts the type word alone when one document's title has it."""
    q = normalize(question)
    titles = {d: _TITLE_CUT.sub("", normalize(m.title)) for d, m in documents.items()}
    types = words("doc_types")
    for m in re.finditer("|".join(map(re.escape, types)), q):
        holders = [d for d, t in titles.items() if m.group(0) in t]
        if not holders:
            continue
        before = re.split(r"[，,。？?！!；;：:、\s的]", q[max(0, m.start() - _PHRASE):m.start()])[-1]
        pairs = {before[i:i + 2] for i in range(len(before) - 1)}
        score = {d: sum(p in titles[d] for p in pairs) for d in holders}
        best = max(score.values())
        chosen = [d for d in holders if score[d] == best]
        if best >= 2 or (loose and len(chosen) == 1):
            return chosen
    return []


def mentioned_departments(question: str, known: Sequence[str]) -> list[str]:
    """Known unit names that appear in the question, also when written without the leading 市."""
    q = canonical(question)
    found = []
    for unit in sorted(known, key=len, reverse=True):
        short = unit[1:] if unit.startswith("市") and len(unit) > 3 else unit
        if (unit in q or short in q) and not any(unit in f for f in found):
            found.append(unit)
    return found


def route(question: str, documents: Mapping[str, DocMeta], units: Sequence[str]) -> Route:
    """Read the question once for all three kinds of names. A short title names documents when nothing
    else does; with a clause number it also narrows the documents named otherwise (a place may cover
    several, and the number is one document's)."""
    refs = tuple(clause_label_refs(question))
    mentions = document_mentions(question, documents)
    named = list(mentions)
    titled = titled_documents(question, documents, loose=bool(refs))
    if titled and (refs or not named):
        named = [d for d in named if d in titled] or titled
    names = distinct_names([mentions.get(d, "(title)") for d in named])
    return Route(tuple(named), refs, tuple(mentioned_departments(question, units)), names)
