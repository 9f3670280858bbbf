"""Deciding that the documents do not answer a question, before any text is generated, measured on
the corpus itself rather than on a list of topics or places.

A similarity threshold cannot do this here (off-topic and answerable questions score alike, see
MODELS.md), so refusal rests on what the question names and what the corpus and the clauses contain:
- a place the question names that no document names as its own (index/vocabulary.py derives the
  documents' places at build time, so an uploaded document's own city is always covered);
- off topic: no content word of the question is the corpus's own, i.e. used in the corpus (its BM25
  tokens) at least `min_topical` times as often as in the language at large (jieba's dictionary counts;
  a word the dictionary lacks but the corpus uses is the corpus's own); or a field it asks for (材料,
  期限: a label noun) never occurs in the corpus;
- coverage: content words of the question that appear in none of the retrieved clauses;
- heading only: the retrieved clauses match the question only through their titles and headings;
- a money amount asked for ("多少元") when no top clause, nor its enclosing item and sibling lines,
  states an amount next to a word of the question.
Content words are the question's tokens without the generic words of `policyqa/data/generic_words.txt`.
Each rule returns a one-sentence reason; thresholds were set on the dev set's 15 unanswerable and
99 answerable questions (`policyqa eval` reports refusal accuracy in both directions).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

from index.lexical import general_frequency
from index.vocabulary import CorpusVocabulary, question_places
from ingest.records import Clause, DocMeta, Hit
from policyqa.text import normalize
from policyqa.vocab import pattern, table, words
from qa.direct import TIME
from qa.intent import ASKS_MONEY, ASKS_RATE, ASKS_WHEN, asks_figure

_PERCENT = re.compile(r"\d\s*[%％]|百分之")
_QUESTION_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(%|年|万元|亿元|元|家|个|项|件)")
_MONEY = re.compile(r"\d+(?:\.\d+)?\s*(?:万元|亿元|元|万)")
_DIGIT = re.compile(r"\d")

_SENTENCE_END = re.compile(r"[。；;\n]")
_PHRASE_END = re.compile(r"[。；;，,：:\n]")
_FAMILY = 12  # clauses of one enclosing item read for an amount at most


@dataclass(frozen=True)
class Refusal:
    """Why a question is refused: the rule that fired and a one-sentence explanation in Chinese."""

    rule: str
    message: str


def content_terms(terms: Sequence[str]) -> list[str]:
    """The question's content words: not generic, two characters or more, not ASCII, longest forms only."""
    generic = set(words("generic_words"))
    content = [t for t in dict.fromkeys(terms) if t not in generic and len(t) >= 2 and not t.isascii()]
    return [t for t in content if not any(t != o and t in o for o in content)]


def _made_of(word: str, parts: set[str]) -> bool:
    """Whether shorter words of `parts` (two characters or more) cover every character of `word`."""
    covered = [False] * len(word)
    for part in parts:
        if part != word and len(part) >= 2 and part in word:
            start = word.find(part)
            while start >= 0:
                covered[start:start + len(part)] = [True] * len(part)
                start = word.find(part, start + 1)
    return all(covered)


def _body(clause: Clause) -> str:
    """A clause's text without its own heading ("3、创业租金补贴。" has none)."""
    head = clause.path[-1] if clause.path else ""
    text = clause.text.strip()
    return text[len(head):].strip(" 。.：:") if head and text.startswith(head) else text


def _label(clause: Clause) -> tuple[str, ...]:
    return tuple(clause.id.split("#", 1)[1].split("~", 1)[0].split("."))


