"""The Gradio UI (问答 · 政策计算器 · 部门职责 · 文档库) and the HTML it renders over one policyqa Service.

Every piece of user or document text that reaches HTML goes through `esc` (html.escape plus template
characters) first, and every error reaches the user as a short Chinese message, never a traceback.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

from faces.errors import ui_text
from faces.guard import ChangeGuard

if TYPE_CHECKING:
    import gradio as gr

    from ingest.records import Clause
    from qa.answer import Answer, Citation
    from qa.service import Service
    from qa.views import TreeNode

log = logging.getLogger("policyqa.app")


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
    """One clause card: [n] 《document》, breadcrumb, clause text (already escaped), units and id."""
    units = f"牵头：{esc('、'.join(clause.lead))}；" if clause.lead else ""
    units += f"配合：{esc('、'.join(clause.cooperating))}；" if clause.cooperating else ""
    units += f"责任单位：{esc('、'.join(clause.departments))} · " if clause.departments else ""
    head = (f"<span class='pq-n'>[{n}]</span> " if n else "") + (f"<span class='pq-badge'>{esc(badge)}</span> " if badge else "")
    return (f"<div class='pq-card'><div class='pq-head'>{head}《{esc(clause.doc_title)}》</div>"
            f"<div class='pq-path'>{esc(clause.path_text)}</div><div class='pq-text'>{body}</div>"
            f"<div class='pq-foot'>{units}{esc(clause.id)}</div></div>")


def notice(text: str, kind: str = "warn") -> str:
    """A coloured notice box (text escaped)."""
    return f"<div class='pq-notice pq-{kind}'>{esc(text)}</div>"


def support(citation: Citation, answer_text: str) -> list[str]:
    """The sentences to mark: the citation's own, else the clause sentences the answer quotes verbatim."""
    from qa.extractive import sentences

    if citation.supporting:
        return list(citation.supporting)
    return [s for s in sentences(citation.clause.text) if s.rstrip("。！？；;") in answer_text]


def answer_cards(answer: Answer) -> str:
    """The cards beside an answer: citations with supporting sentences marked, or a refusal's related clauses."""
    if answer.refused:
        related = "".join(card(h.clause, esc(h.clause.text)) for h in answer.related)
        return (notice(f"未找到能作为依据的条款：{answer.text}") + "<h4>可能相关的条款（不构成依据）</h4>"
                + (related or "<p>无</p>"))
    cards = "".join(card(c.clause, highlight(c.clause.text, support(c, answer.text)), n=c.n) for c in answer.citations)
    head = f"依据 {len(answer.citations)} 条" + (f" · 共 {answer.count} 项" if answer.count is not None else "")
    return f"<div class='pq-summary'>{head} · {esc(answer.generator)} · 校验：{esc(answer.checked.text)}</div>{cards}"


def answer_bubble(answer: Answer) -> str:
    """The chat text of an answer: the answer (escaped) and a one-line source list."""
    if answer.refused:
        return plain(answer.text) + "\n\n*（右侧列出可能相关的条款，不构成依据）*"
    sources = "；".join(plain(f"[{c.n}] 《{c.clause.doc_title}》{c.clause.path_text}") for c in answer.citations[:8])
    return plain(answer.text) + (f"\n\n**依据**：{sources}" if sources else "")


def answer_markdown(answer: Answer) -> str:
    """The last answer with its citations as Markdown (for copying or saving)."""
    lines = [f"## 问题\n\n{answer.question}\n", f"## 回答\n\n{answer.text}\n"]
    items = [(f"[{c.n}]", c.clause) for c in answer.citations] or [("-", h.clause) for h in answer.related]
    lines.append("## 可能相关的条款（不构成依据）\n" if answer.refused else "## 依据\n")
    for mark, c in items:
        quote = "\n".join("> " + line for line in c.text.strip().splitlines())
        lines.append(f"{mark} 《{c.doc_title}》{c.path_text}（{c.id}）\n\n{quote}\n")
    return "\n".join(lines)


def friendly(exc: BaseException) -> str:
    """A short Chinese message for the UI (faces/errors.py words it)."""
    return ui_text(exc)


