"""Character-bigram grounding for generated sentences: which clause a sentence rests on, and whether
what it adds beyond the question is in that clause.

The small local model often omits [n] markers or answers "可以" with nothing else; it also sometimes
states outside knowledge that no number check can catch ("世界杯冠军是法国"). Bigrams are a crude
but language-agnostic measure of shared wording: a sentence is attributed to the clause sharing most
of its new bigrams, and dropped when less than `min_support` of its new bigrams occur there.
"""

from __future__ import annotations

import re

from policyqa.text import normalize

_MARKER = re.compile(r"\[\d+\]")
_FRAMING = re.compile(r"(根据|依据|按照|参照)?(条款|原文|规定|文件)(中的|中|里|所述|提到)?|综上|因此|所以")
_KEEP = re.compile(r"[\w\u4e00-\u9fff%.]")


def bigrams(text: str) -> set[str]:
    """Bigrams of word characters in normalised text (markers, punctuation and framing such as
    "根据条款[1]，" removed: they say where a claim comes from, not what it is)."""
    text = _FRAMING.sub("", _MARKER.sub("", text))
    chars = [c for c in normalize(text).lower() if _KEEP.match(c)]
    return {a + b for a, b in zip(chars, chars[1:])}


def novel(sentence: str, question: str) -> set[str]:
    """The sentence's bigrams that the question does not already contain."""
    return bigrams(sentence) - bigrams(question)


def support(sentence: str, clause_text: str, question: str) -> float:
    """Share of the sentence's new bigrams found in the clause (1.0 when it adds under two new
    bigrams: a restatement of the question such as "阳泉支持…融资" is not a claim to check)."""
    new = novel(sentence, question)
    if len(new) < 2:
        return 1.0
    return len(new & bigrams(clause_text)) / len(new)


def best_clause(sentence: str, clause_texts: list[str], question: str) -> tuple[int, float]:
    """Index of the clause that best supports the sentence, and that support."""
    scores = [support(sentence, t, question) for t in clause_texts]
    best = max(range(len(scores)), key=lambda i: scores[i])
    return best, scores[best]
