"""The Gradio UI (问答 · 部门职责 · 政策匹配 · 文档库) over one policyqa Service: the handlers (plain methods,
testable without a browser) and the Blocks that wire them. The HTML they show is built in
faces/render.py, the 文档库 tab in faces/library.py.

Only checked text reaches the reader: while the model writes, the chat shows progress
("正在生成并核对…"), never the draft, and the answer appears once qa/verify.py has checked it; a stop
button cancels. Every error reaches the user as a short Chinese message (faces/errors.py), the
technical line behind 详情, never a traceback. Only generators that are configured and reachable are
offered (faces/wiring.py `available_generators`).
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING, Iterator, Sequence

from faces.errors import ui_text
from faces.guard import ChangeGuard
from faces.library import LibraryTab
from faces.render import (  # noqa: F401  (esc, highlight: part of this module's interface)
    GENERATOR_ZH, answer_bubble, answer_cards, answer_markdown, card, esc, highlight, notice, plain, problem,
)

if TYPE_CHECKING:
    import gradio as gr

    from qa.service import Service

log = logging.getLogger("policyqa.app")
GENERATOR_LABELS = {"extractive": "原文摘录（最快）", "llama": "本地模型", "openai": "外部模型接口"}
STOPPED = "*已停止。未经核对的内容不会显示。*"


def friendly(exc: BaseException) -> str:
    """A short Chinese message for the UI (faces/errors.py words it)."""
    return ui_text(exc)


class WebUI(LibraryTab):
    """The Gradio handlers (plain methods, testable without a browser) and the Blocks that wire them."""

    def __init__(self, service: Service, *, default_generator: str = "extractive", guard: ChangeGuard | None = None,
                 generators: Sequence[str] = ("extractive", "llama", "openai")) -> None:
        self.service = service
        self.generators = [g for g in GENERATOR_LABELS if g in generators or g == "extractive"]
        self.default_generator = default_generator if default_generator in self.generators else "extractive"
        self.guard = guard or ChangeGuard()

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
        answer, written = None, 0
        try:
            for event in self.service.stream(question, history=history or [], generator=generator, doc=doc,
                                             department=department):
                if event.kind == "answer":
                    answer = event.answer
                    continue
                if event.kind == "token":  # a draft: counted, never shown before the check
                    written += len(event.text)
                    progress = f"正在生成并核对…（已写 {written} 字，核对通过后显示）"
                else:
                    progress = event.text
                messages[-1] = {"role": "assistant", "content": f"*{plain(progress)}*"}
                yield messages, waiting, "", messages, history, ""
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the app keeps serving
            messages[-1] = {"role": "assistant", "content": "⚠️ " + plain(friendly(exc))}
            yield messages, problem(exc), "", messages, history, question
            return
        if answer is None:
            return
        messages[-1] = {"role": "assistant", "content": answer_bubble(answer)}
        history = (list(history or []) + [question.strip()])[-10:]
        yield messages, answer_cards(answer), answer_markdown(answer), messages, history, ""

    @staticmethod
    def stopped(transcript: list[dict]) -> tuple[list[dict], list[dict], str]:
        """After the stop button: the pending bubble says it stopped (no draft shown); the sources reset."""
        messages = list(transcript or [])
        if messages and messages[-1].get("role") == "assistant" and str(messages[-1].get("content", "")).startswith(("*", "⚠")):
            messages[-1] = {"role": "assistant", "content": STOPPED}
        return messages, messages, "<p class='pq-summary'>已停止。</p>"

    # ---- 部门职责 / 政策匹配 ---------------------------------------------------------------
    def department_view(self, name: str | None) -> str:
        """Every provision of one unit, grouped by document, as cards."""
        if not name:
            return "<p class='pq-summary'>请选择一个责任单位。</p>"
        try:
            view = self.service.department(name)
        except Exception as exc:  # noqa: BLE001
            return problem(exc)
        parts = [f"<h3>{esc(view.name)}：共 {view.total} 项（牵头 {view.lead} 项，配合 {view.cooperating} 项），"
                 f"涉及 {len(view.groups)} 份文件</h3>"]
        badges = {"lead": "牵头", "cooperating": "配合", "shared": "参与"}
        for _, title, items in view.groups:
            parts.append(f"<h4>《{esc(title)}》 {len(items)} 项</h4>")
            parts += [card(c, esc(c.text), badge=badges[view.role(c)]) for c in items]
        return "".join(parts)

    def match(self, kinds: list[str] | None, needs: list[str] | None, place: str | None) -> str:
        """政策匹配: matching clauses with their source, the matched words marked, and counts."""
        try:
            result = self.service.eligibility(kinds or [], place or None, needs or [])
        except Exception as exc:  # noqa: BLE001
            return problem(exc)
        if not result.items:
            return notice("没有找到同时符合所选主体和需求的条款，可减少勾选项或换一个地区再试。")
        titles = {d.meta.doc_id: d.meta.title for d in self.service.documents()}
        parts = [f"<h3>共 {len(result.items)} 条相关条款，来自 {len(result.documents)} 份文件</h3>"]
        for doc_id in result.documents:
            items = [i for i in result.items if i.clause.doc_id == doc_id]
            parts.append(f"<h4>《{esc(titles.get(doc_id, doc_id))}》 {len(items)} 条</h4>")
            parts += [card(i.clause, highlight(i.clause.text, i.terms, every=True),
                           badge=" · ".join(i.kinds + i.needs)) for i in items]
        return "".join(parts)

    def refresh(self) -> tuple:
        """Fresh choices for every document and unit picker, and the document table."""
        import gradio as gr

        docs, units = self.doc_choices(), self.unit_choices()
        return (self.table(), gr.update(choices=self.doc_choices("全部文档")), gr.update(choices=self.unit_choices("不限部门")),
                gr.update(choices=units), gr.update(choices=self.doc_choices("全部地区")), gr.update(choices=docs),
                gr.update(choices=docs))

    # ---- layout ----------------------------------------------------------------------------
    def blocks(self, max_file_mb: float) -> gr.Blocks:
        """The four tabs, wired to the handlers above."""
        import gradio as gr

        with gr.Blocks(title="政策问答 · policyqa", analytics_enabled=False) as demo:
            gr.Markdown("## 政策问答 · 每个回答都附原文条款")
            ui = SimpleNamespace(transcript=gr.State([]), history=gr.State([]))
            with gr.Tabs():
                with gr.Tab("问答", id="qa"):
                    self._qa_tab(gr, ui)
                with gr.Tab("部门职责", id="departments"):
                    ui.unit = gr.Dropdown(self.unit_choices(), value=None, label="责任单位", elem_id="pq-unit")
                    ui.unit_html = gr.HTML(elem_id="pq-unit-view")
                with gr.Tab("政策匹配", id="match"):
                    self._match_tab(gr, ui)
                with gr.Tab("文档库", id="library"):
                    self._library_tab(gr, ui, max_file_mb)
            self._wire(gr, ui)
            demo.load(self.refresh, None, ui.pickers)
        return demo

    def _qa_tab(self, gr, ui: SimpleNamespace) -> None:
        # Options first (one row on a wide screen); then the chat and, beside it or (on a phone) right
        # after it, the sources. No floating label or icons over the chat's text.
        with gr.Row(elem_id="pq-options"):
            ui.doc = gr.Dropdown(self.doc_choices("全部文档"), value="", label="限定文档", min_width=200)
            ui.dept = gr.Dropdown(self.unit_choices("不限部门"), value="", label="限定部门", min_width=200)
            ui.gen = gr.Radio([(GENERATOR_LABELS[g], g) for g in self.generators], value=self.default_generator,
                              label="回答方式", min_width=200, elem_id="pq-gen")
        with gr.Row(equal_height=False, elem_id="pq-qa-row"):
            with gr.Column(scale=3, min_width=320):
                ui.chatbot = gr.Chatbot(show_label=False, height=480, feedback_options=None, buttons=["copy"],
                                        elem_id="pq-chat", placeholder="在下方输入问题。回答只在逐句核对原文后显示。")
                ui.question = gr.Textbox(label="问题（按回车键发送）", lines=1, max_lines=4,
                                         placeholder="例如：阳泉对科技型中小企业融资有哪些支持？", elem_id="pq-question")
                with gr.Row():
                    ui.send = gr.Button("发送", variant="primary", elem_id="pq-send")
                    ui.stop = gr.Button("停止", variant="stop", visible=False, elem_id="pq-stop")
                    ui.clear = gr.Button("清空对话", elem_id="pq-clear")
            with gr.Column(scale=2, min_width=320):
                ui.cards = gr.HTML("<p class='pq-summary'>提问后，这里显示回答所依据的条款原文。</p>", elem_id="pq-cards")
                ui.export = gr.Textbox(label="导出为 Markdown 文本（最近一个回答及其依据）", lines=4, max_lines=12,
                                       buttons=["copy"], interactive=False, elem_id="pq-export")

    def _match_tab(self, gr, ui: SimpleNamespace) -> None:
        from qa.eligibility import KINDS, NEEDS

        ui.kinds = gr.CheckboxGroup(list(KINDS), label="主体类型", elem_id="pq-kinds")
        ui.needs = gr.CheckboxGroup(list(NEEDS), label="需求", elem_id="pq-needs")
        ui.place = gr.Dropdown(self.doc_choices("全部地区"), value="", label="地区 / 文件")
        ui.go = gr.Button("匹配政策", variant="primary", elem_id="pq-go")
        ui.match_html = gr.HTML(elem_id="pq-match")

    def _wire(self, gr, ui: SimpleNamespace) -> None:
        outs = [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history, ui.question]
        ins = [ui.question, ui.transcript, ui.history, ui.doc, ui.dept, ui.gen]
        running = []
        for trigger in (ui.question.submit, ui.send.click):
            shown = trigger(lambda: gr.update(visible=True), None, ui.stop)
            answer = shown.then(self.chat, ins, outs, concurrency_limit=16, show_progress="minimal")
            answer.then(lambda: gr.update(visible=False), None, ui.stop)
            running.append(answer)
        stopping = ui.stop.click(None, None, None, cancels=running)  # first cancel, then say so: no late draft count
        stopping.then(self.stopped, ui.transcript, [ui.chatbot, ui.transcript, ui.cards]).then(
            lambda: gr.update(visible=False), None, ui.stop)
        reset = (lambda: ([], "", "", [], []), None, [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history])
        ui.clear.click(*reset)
        ui.chatbot.clear(*reset)  # the chat's own bin icon forgets the history too
        ui.unit.change(self.department_view, ui.unit, ui.unit_html)
        ui.go.click(self.match, [ui.kinds, ui.needs, ui.place], ui.match_html)
        ui.pickers = [ui.table, ui.doc, ui.dept, ui.unit, ui.place, ui.tree_doc, ui.manage]
        self._wire_library(gr, ui)
