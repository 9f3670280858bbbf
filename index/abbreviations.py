"""Abbreviations a question uses that the corpus spells out: 低保 → 最低生活保障, 社保 → 社会保险.

Chinese abbreviates a phrase by taking one character from its words in order, often skipping one
(最低·生活·保障 → 低保, 公共·租赁·住房 → 公租房). A question word of 2–3 Chinese characters that the
corpus writes at most twice is looked up in the corpus text itself: every place where its characters occur in
order within a few characters is cut into words (jieba), and a run of 2–4 words is a spelling-out when
each character of the abbreviation lies in its own word of two or more characters, in order, the first
in the first word and the last in the last, with at most one word that gives no character. The run
found most often wins, if the corpus writes it at least twice and more often than the abbreviation
itself (a notice that once says 低保 in passing and 最低生活保障 throughout still has 低保 spelled out). No
list of abbreviations: whatever the documents spell out is found, and a word they do not is left alone
(the refusal rules then judge it).

Cost: one regex pass over the corpus text per unknown word (memoised per index version), so a
question pays it once; a 30 MB corpus text takes well under a second.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable, Sequence

from index.lexical import dictionary_count
from policyqa.text import normalize

_HAN = re.compile(r"[\u4e00-\u9fff]{2,3}")
_ALL_HAN = re.compile(r"[\u4e00-\u9fff]+")
_GAP = 4  # characters allowed between two characters of an abbreviation in the spelled-out phrase
_WINDOW = 6  # characters read on each side of a match to cut the phrase into words
_MAX_MATCHES = 400
_COMMON = 500  # 低保 40, 社保 119, 医保 273 in jieba's dictionary; 部分 27619, 专利 1171
_MIN_COUNT = 2  # a spelling-out the corpus writes once may be chance (火炬计划…星创)
_RARE = 2  # a word the corpus writes more often than this is its own term, not looked up


def candidates(word: str, text: str, cut: Callable[[str], Sequence[str]]) -> Counter:
    """Spelled-out phrases of `word` in `text` with how often each occurs (see the module docstring)."""
    if not _HAN.fullmatch(word):
        return Counter()
    pattern = re.compile(f"(?=({f'[一-鿿]{{0,{_GAP}}}'.join(map(re.escape, word))}))")
    found: Counter = Counter()
    for n, m in enumerate(pattern.finditer(text)):
        if n >= _MAX_MATCHES:
            break
        start, end = m.start(1), m.start(1) + len(m.group(1))
        left = max(0, start - _WINDOW)
        words = list(cut(text[left:end + _WINDOW]))
        phrase = _spelled_out(word, words, start - left, end - left)
        if phrase:
            found[phrase] += 1
    return found


def _spelled_out(word: str, words: Sequence[str], start: int, end: int) -> str:
    """The run of `words` covering [start, end) that spells out `word`, or ""."""
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w), w))
        pos += len(w)
    run = [w for a, b, w in spans if b > start and a < end]
    if not 2 <= len(run) <= 4 or word[0] not in run[0] or word[-1] not in run[-1] or min(map(len, run)) < 2:
        return ""
    given, idle = 0, 0
    for w in run:
        if given < len(word) and word[given] in w:
            given += 1
        else:
            idle += 1
    phrase = "".join(run)
    return phrase if given == len(word) and idle <= 1 and _ALL_HAN.fullmatch(phrase) and len(phrase) > len(word) else ""


def expand(word: str, text: str, cut: Callable[[str], Sequence[str]]) -> str:
    """The phrase `word` abbreviates in `text` (the most frequent spelling-out), or ""."""
    found = candidates(word, text, cut)
    phrase, count = found.most_common(1)[0] if found else ("", 0)
    return phrase if count >= _MIN_COUNT and count > text.count(word) else ""


def spell_out(question: str, snapshot) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`question` followed by each abbreviation the corpus spells out and its phrase, in brackets
    ("低保标准是多少？（低保：最低生活保障）"), and the (abbreviation, phrase) pairs; unchanged when
    there are none. Everyday words (jieba dictionary count ≥ _COMMON: 部分, 大学) are not abbreviations.
    `snapshot`: an index/snapshot.Snapshot (its clauses' text and tokenizer, memoised per version)."""
    text = snapshot.derived("abbreviation_text", lambda: "\n".join(
        normalize(c.text).lower() for c in snapshot.clauses))
    pairs = []
    for word in dict.fromkeys(snapshot.tokenizer.words(question)):
        # Cheap tests first: the substring scan reads the whole corpus text.
        if _HAN.fullmatch(word) and dictionary_count(word) < _COMMON and text.count(word) <= _RARE:
            phrase = snapshot.derived(f"abbreviation:{word}", lambda w=word: expand(w, text, snapshot.tokenizer.words))
            if phrase:
                pairs.append((word, phrase))
    # Appended, not inserted: a clause number or a document name in the question stays as written.
    out = question + "".join(f"（{word}：{phrase}）" for word, phrase in pairs)
    return out, tuple(pairs)
