"""The Gradio UI (问答 · 政策计算器 · 部门职责 · 文档库) over one policyqa Service: the handlers (plain methods,
testable without a browser) and the Blocks that wire them. The HTML they show is built in
faces/render.py, the 文档库 tab in faces/library.py, the 政策计算器 and 部门职责 tabs in faces/webui_calc.py.

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
                 generators: Sequence[str] = ("extractive", "llama", "openai"), calculator=None) -> None:
        self.service = service
        self.generators = [g for g in GENERATOR_LABELS if g in generators or g == "extractive"]
        self.default_generator = default_generator if default_generator in self.generators else "extractive"
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

    def refresh(self) -> tuple:
        """Fresh choices for every document and unit picker, and the document table."""
        import gradio as gr

        docs, calc = self.doc_choices(), self.calculator
        units = gr.update(choices=calc.unit_choices()) if calc else gr.update()
        places = gr.update(choices=calc.place_choices()) if calc else gr.update()
        return (self.table(), gr.update(choices=self.doc_choices("全部文档")), gr.update(choices=self.unit_choices("不限部门")),
                units, gr.update(choices=self.doc_choices("全部地区")), gr.update(choices=docs),
                gr.update(choices=docs), places, gr.update(choices=self.doc_choices("全部文件")))

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
                                         placeholder="例如：这项补贴的标准是多少？由哪个部门牵头？", elem_id="pq-question")
                with gr.Row():
                    ui.send = gr.Button("发送", variant="primary", elem_id="pq-send")
                    ui.stop = gr.Button("停止", variant="stop", visible=False, elem_id="pq-stop")
                    ui.clear = gr.Button("清空对话", elem_id="pq-clear")
            with gr.Column(scale=2, min_width=320):
                ui.cards = gr.HTML("<p class='pq-summary'>提问后，这里显示回答所依据的条款原文。</p>", elem_id="pq-cards")
                ui.export = gr.Textbox(label="导出为 Markdown 文本（最近一个回答）", lines=4, max_lines=12,
                                       buttons=["copy"], interactive=False, elem_id="pq-export")

    def _wire(self, gr, ui: SimpleNamespace) -> None:
        outs = [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history, ui.question]
        ins = [ui.question, ui.transcript, ui.history, ui.doc, ui.dept, ui.gen]
        running = []
        quiet = {"show_progress": "hidden"}  # the bubble says what is happening; Gradio's tracker is English
        for trigger in (ui.question.submit, ui.send.click):
            shown = trigger(lambda: gr.update(visible=True), None, ui.stop, **quiet)
            answer = shown.then(self.chat, ins, outs, concurrency_limit=16, **quiet)
            answer.then(lambda: gr.update(visible=False), None, ui.stop, **quiet)
            running.append(answer)
        stopping = ui.stop.click(None, None, None, cancels=running)  # first cancel, then say so: no late draft count
        stopping.then(self.stopped, ui.transcript, [ui.chatbot, ui.transcript, ui.cards], **quiet).then(
            lambda: gr.update(visible=False), None, ui.stop, **quiet)
        reset = (lambda: ([], "", "", [], []), None, [ui.chatbot, ui.cards, ui.export, ui.transcript, ui.history])
        ui.clear.click(*reset)
        ui.chatbot.clear(*reset)  # the chat's own bin icon forgets the history too
        pickers = [ui.table, ui.doc, ui.dept, ui.unit, ui.place, ui.tree_doc, ui.manage, ui.duty_place, ui.duty_doc]
        ui.pickers = [p if p is not None else gr.State() for p in pickers]
        self._wire_library(gr, ui)