CSS = """
.pq-card{border:1px solid #d0d7de;border-radius:8px;padding:10px 12px;margin:8px 0;background:#fff;color:#1f2328}
.pq-head{font-weight:600}.pq-path{color:#57606a;font-size:.9em;margin:2px 0 6px}
.pq-text{white-space:pre-wrap;line-height:1.7}.pq-foot{color:#6e7781;font-size:.8em;margin-top:6px}
.pq-card mark{background:#ffe58f;color:#1f2328;padding:0 1px}.pq-n{color:#0969da}
.pq-badge{background:#ddf4ff;color:#0550ae;border-radius:4px;padding:0 6px;font-size:.85em}
.pq-notice{border-left:4px solid #d4a72c;background:#fff8c5;color:#1f2328;padding:8px 12px;margin:6px 0}
.pq-error{border-left-color:#cf222e;background:#ffebe9}.pq-ok{border-left-color:#1a7f37;background:#dafbe1}
.pq-summary{color:#57606a;font-size:.9em}#pq-cards{max-height:760px;overflow-y:auto}.pq-tree details{margin-left:14px}.pq-tree summary{cursor:pointer}
.pq-items{border-collapse:collapse;width:100%;font-size:.92em;margin:6px 0}.pq-items th,.pq-items td{border:1px solid #d0d7de;padding:4px 6px;vertical-align:top;text-align:left;color:#1f2328;background:#fff}
.pq-items th{background:#f6f8fa}.pq-items ul{margin:0;padding-left:1.1em}.pq-item{color:#0550ae;font-size:.9em;margin-top:4px}
"""


# --------------------------------------------------------------------------- UI


