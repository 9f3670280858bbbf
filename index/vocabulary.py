"""A corpus's own vocabulary, derived from its documents when the index is built and stored in the
index version's manifest ("vocabulary", with its digest beside it as "vocabulary_digest").

    places       place names the documents name as theirs: each document's region, the administrative
                 runs of its title, issuer and opening lines (ingest/about.py `regions`), each also
                 without its division suffix (广州市 → 广州), plus the corpus file's "places"
    terms        words the tokenizer keeps whole: responsible units, document aliases, the corpus
                 file's "terms", the words the documents define ("以下简称X") or quote (“X”), and the
                 language's own (policyqa/data/keep_whole.txt)
    unit_aliases one office spelled two ways (the corpus file's; already applied to the clauses)
    eligibility  政策匹配's applicant kinds and needs with their words (the corpus file's; {} if none)
    language     the digest of the language word lists the build read (policyqa/vocab.py)

The corpus file is `vocabulary.json` beside `metadata.json` (ingest/corpus.py reads it). Nothing here
is a list of places or topics: a place is whatever the documents name, so an uploaded document's own
city is never "not covered". `question_places` finds place names in a question by their shape (a
whole dictionary word ending in a division suffix, or a word jieba tags as a place whose 市/省 form
is a dictionary word), so the place check needs no list of the country's cities either.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

from ingest.about import regions
from ingest.corpus import CorpusLoad
from policyqa.text import normalize
from policyqa.vocab import digest, table, words

_HEAD = 2000  # characters of a document read for its places (its heading, 发文 lines, first clauses)
_DEFINED = re.compile(r"(?:以下简称|以下称|简称|统称)[“\"「]?([\u4e00-\u9fffA-Za-z0-9]{2,10})[”\"」]?[)）]")
_QUOTED = re.compile(r"[“「]([\u4e00-\u9fff]{2,8})[”」]")


@dataclass(frozen=True)
class CorpusVocabulary:
    """What one index version knows about its own corpus (see the module docstring)."""

    places: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    unit_aliases: Mapping[str, str] = field(default_factory=dict)
    eligibility: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    language: str = ""

    def to_json(self) -> dict:
        """The shape stored in the manifest."""
        return {"places": list(self.places), "terms": list(self.terms), "unit_aliases": dict(self.unit_aliases),
                "eligibility": {k: {n: list(w) for n, w in v.items()} for k, v in self.eligibility.items()},
                "language": self.language}

    @classmethod
    def from_json(cls, row: dict) -> "CorpusVocabulary":
        """Inverse of `to_json`."""
        return cls(tuple(row.get("places", ())), tuple(row.get("terms", ())), dict(row.get("unit_aliases", {})),
                   {k: {n: tuple(w) for n, w in v.items()} for k, v in row.get("eligibility", {}).items()},
                   row.get("language", ""))

    @property
    def digest(self) -> str:
        """sha256 (16 hex digits) of the JSON form: what the manifest and every answer record."""
        text = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @property
    def aliases_key(self) -> str:
        """Hash of the unit aliases: they are applied to clause records, so new ones mean none is reused."""
        return hashlib.sha256(json.dumps(dict(self.unit_aliases), sort_keys=True).encode()).hexdigest()[:16]

    def names_place(self, place: str) -> bool:
        """Whether the documents name `place` (with or without its division suffix)."""
        return place in self.places or short_place(place) in self.places


def short_place(name: str) -> str:
    """A place name without its division suffix when at least two characters remain (广州市 → 广州)."""
    for suffix in sorted(table("about")["division_suffixes"], key=len, reverse=True):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _place_forms(runs) -> set[str]:
    """Each administrative run split into its divisions ("山西省阳泉市" → 山西省, 阳泉市), with short forms."""
    suffixes = "|".join(map(re.escape, sorted(table("about")["division_suffixes"], key=len, reverse=True)))
    out: set[str] = set()
    for run in runs:
        for part in re.findall(rf"[\u4e00-\u9fff]+?(?:{suffixes})", normalize(run)) or [run]:
            if len(part) >= 2:
                out |= {part, short_place(part)}
    generic = set(table("about")["generic_division_words"])
    return {p for p in out if len(p) >= 2 and p not in generic}


def corpus_vocabulary(loaded: CorpusLoad) -> CorpusVocabulary:
    """Derive the vocabulary of a loaded corpus and merge the corpus folder's vocabulary.json."""
    extra = loaded.vocabulary
    runs: list[str] = list(extra.get("places", ()))
    defined: set[str] = set()
    for doc in loaded.documents:
        meta = doc.meta
        runs += [meta.region, *regions(meta.title), *regions(meta.issuer)]
        runs += regions(doc.text[:_HEAD], places_only=True)
        defined |= set(_DEFINED.findall(normalize(doc.text)))
        defined |= {q for q in _QUOTED.findall(doc.text) if len(q) >= 3}
    units = {u for c in loaded.clauses for u in c.departments}
    aliases = {a for d in loaded.documents for a in d.meta.aliases}
    terms = units | aliases | defined | set(extra.get("terms", ())) | set(words("keep_whole"))
    eligibility = {kind: {name: tuple(words) for name, words in extra.get("eligibility", {}).get(kind, {}).items()}
                   for kind in ("kinds", "needs")}
    return CorpusVocabulary(tuple(sorted(_place_forms(r for r in runs if r))), tuple(sorted(terms)),
                            dict(extra.get("unit_aliases", {})), eligibility, digest())


@lru_cache(maxsize=4096)
def _dictionary_place(word: str) -> bool:
    """Whether jieba's own dictionary has `word` and tags it as a place (ns)."""
    import jieba.posseg

    tagged = jieba.posseg.lcut(word, HMM=False)
    return len(tagged) == 1 and tagged[0].flag == "ns"


def question_places(question: str) -> list[str]:
    """Place names in a question, by shape: administrative runs (太原市, 广州市越秀区) and bare place
    words whose 市 or 省 form jieba's dictionary knows as a place (深圳, 广州; not 上市 or 城市)."""
    import jieba

    q = normalize(question)
    found = [p for run in regions(q) for p in _place_forms([run]) if len(p) >= 3]
    for token in jieba.lcut(q, HMM=False):
        if len(token) >= 2 and _dictionary_place(token) and any(_dictionary_place(token + s) for s in "市省"):
            found.append(token)
    return list(dict.fromkeys(found))
