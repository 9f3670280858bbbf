"""The 文档库 tab of the web UI: the document table, a document's outline, upload, metadata corrections
and removal (asked for confirmation first), each message shown beside the control that caused it.

`LibraryTab` is a mixin of faces/webui.py's WebUI (it needs `self.service` and `self.guard`); its
handlers are plain methods, testable without a browser; `_library_tab` lays the tab out and
`_wire_library` connects it. Changes go through the guard (faces/guard.py) like the API's.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Mapping

from faces.render import esc, notice, problem

if TYPE_CHECKING:
    from faces.guard import ChangeGuard
    from qa.changes import CorpusChange
    from qa.service import Service
    from qa.views import TreeNode

HEADERS = ["标题", "地区", "日期", "发文机关", "条款数", "文件", "格式", "与之重复", "编号"]
WIDTHS = ["24%", "10%", "9%", "12%", "6%", "14%", "6%", "9%", "10%"]  # all columns in view on a wide screen


class LibraryTab:
    """文档库: table, outline, upload, corrections, removal."""

    service: Service
    guard: ChangeGuard

    def table(self) -> list[list]:
        """One row per document: title, region, date, issuer, clauses, file, format, the file it repeats, id."""
        return [[d.meta.title, d.meta.region, d.meta.date, d.meta.issuer, d.clauses, d.meta.source, d.format,
                 d.meta.duplicate_of, d.meta.doc_id] for d in self.service.documents()]

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
            return f"<details><summary>{esc(n.title)}</summary>{body}{inner}</details>"
        return (f"<div class='pq-tree'><h4>《{esc(info.meta.title)}》 {info.clauses} 条</h4>"
                + "".join(node(n) for n in info.tree) + "</div>")

    def upload_named(self, name: str, content: bytes, progress: Callable[..., object] | None = None,
                     token: str = "", headers: Mapping[str, str] | None = None) -> str:
        """Add one file to the corpus (if `token` and `headers` pass the guard); returns a status notice (HTML)."""
        def tick(done: int, total: int) -> None:
            if progress is not None:
                progress(done / max(total, 1), desc=f"正在处理新条款 {done}/{total}")
        try:
            self.guard.check(token, headers)
            change = self.service.upload(name, content, progress=tick)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the app keeps serving
            return problem(exc)
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
            return problem(exc)
        if progress is not None:
            progress(0.0, desc="正在校验文件…")
        return self.upload_named(file.name, file.read_bytes(), progress, token, headers)

    def fields(self, doc_id: str | None) -> tuple[str, str, str, str]:
        """The title, date, issuer and region of a document, to fill the correction form."""
        info = next((d for d in self.service.documents() if d.meta.doc_id == doc_id), None) if doc_id else None
        return ("", "", "", "") if info is None else (info.meta.title, info.meta.date, info.meta.issuer, info.meta.region)

    def edit(self, doc_id: str | None, title: str, date: str, issuer: str, region: str,
             progress: Callable[..., object] | None = None, token: str = "",
             headers: Mapping[str, str] | None = None) -> str:
        """Correct a document's title, date, issuer and region (if the guard lets it); returns a notice (HTML)."""
        fields = {"title": title, "date": date, "issuer": issuer, "region": region}
        return self._change(doc_id, "修改", "正在保存并更新索引…", progress, token, headers,
                            lambda: self.service.edit(doc_id, fields))

    def confirm_text(self, doc_id: str | None) -> str:
        """The question asked before a removal (HTML), or a notice that nothing is selected."""
        if not doc_id:
            return notice("请先选择要删除的文档。")
        title = next((d.meta.title for d in self.service.documents() if d.meta.doc_id == doc_id), doc_id)
        return notice(f"确定要删除《{title}》吗？文件会从文档库移除，索引随之更新，此操作不能撤销。", "error")

    def remove(self, doc_id: str | None, progress: Callable[..., object] | None = None, token: str = "",
               headers: Mapping[str, str] | None = None) -> str:
        """Delete a document from the corpus and the index (if the guard lets it); returns a notice (HTML)."""
        return self._change(doc_id, "删除", "正在删除并更新索引…", progress, token, headers,
                            lambda: self.service.remove(doc_id))

    def _change(self, doc_id: str | None, verb: str, doing: str, progress: Callable[..., object] | None, token: str,
                headers: Mapping[str, str] | None, run: Callable[[], CorpusChange]) -> str:
        """Run one change on a chosen document behind the guard; its message, or the error, as a notice."""
        if not doc_id:
            return notice(f"请先选择要{verb}的文档。")
        if progress is not None:
            progress(0.0, desc=doing)
        try:
            self.guard.check(token, headers)
            change = run()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; the app keeps serving
            return problem(exc)
        return notice(change.message, "info" if change.action == "unchanged" else "ok")

    # ---- layout ----------------------------------------------------------------------------
    def _library_tab(self, gr, ui: SimpleNamespace, max_file_mb: float) -> None:
        from ingest.loaders import SUPPORTED

        ui.table = gr.Dataframe(self.table(), headers=HEADERS, interactive=False, wrap=True, elem_id="pq-doc-table",
                                max_height=420, column_widths=WIDTHS)
        ui.tree_doc = gr.Dropdown(self.doc_choices(), value=None, label="查看条款结构", elem_id="pq-tree-doc")
        ui.tree_html = gr.HTML(elem_id="pq-tree")
        if not self.guard.enabled:
            gr.HTML(notice(self.guard.disabled_message, "error"))
        ui.token = gr.Textbox(label="管理口令（上传、修改、删除时需要）", type="password", max_lines=1,
                              visible=self.guard.needs_token, elem_id="pq-token")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=300):
                ui.file = gr.File(label=f"上传文档（{' '.join(SUPPORTED)}，不超过 {max_file_mb:g} MB）",
                                  type="filepath", elem_id="pq-file")
                ui.upload = gr.Button("上传并更新索引", variant="primary", elem_id="pq-upload",
                                      interactive=self.guard.enabled)
                ui.status = gr.HTML(elem_id="pq-upload-status")
            with gr.Column(min_width=300):
                ui.manage = gr.Dropdown(self.doc_choices(), value=None, label="修改或删除文档", elem_id="pq-manage-doc")
                ui.meta = [gr.Textbox(label=label, max_lines=1, elem_id=f"pq-meta-{name}")
                           for name, label in (("title", "标题"), ("date", "日期（如 2024-05-20）"),
                                               ("issuer", "发文机关"), ("region", "地区"))]
                with gr.Row():
                    ui.save = gr.Button("保存修改", variant="primary", elem_id="pq-save-meta", interactive=self.guard.enabled)
                    ui.remove = gr.Button("删除文档…", variant="stop", elem_id="pq-remove", interactive=self.guard.enabled)
                with gr.Group(visible=False) as ui.confirm:
                    ui.confirm_html = gr.HTML(elem_id="pq-confirm-text")
                    with gr.Row():
                        ui.remove_yes = gr.Button("确认删除", variant="stop", elem_id="pq-remove-confirm")
                        ui.remove_no = gr.Button("取消", elem_id="pq-remove-cancel")
                ui.manage_status = gr.HTML(elem_id="pq-manage-status")

    def _wire_library(self, gr, ui: SimpleNamespace) -> None:
        ui.tree_doc.change(self.tree, ui.tree_doc, ui.tree_html)
        ui.manage.change(self.fields, ui.manage, ui.meta)

        def on_upload(path: str | None, secret: str, request: gr.Request,
                      progress: gr.Progress = gr.Progress()) -> tuple[str, None]:
            return self.upload(path, progress, secret, request.headers), None  # clear the picker for the next file

        def on_edit(doc_id: str | None, title: str, date: str, issuer: str, region: str, secret: str,
                    request: gr.Request, progress: gr.Progress = gr.Progress()) -> str:
            return self.edit(doc_id, title, date, issuer, region, progress, secret, request.headers)

        def on_remove(doc_id: str | None, secret: str, request: gr.Request,
                      progress: gr.Progress = gr.Progress()) -> tuple[str, dict]:
            return self.remove(doc_id, progress, secret, request.headers), gr.update(visible=False)

        for handler in (on_upload, on_edit, on_remove):
            # Gradio finds gr.Request by type hint; ours are strings naming the lazily imported gr, which
            # typing.get_type_hints cannot resolve, so give it the class itself.
            handler.__annotations__ = {"request": gr.Request}

        ui.upload.click(on_upload, [ui.file, ui.token], [ui.status, ui.file]).then(self.refresh, None, ui.pickers)
        ui.save.click(on_edit, [ui.manage, *ui.meta, ui.token], ui.manage_status).then(self.refresh, None, ui.pickers)
        ui.remove.click(lambda d: (self.confirm_text(d), gr.update(visible=True), "") if d else
                        ("", gr.update(visible=False), notice("请先选择要删除的文档。")), ui.manage,
                        [ui.confirm_html, ui.confirm, ui.manage_status])
        ui.remove_no.click(lambda: ("", gr.update(visible=False)), None, [ui.manage_status, ui.confirm])
        ui.remove_yes.click(on_remove, [ui.manage, ui.token], [ui.manage_status, ui.confirm]).then(
            self.refresh, None, ui.pickers).then(lambda: gr.update(value=None), None, ui.manage)