class WebUI:
    """The Gradio handlers (plain methods, testable without a browser) and the Blocks that wire them."""

    GENERATORS = [("摘录（最快）", "extractive"), ("本地模型 llama", "llama"), ("OpenAI 兼容接口", "openai")]

    def __init__(self, service: Service, *, default_generator: str = "extractive", guard: ChangeGuard | None = None,
                 calculator=None) -> None:
        self.service = service
        self.default_generator = default_generator
        self.guard = guard or ChangeGuard()
        self.calculator = calculator  # the 政策计算器 and 部门职责 tabs (faces/webui_calc.CalculatorTabs), if given

    # ---- choices -------------------------------------------------------------------------
    def doc_choices(self, everything: str | None = None) -> list[tuple[str, str]]:
        """(label, doc_id) for every document, optionally after an "all documents" entry with value ""."""
        docs = [(f"{d.meta.region or d.meta.doc_id} ·《{d.meta.title}》", d.meta.doc_id) for d in self.service.documents()]
        return ([(everything, "")] if everything else []) + docs

    def unit_choices(self, everything: str | None = None) -> list[tuple[str, str]]:
        """(label with counts, unit) for every responsible unit."""
        units = [(f"{u.name}（牵头 {u.lead} / 配合 {u.cooperating} / 合计 {u.total}）", u.name)
                 for u in self.service.departments()]
        return ([(everything, "")] if everything else []) + units

    # ---- 问答 ------------------------------------------------------------------------------
    def chat(self, question: str, transcript: list[dict], history: list[str], doc: str | None,
             department: str | None, generator: str | None) -> Iterator[tuple]:
        """Stream one answer: yields (chat messages, cards HTML, Markdown export, transcript, history, box text)."""
        question = question or ""
        shown = question.strip()
        shown = shown if len(shown) <= 300 else shown[:300] + f"…（共 {len(shown)} 字）"
        messages = list(transcript or []) + [{"role": "user", "content": plain(shown) or "（空问题）"},
                                             {"role": "assistant", "content": "*正在检索条款…*"}]
        waiting = "<p class='pq-summary'>正在检索…</p>"
        yield messages, waiting, "", messages, history, ""
        answer, tokens = None, ""
        try:
            for event in self.service.stream(question, history=history or [], generator=generator, doc=doc,
                                             department=department):
                if event.kind == "status":
                    messages[-1] = {"role": "assistant", "content": f"*{plain(event.text)}*"}
                elif event.kind == "token":
                    tokens += event.text
                    messages[-1] = {"role": "assistant", "content": plain(tokens)}
                elif event.answer is not None:
                    answer = event.answer
                    continue
                yield messages, waiting, "", messages, history, ""
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the app keeps serving
            text = friendly(exc)
            messages[-1] = {"role": "assistant", "content": "⚠️ " + plain(text)}
            yield messages, notice(text, "error"), "", messages, history, question
            return
        if answer is None:
            return
        messages[-1] = {"role": "assistant", "content": answer_bubble(answer)}
        history = (list(history or []) + [question.strip()])[-10:]
        yield messages, answer_cards(answer), answer_markdown(answer), messages, history, ""

    # ---- 文档库 ----------------------------------------------------------------------------
    def table(self) -> list[list]:
        """One row per document: id, title, clauses, region, date, issuer, file, format, the file it repeats."""
        return [[d.meta.doc_id, d.meta.title, d.clauses, d.meta.region, d.meta.date, d.meta.issuer, d.meta.source,
                 d.format, d.meta.duplicate_of] for d in self.service.documents()]

    def tree(self, doc_id: str | None) -> str:
        """A document's outline as nested <details>; each clause opens to its text."""
        if not doc_id:
            return "<p class='pq-summary'>选择一份文档查看其条款结构。</p>"
        info = next((d for d in self.service.documents() if d.meta.doc_id == doc_id), None)
        if info is None:
            return notice(f"文档库中没有“{doc_id}”", "error")
        text = {c.id: c.text for c in self.service.clauses(doc_id)}

        def node(n: TreeNode) -> str:
            inner = "".join(node(child) for child in n.children)
            body = f"<div class='pq-text'>{esc(text.get(n.clause_id, ''))}</div>" if n.clause_id else ""
            label = esc(n.title) + (f" <small>{esc(n.clause_id)}</small>" if n.clause_id else "")
            return f"<details><summary>{label}</summary>{body}{inner}</details>"
        return (f"<div class='pq-tree'><h4>《{esc(info.meta.title)}》 {info.clauses} 条</h4>"
                + "".join(node(n) for n in info.tree) + "</div>")

    def upload_named(self, name: str, content: bytes, progress: Callable[..., object] | None = None,
                     token: str = "", headers: Mapping[str, str] | None = None) -> str:
        """Add one file to the corpus (if `token` and `headers` pass the guard); returns a status notice (HTML)."""
        def tick(done: int, total: int) -> None:
            if progress is not None:
                progress(done / max(total, 1), desc=f"正在嵌入新条款 {done}/{total}")
        try:
            self.guard.check(token, headers)
            change = self.service.upload(name, content, progress=tick)
        except Exception as exc:  # noqa: BLE001
            return notice(friendly(exc), "error")
        return notice(change.message, "ok")

    def upload(self, path: str | None, progress: Callable[..., object] | None = None, token: str = "",
               headers: Mapping[str, str] | None = None) -> str:
        """The gr.File handler: check the guard and the size before reading, then `upload_named`."""
        if not path:
            return notice("请先选择要上传的文件。")
        file = Path(path)
        try:
            self.guard.check(token, headers)
            self.service.check_upload(file.name, file.stat().st_size)
        except Exception as exc:  # noqa: BLE001
            return notice(friendly(exc), "error")
        if progress is not None:
            progress(0.0, desc="正在校验文件…")
        return self.upload_named(file.name, file.read_bytes(), progress, token, headers)

    def remove(self, doc_id: str | None, progress: Callable[..., object] | None = None, token: str = "",
               headers: Mapping[str, str] | None = None) -> str:
        """Delete a document from the corpus and the index (if the guard lets it); returns a notice (HTML)."""
        if not doc_id:
            return notice("请先选择要删除的文档。")
        if progress is not None:
            progress(0.0, desc="正在删除并更新索引…")
        try:
            self.guard.check(token, headers)
            return notice(self.service.remove(doc_id).message, "ok")
        except Exception as exc:  # noqa: BLE001
            return notice(friendly(exc), "error")

    def refresh(self) -> tuple:
        """Fresh choices for every document and unit picker, and the document table."""
        import gradio as gr

        docs, calc = self.doc_choices(), self.calculator
        units = gr.update(choices=calc.unit_choices()) if calc else gr.update()
        places = gr.update(choices=calc.place_choices()) if calc else gr.update()
        return (self.table(), gr.update(choices=self.doc_choices("全部文档")), gr.update(choices=self.unit_choices("不限部门")),
                units, gr.update(choices=self.doc_choices("全部地区")), gr.update(choices=docs),
                gr.update(choices=docs, value=None), places, gr.update(choices=self.doc_choices("全部文件")))

    # ---- layout ----------------------------------------------------------------------------
    def blocks(self, max_file_mb: float) -> gr.Blocks:
        """The five tabs, wired to the handlers above (政策计算器 and 部门职责: faces/webui_calc.py)."""
        import gradio as gr

        with gr.Blocks(title="政策问答 · policyqa", analytics_enabled=False) as demo:
            gr.Markdown("## 政策问答 · 每个回答都附原文条款")
            ui = SimpleNamespace(transcript=gr.State([]), history=gr.State([]), place=None, unit=None, duty_place=None,
                                 duty_doc=None)  # the last four are the calculator's pickers, when it is there
            with gr.Tabs():
                with gr.Tab("问答", id="qa"):
                    self._qa_tab(gr, ui)
                if self.calculator is not None:
                    with gr.Tab("政策计算器", id="calculator"):
                        ui.place = self.calculator.calculator_tab(self.doc_choices)
                    with gr.Tab("部门职责", id="departments"):
                        ui.unit, ui.duty_place, ui.duty_doc = self.calculator.duties_tab(self.doc_choices)
                with gr.Tab("文档库", id="library"):
                    self._library_tab(gr, ui, max_file_mb)
            self._wire(gr, ui)
            demo.load(self.refresh, None, ui.pickers)
        return demo

    def _qa_tab(self, gr, ui: SimpleNamespace) -> None:
        with gr.Row():
            with gr.Column(scale=3):
                ui.chatbot = gr.Chatbot(label="对话", height=480, feedback_options=None, elem_id="pq-chat")
                ui.question = gr.Textbox(label="问题（按 Enter 发送）", lines=1, max_lines=4,
                                         placeholder="例如：这项补贴的标准是多少？由哪个部门牵头？", elem_id="pq-question")
                with gr.Row():
                    ui.send = gr.Button("发送", variant="primary", elem_id="pq-send")
                    ui.clear = gr.Button("清空对话")
                with gr.Row():
                    ui.doc = gr.Dropdown(self.doc_choices("全部文档"), value="", label="限定文档")
                    ui.dept = gr.Dropdown(self.unit_choices("不限部门"), value="", label="限定部门")
                ui.gen = gr.Radio(self.GENERATORS, value=self.default_generator, label="生成方式")
            with gr.Column(scale=2):
                ui.cards = gr.HTML("<p class='pq-summary'>提问后，这里显示回答所依据的条款原文。</p>", elem_id="pq-cards")
                ui.export = gr.Textbox(label="导出 Markdown（最近一个回答及其依据）", lines=6, max_lines=14,
                                       buttons=["copy"], interactive=False, elem_id="pq-export")

    def _library_tab(self, gr, ui: SimpleNamespace, max_file_mb: float) -> None:
        from ingest.loaders import SUPPORTED

        ui.table = gr.Dataframe(self.table(), headers=["编号", "标题", "条款数", "地区", "日期", "发文机关", "文件", "格式", "与之重复"],
                                interactive=False, wrap=True)
        ui.tree_doc = gr.Dropdown(self.doc_choices(), value=None, label="查看条款结构", elem_id="pq-tree-doc")
        ui.tree_html = gr.HTML(elem_id="pq-tree")
        if not self.guard.enabled:
            gr.HTML(notice(self.guard.disabled_message, "error"))
        with gr.Row():
            ui.file = gr.File(label=f"上传文档（{' '.join(SUPPORTED)}，不超过 {max_file_mb:g} MB）",
                              type="filepath", elem_id="pq-file")
            with gr.Column():
                ui.token = gr.Textbox(label="管理口令（上传、删除时需要）", type="password", max_lines=1,
                                      visible=self.guard.needs_token, elem_id="pq-token")
                ui.upload = gr.Button("上传并更新索引", variant="primary", elem_id="pq-upload",
                                      interactive=self.guard.enabled)
                ui.gone = gr.Dropdown(self.doc_choices(), value=None, label="删除文档")
                ui.remove = gr.Button("删除所选文档", variant="stop", interactive=self.guard.enabled)
        ui.status = gr.HTML(elem_id="pq-upload-status")

    def _wire(self, gr, ui: SimpleNamespace) -> None:
        outs = [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history, ui.question]
        ins = [ui.question, ui.transcript, ui.history, ui.doc, ui.dept, ui.gen]
        for trigger in (ui.question.submit, ui.send.click):
            trigger(self.chat, ins, outs, concurrency_limit=16, show_progress="minimal")
        reset = (lambda: ([], "", "", [], []), None, [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history])
        ui.clear.click(*reset)
        ui.chatbot.clear(*reset)  # the chat's own bin icon forgets the history too
        ui.tree_doc.change(self.tree, ui.tree_doc, ui.tree_html)
        pickers = [ui.table, ui.doc, ui.dept, ui.unit, ui.place, ui.tree_doc, ui.gone, ui.duty_place, ui.duty_doc]
        ui.pickers = [p if p is not None else gr.State() for p in pickers]

        def on_upload(path: str | None, secret: str, request: gr.Request,
                      progress: gr.Progress = gr.Progress()) -> tuple[str, None]:
            return self.upload(path, progress, secret, request.headers), None  # clear the picker for the next file

        def on_remove(doc_id: str | None, secret: str, request: gr.Request, progress: gr.Progress = gr.Progress()) -> str:
            return self.remove(doc_id, progress, secret, request.headers)

        for handler in (on_upload, on_remove):
            # Gradio finds gr.Request by type hint; ours are strings naming the lazily imported gr, which
            # typing.get_type_hints cannot resolve, so give it the class itself.
            handler.__annotations__ = {"request": gr.Request}

        ui.upload.click(on_upload, [ui.file, ui.token], [ui.status, ui.file]).then(self.refresh, None, ui.pickers)
        ui.remove.click(on_remove, [ui.gone, ui.token], ui.status).then(self.refresh, None, ui.pickers)
