"""The HTML and Markdown the web UI shows: clause cards, an answer's bubble, its sources and check in
plain Chinese, and the Markdown export.

Every piece of user or document text that reaches HTML goes through `esc` (html.escape plus template
characters) first. What a reader sees is Chinese: the check status in words (已逐句核对原文 …), the
technical reasons (English lines from qa/verify.py) only behind a 详情 toggle, clause ids small in a
card's foot. The style sheet is faces/webui.css (`CSS`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.records import Clause
    from qa.answer import Answer, Citation

CSS = (Path(__file__).with_name("webui.css")).read_text(encoding="utf-8")
GENERATOR_ZH = {"extractive": "原文摘录", "llama": "本地模型", "openai": "外部模型接口", "structured": "条款列表",
                "scripted": "测试模型"}


def esc(text: str) -> str:
    """HTML-escaped text; braces and $ too, so no template syntax survives into gr.HTML."""
    return html.escape(text or "", quote=True).translate({ord("{"): "&#123;", ord("}"): "&#125;", ord("$"): "&#36;"})


def plain(text: str) -> str:
    """Text for a Markdown chat bubble: escaped, with [ ] as entities so no link syntax survives."""
    return esc(text).replace("[", "&#91;").replace("]", "&#93;")


def highlight(text: str, needles: tuple[str, ...] | list[str], *, every: bool = False) -> str:
    """`text` escaped, with each needle (first occurrence, or all with `every`) wrapped in <mark>."""
    spans = []
    for needle in (n.strip() for n in needles):
        start = text.find(needle) if needle else -1
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + len(needle)) if every else -1
    out, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:
            start = pos
        if start < end:
            out += [esc(text[pos:start]), "<mark>", esc(text[start:end]), "</mark>"]
            pos = end
    return "".join(out) + esc(text[pos:])


def card(clause: Clause, body: str, *, n: int | None = None, badge: str = "") -> str:
    """One clause card: [n] 《document》, breadcrumb, clause text (already escaped), units; the id small."""
    units = f"牵头：{esc('、'.join(clause.lead))}；" if clause.lead else ""
    units += f"配合：{esc('、'.join(clause.cooperating))}；" if clause.cooperating else ""
    units += f"责任单位：{esc('、'.join(clause.departments))}" if clause.departments else ""
    head = (f"<span class='pq-n'>[{n}]</span> " if n else "") + (f"<span class='pq-badge'>{esc(badge)}</span> " if badge else "")
    return (f"<div class='pq-card'><div class='pq-head'>{head}《{esc(clause.doc_title)}》</div>"
            f"<div class='pq-path'>{esc(clause.path_text)}</div><div class='pq-text'>{body}</div>"
            f"<div class='pq-foot'>{units}<span class='pq-id' title='条款编号'>{esc(clause.id)}</span></div></div>")


def notice(text: str, kind: str = "warn") -> str:
    """A coloured notice box (text escaped)."""
    return f"<div class='pq-notice pq-{kind}'>{esc(text)}</div>"


def problem(exc: BaseException) -> str:
    """An error as a red notice: the Chinese sentence (faces/errors.py), the technical line behind 详情."""
    from faces.errors import ui_detail, ui_text

    detail = ui_detail(exc)
    more = f"<details class='pq-details'><summary>详情</summary>{esc(detail)}</details>" if detail else ""
    return f"<div class='pq-notice pq-error'>{esc(ui_text(exc))}{more}</div>"


def support(citation: Citation, answer_text: str) -> list[str]:
    """The sentences to mark: the citation's own, else the clause sentences the answer quotes verbatim."""
    from qa.extractive import sentences

    if citation.supporting:
        return list(citation.supporting)
    return [s for s in sentences(citation.clause.text) if s.rstrip("。！？；;") in answer_text]


def check_words(answer: Answer) -> str:
    """How the answer was checked, in words a reader understands (qa/answer.py Check.status)."""
    status = answer.checked.status
    if status == "passed":
        return "已逐句核对原文"
    if status == "dropped":
        return f"已逐句核对原文，删去 {len(answer.checked.reasons)} 句原文不支持的内容"
    if status == "fallback":
        if any(n.startswith("generator failed") for n in answer.notes):
            return "生成模型暂不可用，以下为原文摘录"
        return "模型回答未通过核对，以下为原文摘录"
    if status == "declined":
        return "模型判断现有条款不能回答这个问题"
    if answer.refused:
        return "未找到依据"
    return "按条款逐项列出" if answer.generator == "structured" else "原文摘录，未经改写"


def details(answer: Answer) -> str:
    """The 详情 toggle: generator, check status and reasons, notes, index version (technical, may be English)."""
    rows = [f"生成方式：{esc(GENERATOR_ZH.get(answer.generator, answer.generator))}（{esc(answer.generator)}）",
            f"核对状态：{esc(answer.checked.status)}"]
    rows += [f"核对说明：{esc(r)}" for r in answer.checked.reasons]
    rows += [f"处理记录：{esc(n)}" for n in answer.notes]
    rows += [f"索引版本：{esc(answer.index_version)}"] if answer.index_version else []
    return ("<details class='pq-details'><summary>详情</summary><ul>"
            + "".join(f"<li>{r}</li>" for r in rows) + "</ul></details>")


def answer_cards(answer: Answer) -> str:
    """The cards beside an answer: citations with supporting sentences marked, or a refusal's related clauses."""
    if answer.refused:
        related = "".join(card(h.clause, esc(h.clause.text)) for h in answer.related)
        return ("<div class='pq-scroll'>" + notice(f"未找到能作为依据的条款：{answer.text}")
                + "<h4>可能相关的条款（不构成依据）</h4>" + (related or "<p>无</p>") + details(answer) + "</div>")
    cards = "".join(card(c.clause, highlight(c.clause.text, support(c, answer.text)), n=c.n) for c in answer.citations)
    head = f"依据 {len(answer.citations)} 条" + (f" · 共 {answer.count} 项" if answer.count is not None else "")
    kind = "ok" if answer.checked.status in ("passed", "dropped") else "warn" if answer.checked.status == "fallback" else "info"
    return (f"<div class='pq-scroll'><div class='pq-summary'>{head} · <span class='pq-check pq-check-{kind}'>"
            f"{esc(check_words(answer))}</span></div>{details(answer)}{cards}</div>")


def answer_bubble(answer: Answer) -> str:
    """The chat text of an answer: the answer (escaped), how it was checked, and a one-line source list."""
    if answer.refused:
        return plain(answer.text) + "\n\n*（右侧列出可能相关的条款，不构成依据）*"
    sources = "；".join(plain(f"[{c.n}] 《{c.clause.doc_title}》{c.clause.path_text}") for c in answer.citations[:8])
    checked = f"\n\n*{plain(check_words(answer))}*"
    return plain(answer.text) + checked + (f"\n\n**依据**：{sources}" if sources else "")


def answer_markdown(answer: Answer) -> str:
    """The last answer with its citations as Markdown (for copying or saving)."""
    lines = [f"## 问题\n\n{answer.question}\n", f"## 回答\n\n{answer.text}\n\n（{check_words(answer)}）\n"]
    items = [(f"[{c.n}]", c.clause) for c in answer.citations] or [("-", h.clause) for h in answer.related]
    lines.append("## 可能相关的条款（不构成依据）\n" if answer.refused else "## 依据\n")
    for mark, c in items:
        quote = "\n".join("> " + line for line in c.text.strip().splitlines())
        lines.append(f"{mark} 《{c.doc_title}》{c.path_text}（{c.id}）\n\n{quote}\n")
    return "\n".join(lines)
