"""What a document says about itself: title, date, issuer and region, and whether it repeats another.

Used when `corpus/metadata.json` does not name the file (metadata.json only overrides). Sources, in
order of trust: what the file states outside its text (a page's meta tags and article title), labelled
lines ("发布日期：", "发布机关："), the 公文 title shape ("X关于…的通知": X issued it), the signature
block (issuer lines above a closing date), then the text itself. Regions are runs of administrative
divisions ("广州市越秀区") found as whole jieba words ending in a division suffix, never from a list of
places (so a one-character name such as 临县 is missed rather than letting 城市/超市 in); names
inside 《》 are cited documents and do not count; from the body text only a run that starts with a
word jieba tags as a place (ns) and is named twice, or one in the opening lines, counts. A later
source may refine the region when it contains it ("广州市" -> "广州市越秀区"). The word lists live in
`policyqa/data/about.json`.

Duplicates: two documents whose sentences (NFKC, no whitespace) overlap by at least 90% are the same
text under two names; the later one (in corpus order) records the earlier one's file.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache

from policyqa.text import match_key, split_sentences
from ingest.titles import ends_like_title, guess_title
from policyqa.vocab import table

_DATE = r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?"
_HEAD_LINES = 30
_SIGNATURE_LINES = 8
DUPLICATE_SHARE = 0.9
_MIN_SENTENCES = 3


@dataclass(frozen=True)
class About:
    """A document's own title, date (yyyy-mm-dd), issuer and region; "" where it does not say."""

    title: str
    date: str = ""
    issuer: str = ""
    region: str = ""


def _words() -> dict[str, tuple[str, ...]]:
    return table("about")


def _alternation(key: str) -> str:
    return "|".join(sorted(map(re.escape, _words()[key]), key=len, reverse=True))


def _lines(text: str) -> list[str]:
    return [line.strip().strip("\u3000\u00a0 ") for line in text.split("\n") if line.strip().strip("\u3000\u00a0 ")]


def is_placeholder(line: str) -> bool:
    """True for a heading that stands in for a title: '---', '附件', '附件2：', '目录'."""
    line = line.strip().lstrip("#").strip()
    if not re.search(r"[\w\u3400-\u9fff]", line):
        return True
    return re.fullmatch(rf"(?:{_alternation('placeholder_titles')})\s*[\d一二三四五六七八九十]*\s*[:：]?", line, re.I) is not None


def text_without_placeholders(text: str) -> str:
    """`text` from its first line that is not a placeholder heading (for title guessing)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip() and not is_placeholder(line):
            return "\n".join(lines[i:])
    return ""


def official_title(text: str) -> str:
    """A 公文 title line near the top ("…关于…的通知", "…办法"), or "" when there is none."""
    for line in _lines(text)[:_HEAD_LINES]:
        if len(line) <= 80 and not re.search(r"[。；;：:>＞]", line) and ends_like_title(line):
            return line
    return ""


def labelled(text: str, key: str) -> str:
    """The value after a label of kind `key` ("date_labels", "issuer_labels", …) near the top.

    A line may hold several "label：value" pairs separated by spaces ("发布日期：… 文章来源：…").
    """
    label = re.compile(rf"(?:{_alternation(key)})\s*[:：]\s*(.+)")
    for line in _lines(text)[:_HEAD_LINES]:
        for segment in re.split(r"[\s\u3000]+(?=[^\s\u3000:：]{1,8}[:：])", line):
            m = label.fullmatch(segment.strip())
            if m and m.group(1).strip():
                return m.group(1).strip()
    return ""


def iso_date(text: str) -> str:
    """The first date in `text` as yyyy-mm-dd, or ""."""
    m = re.search(_DATE, text)
    if not m:
        return ""
    year, month, day = (int(g) for g in m.groups())
    return f"{year:04d}-{month:02d}-{day:02d}" if 1 <= month <= 12 and 1 <= day <= 31 else ""


def _head_date(text: str) -> str:
    """A date line just under the title: "(2015年9月15日)", "（2021年7月27日国务院令第746号公布）"."""
    for line in _lines(text)[1:5]:
        if re.match(rf"[(（]{_DATE}", line):
            return iso_date(line)
    return ""


def _signature(text: str) -> tuple[str, str]:
    """(issuer, date) from a closing block: unit lines above a line that is only a date."""
    lines = _lines(text)[5:][-_SIGNATURE_LINES:]
    for i in range(len(lines) - 1, -1, -1):
        if re.fullmatch(rf"[(（]?{_DATE}[)）]?", lines[i]):
            units = []
            for line in reversed(lines[max(0, i - 3):i]):
                if len(line) <= 40 and not re.search(r"[。；;，,:：]", line) and _is_body(line.split()[-1]):
                    units.insert(0, line)
                else:
                    break
            return " ".join(units), iso_date(lines[i])
    return "", ""


def _is_body(name: str) -> bool:
    return re.search(rf"(?:{_alternation('body_suffixes')})$", name) is not None and len(name) >= 3


def title_issuer(title: str) -> str:
    """The issuing body named before 关于 in a 公文 title ("X人民政府关于印发…的通知" -> "X人民政府")."""
    m = re.match(r"(.{3,60}?)关于", title)
    if m and all(_is_body(part) for part in m.group(1).split()):
        return m.group(1).strip()
    return ""


def regions(text: str, *, places_only: bool = False) -> list[str]:
    """Runs of administrative divisions in `text`, in order ("广州市越秀区", "官渡区"); 《》 names skipped.

    With `places_only` a run must start with a word jieba tags as a place name (ns): body text is
    full of common nouns that end like divisions (作业区, 试验区), titles and issuers are not.
    """
    import jieba

    jieba.setLogLevel(60)
    text = re.sub(r"《[^》]*》", "，", text)
    suffix = re.compile(rf"(?:{_alternation('division_suffixes')})$")
    generic = set(_words()["generic_division_words"])
    runs, current = [], ""
    # A place word must be in jieba's dictionary anyway, so its HMM guessing of new words is skipped.
    for token in _split_government(jieba.lcut(text, HMM=not places_only)):
        ok = (len(token) >= 3 and suffix.search(token) and token not in generic
              and re.fullmatch(r"[\u3400-\u9fff]+", token) is not None
              and (current or not places_only or _is_place(token)))
        if ok:
            current += token
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return list(dict.fromkeys(runs))


_GOVERNMENT = re.compile(r"(.{2,}?)(人民政府|政府|人大常委会|人民代表大会常务委员会)")


def _split_government(tokens: list[str]) -> list[str]:
    """jieba keeps "上海市人民政府", "深圳市人民政府" as one word: the place is split off its government."""
    out = []
    for token in tokens:
        m = _GOVERNMENT.fullmatch(token)
        out += [m.group(1), m.group(2)] if m else [token]
    return out


@lru_cache(maxsize=4096)
def _is_place(word: str) -> bool:
    """Whether jieba's dictionary tags `word` as a place name (ns)."""
    import jieba.posseg

    tagged = jieba.posseg.lcut(word)
    return len(tagged) == 1 and tagged[0].flag == "ns"


