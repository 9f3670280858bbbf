"""A document's title line, read from its text: past the red-head banner, the 文号 and 附件 labels.

Shared by what a document says about itself (`ingest.about`) and the corpus loader.
"""

from __future__ import annotations

import re

from policyqa.vocab import words

_BANNER = re.compile(r".{2,30}文件")  # the red-head banner: 广州市人力资源和社会保障局文件
_DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[【(（]\s*\d{4}\s*[〕\]】)）]\s*\d+\s*号")  # 穗人社规字〔2019〕6号
_ANNEX_LABEL = re.compile(r"附\s*件\s*[\d一二三四五六七八九十]*\s*[:：]?")
_NOT_TITLE = re.compile(r"[。；;，,:：!?！？]")
_ITEM_START = re.compile(r"[(（]?[一二三四五六七八九十\d]+[、.．)）]|第\s*[一二三四五六七八九十百\d\s]+[章条节编]")


def ends_like_title(line: str) -> bool:
    """True for a line ending with a document-type word (办法, 细则（试行）; policyqa/data/doc_types.txt)."""
    return _core(line).endswith(words("doc_types"))


def _core(line: str) -> str:
    return re.sub(r"\s*[(（][^()（）]{0,20}[)）]\s*$", "", line)  # without (试行), （2025年版）


def _is_title_type(line: str) -> bool:
    """True for a 关于…的通知 line or one ending with a document-type word (办法, 细则（试行）)."""
    core = _core(line)
    # Six characters at least: a site's "通知公告" link is not a title.
    return len(core) >= 6 and ("关于" in core or ends_like_title(line))


def guess_title(text: str, fallback: str) -> str:
    """The document's title line, or `fallback` (the file name) when there is none.

    A Markdown heading wins. Otherwise the first 20 lines are read past the red-head banner
    ("XX局文件"), the 文号 line and a "附件" label: a 关于…的通知 / …办法 line is the title; failing
    that, the first short heading-like line before any body text.
    """
    weak, body_seen = None, False
    for line in text.split("\n")[:20]:
        line = line.strip().strip("\u00a0\u3000 ")
        if not line:
            continue
        heading = re.match(r"#{1,6}\s+(.+)", line)
        if heading:
            return heading.group(1).strip()
        if _BANNER.fullmatch(line) or _DOC_NUMBER.fullmatch(line) or _ANNEX_LABEL.fullmatch(line):
            continue
        if len(line) <= 60 and not _NOT_TITLE.search(line) and not _ITEM_START.match(line):
            if _is_title_type(line):
                return line
            if weak is None and not body_seen:
                weak = line
        else:
            body_seen = True
    return weak or fallback
