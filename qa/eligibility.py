"""政策匹配 (eligibility): which clauses mention a kind of applicant AND a need, by keyword, each with
the support items read from it (amounts and conditions where the text states them; the 政策计算器 of
qa/match.py matches whole enterprise profiles against the items).

Keyword matching over clause text with synonyms per kind and need: transparent and complete (every
matching clause is listed and counted) rather than ranked by similarity. The kinds and needs with
their words are data about a corpus (the "eligibility" of its `vocabulary.json`, stored in each index
version: `Snapshot.vocabulary.eligibility`); a corpus without them offers no choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from policyqa.text import normalize
from ingest.records import Clause
from policyqa.errors import PolicyQAError

Options = Mapping[str, Mapping[str, Sequence[str]]]  # {"kinds": {name: words}, "needs": {name: words}}


@dataclass(frozen=True)
class EligibleClause:
    """A clause that matches the chosen kinds and needs, with the words that matched."""

    clause: Clause
    kinds: tuple[str, ...]
    needs: tuple[str, ...]
    terms: tuple[str, ...]
    items: tuple = ()  # the clause's support items (ingest/items.py): amounts and conditions where stated

    def to_json(self) -> dict:
        """Clause JSON plus matched kinds, needs, terms and the clause's items."""
        return dict(self.clause.to_json(), kinds=list(self.kinds), needs=list(self.needs), terms=list(self.terms),
                    items=[i.to_json() for i in self.items])


@dataclass(frozen=True)
class Eligibility:
    """The clauses that match an eligibility query, in document order."""

    kinds: tuple[str, ...]
    needs: tuple[str, ...]
    doc_ids: tuple[str, ...]  # the place's documents; empty means every document
    items: tuple[EligibleClause, ...]

    @property
    def documents(self) -> list[str]:
        """Ids of the documents the matches come from, in order."""
        return list(dict.fromkeys(i.clause.doc_id for i in self.items))

    def to_json(self) -> dict:
        """{count, documents, kinds, needs, clauses}."""
        return {"count": len(self.items), "documents": self.documents, "kinds": list(self.kinds),
                "needs": list(self.needs), "clauses": [i.to_json() for i in self.items]}


def match_clauses(clauses: Sequence[Clause], kinds: Sequence[str], needs: Sequence[str],
                  doc_ids: Sequence[str] = (), items: Sequence = (), options: Options = {}) -> tuple[EligibleClause, ...]:
    """Clauses mentioning any chosen kind (or synonym) AND any chosen need keyword, within `doc_ids` if
    given, each with its support items (`items`: the index's, ingest/items.SupportItem); `options` are
    the corpus's kinds and needs with their words."""
    kind_words, need_words = options.get("kinds", {}), options.get("needs", {})
    by_clause: dict[str, list] = {}
    for item in items:
        by_clause.setdefault(item.clause_id, []).append(item)
    unknown = [k for k in kinds if k not in kind_words] + [n for n in needs if n not in need_words]
    if unknown:
        raise PolicyQAError(f"unknown options: {'、'.join(unknown)}", value="、".join(unknown),
                            hint=f"kinds: {'、'.join(kind_words)}; needs: {'、'.join(need_words)}",
                            zh=f"未知的选项：{'、'.join(unknown)}；可选主体：{'、'.join(kind_words)}；可选需求：{'、'.join(need_words)}")
    if not kinds and not needs:
        raise PolicyQAError("choose at least one kind or need", zh="请至少选择一种主体类型或一项需求")
    out = []
    for c in clauses:
        if doc_ids and c.doc_id not in doc_ids:
            continue
        text = normalize(c.text)
        got_kinds = [k for k in kinds if any(w in text for w in kind_words[k])]
        got_needs = [n for n in needs if any(w in text for w in need_words[n])]
        if (kinds and not got_kinds) or (needs and not got_needs):
            continue
        words = [w for k in got_kinds for w in kind_words[k]] + [w for n in got_needs for w in need_words[n]]
        terms = tuple(dict.fromkeys(w for w in words if w in text))
        out.append(EligibleClause(c, tuple(got_kinds), tuple(got_needs), terms, tuple(by_clause.get(c.id, ()))))
    return tuple(out)