class RefusalPolicy:
    """The refusal rules over one index version: its documents, vocabulary, token counts and clauses."""

    def __init__(self, documents: Mapping[str, DocMeta], vocabulary: CorpusVocabulary,
                 term_counts: Mapping[str, int], clauses: Sequence[Clause] = (), *, min_coverage: float = 0.15,
                 min_figure_coverage: float = 0.5, min_topical: float = 5.0) -> None:
        self.min_coverage = min_coverage
        self.min_figure_coverage = min_figure_coverage
        self.min_topical = min_topical
        self.vocabulary = vocabulary
        self.doc_freq = term_counts
        self.total = sum(term_counts.values()) or 1
        self.covered = " ".join(normalize(f"{m.region} {m.title} {' '.join(m.aliases)}") for m in documents.values())
        self.items: dict[tuple[str, tuple[str, ...]], list[Clause]] = {}
        for c in clauses:
            label = _label(c)
            for depth in range(1, len(label) + 1):
                self.items.setdefault((c.doc_id, label[:depth]), []).append(c)

    @classmethod
    def of_tokens(cls, documents: Mapping[str, DocMeta], vocabulary: CorpusVocabulary,
                  token_rows: Sequence[Sequence[str]], clauses: Sequence[Clause] = (), **kw) -> "RefusalPolicy":
        """A policy whose corpus vocabulary is the BM25 token rows (how often each token occurs)."""
        return cls(documents, vocabulary, Counter(t for row in token_rows for t in row), clauses, **kw)

    def unknown_place(self, question: str) -> str | None:
        """A place named in the question that no document names as its own."""
        for place in question_places(question):
            if not self.vocabulary.names_place(place) and place not in self.covered:
                return place
        return None

    def topicality(self, term: str) -> float:
        """How many times more often the corpus uses `term` than the language at large (inf for a word
        the corpus uses and jieba's dictionary lacks, 0 for one the corpus never uses). Chosen on the
        dev set: off-topic words (世界杯冠军, 红烧肉) score under 4; the least topical answerable question's
        best word scores 7.4 (兼职, once places are set aside), so the bar sits at 5."""
        count = self.doc_freq.get(term, 0)
        if not count:
            return 0.0
        general = general_frequency(term)
        return float("inf") if not general else (count / self.total) / general

    def on_topic(self, terms: list[str]) -> tuple[bool, list[str]]:
        """Whether some content word of the question is the corpus's own (see `topicality`), and the
        content words the corpus never uses."""
        content = content_terms(terms)
        if not content:
            return True, []
        missing = [t for t in content if not self.doc_freq.get(t)]
        return any(self.topicality(t) >= self.min_topical for t in content), missing

    def coverage(self, terms: list[str], hits: list[Hit], *, headings: bool = True) -> tuple[float, list[str]]:
        """Share (weighted by length) of the question's content terms found in the hits' texts (with
        their document titles and headings unless `headings` is False); a compound counts when words
        found there (or generic words) make up every character of it."""
        content = content_terms(terms)
        if not content:
            return 1.0, []
        parts = (f"{h.clause.doc_title} {h.clause.path_text} {h.clause.text}" if headings else _body(h.clause)
                 for h in hits)
        text = normalize(" ".join(parts)).lower()
        found = {t for t in terms if len(t) >= 2 and t in text} | set(words("generic_words")) | set(words("stop_words"))
        missing = [t for t in content if t not in text and not _made_of(t, found)]
        return 1.0 - sum(len(t) for t in missing) / sum(len(t) for t in content), missing

    def unstated_figure(self, question: str, hits: list[Hit]) -> str | None:
        """A number or year in the question (e.g. 2025年, 75%) that none of the hits contains. A figure in
        a phrase about the asker ("我招了5个员工", words of intent.json "self") is their fact, not the
        documents', and is not looked for."""
        text = re.sub(r"\s+", "", normalize(" ".join(h.clause.text for h in hits)))
        for phrase in _PHRASE_END.split(normalize(question)):
            if pattern("intent", "self").search(phrase):
                continue
            for m in _QUESTION_FIGURE.finditer(phrase):
                if not re.search(rf"(?<![\d.]){re.escape(m.group(1))}(?![\d.])", text):
                    return m.group(0)
        return None

    def outside(self, question: str) -> Refusal | None:
        """The place rule alone (asked before a whole list is made, too)."""
        place = self.unknown_place(question)
        return Refusal("unknown_place", f"现有文件不涉及“{place}”，无法回答这个问题。") if place else None

    def decide(self, question: str, terms: list[str], hits: list[Hit], *, exact: bool = False) -> Refusal | None:
        """The first rule that refuses the question, or None when the clauses can answer it.

        `exact`: the question named a clause number that exists, so coverage is not asked for.
        """
        outside = self.outside(question)
        if outside:
            return outside
        if not hits:
            return Refusal("no_hits", "现有文件中没有找到与这个问题相关的规定。")
        if exact:
            return None
        q = normalize(question)
        return self._topic(q, terms, hits) or self._figures(q, terms, hits)

    def _topic(self, q: str, terms: list[str], hits: list[Hit]) -> Refusal | None:
        """off_topic, missing_field, coverage and heading_only."""
        topical, missing = self.on_topic(terms)
        if not topical:
            return Refusal("off_topic", "这个问题与现有政策文件无关，无法回答。")
        fields = [t for t in missing if t in set(words("label_nouns"))]
        if fields:
            return Refusal("missing_field", f"现有文件中没有关于“{'、'.join(fields)}”的规定。")
        score, missing = self.coverage(terms, hits)
        named = [t for t in missing if t in set(table("intent")["named_fields"])]
        if named:  # "需要提交哪些材料" and no clause found names 材料: the documents do not list them
            return Refusal("missing_field", f"现有文件中没有关于“{'、'.join(named)}”的规定。")
        wants_figure = asks_figure(q)
        if score < self.min_coverage or (wants_figure and score < self.min_figure_coverage):
            return Refusal("coverage", f"现有文件中没有找到关于“{'、'.join(missing[:3])}”的规定。")
        if content_terms(terms) and self.coverage(terms, hits, headings=False)[0] == 0.0:
            return Refusal("heading_only", "现有文件只在标题中提到这个问题，没有具体规定；下面是相关条款。")
        return None

    def _figures(self, q: str, terms: list[str], hits: list[Hit]) -> Refusal | None:
        """amount, no_time, figure and no_number."""
        if ASKS_MONEY.search(q) and not self._number_near_terms(terms, self.family(hits[:2]), number=_MONEY,
                                                                within=_PHRASE_END):
            return Refusal("amount", "现有文件没有写明具体金额，无法回答这个数额。")
        if ASKS_WHEN.search(q) and not self._number_near_terms(terms, self.family(hits[:3]), number=TIME,
                                                                within=_PHRASE_END):
            return Refusal("no_time", "现有文件没有写明相关时间，无法回答。")
        figure = self.unstated_figure(q, hits)
        if figure:
            return Refusal("figure", f"现有文件中没有出现“{figure}”这一数字，无法回答。")
        if asks_figure(q) and not self._number_near_terms(terms, [h.clause for h in hits[:3]],
                                                          number=_PERCENT if ASKS_RATE.search(q) else _DIGIT):
            return Refusal("no_number", "现有文件提到了相关内容，但没有给出具体数字。")
        return None

    def family(self, hits: list[Hit]) -> list[Clause]:
        """Each hit's clause with the rest of its item: its lines and sub-items (a heading "3、创业租金补贴"
        whose amount is in the next line), the enclosing item's own text, and the label lines among its
        siblings ("补贴标准：…"); at most _FAMILY clauses per hit. Other sibling items and the other
        parts of a long provision are not read: their amounts are for something else."""
        out: dict[str, Clause] = {}
        for h in hits:
            doc, label = h.clause.doc_id, _label(h.clause)
            out.setdefault(h.clause.id, h.clause)
            group = [c for c in self.items.get((doc, label), []) if len(_label(c)) > len(label)][:_FAMILY]
            if len(label) > 1:
                siblings = self.items.get((doc, label[:-1]), [])
                group += [c for c in siblings if _label(c) == label[:-1] or
                          (len(_label(c)) == len(label) and self._label_line().match(normalize(c.text)))][:_FAMILY]
            for c in group:
                out.setdefault(c.id, c)
        return list(out.values())

    @staticmethod
    @lru_cache(maxsize=1)
    def _label_line() -> re.Pattern[str]:
        """A line that is a field label and its value ("补贴标准：10000元")."""
        return re.compile(rf"^\s*[\u4e00-\u9fff]{{0,6}}(?:{'|'.join(words('label_nouns'))})\s*[:：]")

    @staticmethod
    def _number_near_terms(terms: list[str], clauses: list[Clause], *, number: re.Pattern,
                           within: re.Pattern = _SENTENCE_END) -> bool:
        """Whether some sentence (or, with `within=_PHRASE_END`, some phrase between commas) of the
        clauses mentions a content term of the question and matches `number` (a rate question wants a
        percentage, not a count; an amount question an amount next to what it is for, not the
        "100亿元" of an output target in the same sentence). A label line ("补贴标准：10000元") is about
        the item it sits in, so there the clause's headings count as its words."""
        generic = set(words("generic_words"))
        content = [t for t in terms if t not in generic and len(t) >= 2]
        label_line = RefusalPolicy._label_line()
        for c in clauses:
            text, heading = normalize(c.text), normalize(c.path_text)
            for line in _SENTENCE_END.split(text):
                if label_line.match(line) and number.search(line) and any(t in line or t in heading for t in content):
                    return True
            for sentence in within.split(text):
                if number.search(sentence) and any(t in sentence for t in content):
                    return True
        return False