def text_region(text: str) -> str:
    """The region a text keeps naming: its most frequent division run seen at least twice, else the
    first run of its opening lines; "" for a text that names none (a national law)."""
    from collections import Counter

    runs = regions(text, places_only=True)
    counts = Counter({run: text.count(run) for run in runs})
    if counts:
        run, count = counts.most_common(1)[0]
        if count >= 2:
            return run
    head = regions("\n".join(_lines(text)[:_HEAD_LINES // 3]), places_only=True)
    return head[0] if head else ""


def region_of(sources: list[str]) -> str:
    """The region named first among `sources`, refined by a later run that contains it."""
    region = ""
    for source in sources:
        for run in regions(source) if source else []:
            if not region:
                region = run
            elif region in run and len(run) > len(region):
                region = run
    return region


def describe(text: str, fallback_title: str, *, title: str = "", date: str = "", source: str = "",
             site: str = "", region: str = "") -> About:
    """Derive title, date, issuer and region of a document from its text and what its file states.

    `title`, `date`, `source` and `site` are what the file states outside its text (see LoadedText);
    `fallback_title` (the file name) is used only when neither the file nor the text gives a title.
    A `region` already known (from metadata.json) is kept and not looked for.
    """
    body = text_without_placeholders(text)
    if not title:
        title = guess_title(body, "")
        if not title or re.search(r"[:：>＞]", title):
            title = official_title(body) or title
    title = title or fallback_title
    sign_issuer, sign_date = _signature(text)
    date = date or iso_date(labelled(text, "date_labels")) or _head_date(text) or sign_date
    issuer = (labelled(text, "issuer_labels") or title_issuer(title) or sign_issuer
              or source or labelled(text, "source_labels"))
    if not region:
        # The body is read only when the title, issuer and site name no place (it is the slow part).
        region = region_of([title, issuer, site]) or region_of([text_region(text[:1500]), fallback_title])
    return About(title=title, date=date, issuer=issuer, region=region)


def _sentences(text: str) -> set[int]:
    key = match_key(text)
    return {zlib.crc32(s.encode("utf-8")) for s in split_sentences(key) if len(s) >= 6}


def duplicates(texts: list[tuple[str, str]], share: float = DUPLICATE_SHARE) -> dict[str, tuple[str, float]]:
    """{later name: (earlier name, overlap)} for texts that repeat an earlier one's sentences.

    `texts` are (name, text) in corpus order. Overlap is the Jaccard share of sentence hashes, so
    1.0 is the same text and 0.9 the same text with a sentence or two changed.
    """
    sets = [(name, _sentences(text)) for name, text in texts]
    postings: dict[int, list[int]] = {}
    found: dict[str, tuple[str, float]] = {}
    for i, (name, sentences) in enumerate(sets):
        if len(sentences) < _MIN_SENTENCES:  # a stub (front matter, a title) is not a document to compare
            continue
        shared: dict[int, int] = {}
        for h in sentences:
            hits = postings.setdefault(h, [])
            if len(hits) <= 50:  # a sentence in many files is boilerplate, not evidence of a copy
                for j in hits:
                    shared[j] = shared.get(j, 0) + 1
            hits.append(i)
        best = None
        for j, count in shared.items():
            overlap = count / (len(sentences) + len(sets[j][1]) - count)
            if overlap >= share and (best is None or overlap > best[1]):
                best = (sets[j][0], overlap)
        if best:
            found[name] = best
    return found
