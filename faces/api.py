"""The HTTP API (FastAPI) over one policyqa Service, and the app that mounts the UI on it.

    POST /api/ask, /api/search, /api/eligibility; GET /api/departments[/{name}], /api/documents, /api/health
    GET  /api/items, /api/tasks[/units], /tasks/print; POST /api/match   政策计算器, 任务分工表 (faces/api_calc.py)
    POST /api/documents (multipart field `file`), DELETE /api/documents/{doc_id}   corpus changes
    GET  /openapi.json, /docs

A thin adapter: it parses input, calls `qa.service.Service`, renders the result. Nothing is loaded at
import time; `create_app(settings)` builds the Service (index and embedding model, warmed up once).
Every error reaches the API as JSON with a status code, never a traceback (faces/errors.py says how
each error is worded and which status it gets). The UI lives in faces/webui.py; who may upload and
delete (ChangeGuard) in faces/guard.py; app.py is the entry point.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Callable, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from faces.api_calc import calculator_routes
from faces.errors import api_body, internal_body, status_of
from faces.guard import ChangeGuard, capped_receive, is_loopback
from faces.webui import CSS, WebUI
from faces.webui_calc import CalculatorTabs
from policyqa.errors import BusyError, PolicyQAError, UploadError, UploadTooLargeError

if TYPE_CHECKING:
    from policyqa.settings import Settings
    from qa.service import Service

log = logging.getLogger("policyqa.app")
MAX_QUESTION = 10_000  # request-size bound; the question limit proper is settings.max_question_chars
Name = Annotated[str, Field(max_length=200)]
FORM_SLACK = 64 * 1024  # multipart boundaries and part headers on top of the file itself


# --------------------------------------------------------------------------- HTTP API


class AskRequest(BaseModel):
    """POST /api/ask."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=MAX_QUESTION)
    generator: Literal["llama", "openai", "extractive"] | None = None
    history: list[Annotated[str, Field(max_length=2000)]] = Field(default_factory=list, max_length=20)
    doc: Name | list[Name] | None = None
    department: str | None = Field(None, max_length=100)


class SearchRequest(BaseModel):
    """POST /api/search."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(max_length=MAX_QUESTION)
    k: int | None = Field(None, ge=1, le=50)
    doc: Name | list[Name] | None = None
    department: str | None = Field(None, max_length=100)


class EligibilityRequest(BaseModel):
    """POST /api/eligibility (政策匹配)."""

    model_config = ConfigDict(extra="forbid")
    kinds: list[Annotated[str, Field(max_length=20)]] = Field(default_factory=list, max_length=10)
    needs: list[Annotated[str, Field(max_length=20)]] = Field(default_factory=list, max_length=10)
    place: str | None = Field(None, max_length=100)


class GuardedRoute(APIRoute):
    """An API route whose unexpected errors become a 500 with a JSON body, logged once with the cause.

    Starlette's catch-all handler for Exception sits in its outermost middleware, which answers and then
    re-raises, so uvicorn logs the error a second time and drops the keep-alive connection (a client's
    next request on it fails with a reset). Catching here, inside the route, answers on a connection
    that stays open. Domain errors, validation errors and HTTP errors go on to their own handlers."""

    def get_route_handler(self) -> Callable:
        """The route's handler, wrapped."""
        handler = super().get_route_handler()

        async def guarded(request: Request):
            try:
                return await handler(request)
            except (PolicyQAError, RequestValidationError, HTTPException):
                raise
            except Exception:
                log.exception("unexpected error in %s %s", request.method, request.url.path)
                return JSONResponse(internal_body(), status_code=500)
        return guarded


def build_api(service: Service, guard: ChangeGuard | None = None) -> FastAPI:
    """The FastAPI app with the JSON endpoints (same shapes as the CLI's --json output). While it runs
    (its lifespan), the service's watcher switches to index versions other processes publish."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        service.watcher.start()
        try:
            yield
        finally:
            service.watcher.stop()

    api = FastAPI(title="policyqa", version="0.1.0", description="Cited answers from Chinese policy documents",
                  lifespan=lifespan)
    api.router.route_class = GuardedRoute
    _error_handlers(api)
    _read_routes(api, service)
    calculator_routes(api, service)  # items, match, tasks (faces/api_calc.py)
    _change_routes(api, service, guard or ChangeGuard())
    return api


def _error_handlers(api: FastAPI) -> None:
    """Every error as JSON with a status (faces/errors.py words them)."""

    @api.exception_handler(PolicyQAError)
    async def _domain(_: Request, exc: PolicyQAError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": "10"} if isinstance(exc, BusyError) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return JSONResponse(api_body(exc), status_code=status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = ["body: not valid JSON" if e.get("type") == "json_invalid" else
                 f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', '')}" for e in exc.errors()]
        detail = "; ".join(parts)
        return JSONResponse({"error": f"请求参数不合法：{detail}", "kind": "ValidationError",
                             "message": f"invalid request: {detail}", "value": None, "hint": "", "zh": ""},
                            status_code=422)

    @api.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail), "kind": "HTTPError", "message": str(exc.detail)},
                            status_code=exc.status_code)

    @api.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:  # errors outside the routes (middleware)
        log.error("unhandled error outside the API routes: %r", exc)
        return JSONResponse(internal_body(), status_code=500)


def _read_routes(api: FastAPI, service: Service) -> None:
    """Questions, search and the views: no login needed."""

    @api.post("/api/ask")
    def ask(req: AskRequest) -> dict:
        """Answer a question with cited clauses (`policyqa ask --json`)."""
        return service.ask(req.question, history=req.history, generator=req.generator, doc=req.doc,
                           department=req.department).to_json()

    @api.post("/api/search")
    def search(req: SearchRequest) -> dict:
        """Ranked clauses for a question (`policyqa search --json`)."""
        return service.search(req.question, req.k, doc=req.doc, department=req.department).to_json()

    @api.post("/api/eligibility")
    def eligibility(req: EligibilityRequest) -> dict:
        """Clauses for kinds of applicant and needs, optionally within one place's documents."""
        return service.eligibility(req.kinds, req.place, req.needs).to_json()

    @api.get("/api/departments")
    def departments() -> list[dict]:
        """Every responsible unit with counts (`policyqa departments --json`)."""
        return [r.to_json() for r in service.departments()]

    @api.get("/api/departments/{name}")
    def department(name: str, place: Name | None = None, doc: Name | None = None) -> dict:
        """Every provision one unit leads or shares, by document (`policyqa departments NAME --json`), within
        one place (also written "阳泉市·市科技局") and document if given."""
        return service.department(name[:100], place=place, doc=doc).to_json()

    @api.get("/api/documents")
    def documents() -> list[dict]:
        """Indexed documents: metadata, clause counts and outline."""
        return [d.to_json() for d in service.documents()]

    @api.get("/api/health")
    def health() -> dict:
        """Status, counts, embedding model and index version."""
        return service.health()


def _change_routes(api: FastAPI, service: Service, guard: ChangeGuard) -> None:
    """Upload and delete: ChangeGuard decides who may."""

    @api.post("/api/documents")
    async def add_document(request: Request) -> dict:
        """Add one document (multipart field `file`) and update the index; see ChangeGuard for who may."""
        guard.check_request(request)  # before a single body byte is read
        limit = service.max_bytes + FORM_SLACK
        too_large = UploadTooLargeError(
            "upload over the size limit", value=service.max_bytes, hint="split the file or raise POLICYQA_MAX_FILE_MB",
            zh=f"上传内容过大：文件上限为 {service.max_bytes / 2**20:.3g} MB（设置 POLICYQA_MAX_FILE_MB），请拆分后再上传")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        form = await Request(request.scope, capped_receive(request.receive, limit, too_large)).form(max_files=1, max_fields=4)
        try:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise UploadError("form field 'file' missing", hint="send multipart/form-data with a field named file",
                                  zh="请求中没有文件：请用 multipart/form-data 的 file 字段上传")
            service.check_upload(file.filename or "", file.size or 0)
            name, content = file.filename or "", await file.read()
        finally:
            await form.close()
        return (await run_in_threadpool(service.upload, name, content)).to_json()

    @api.delete("/api/documents/{doc_id}")
    def remove_document(doc_id: str, request: Request) -> dict:
        """Delete a document from the corpus and the index; see ChangeGuard for who may."""
        guard.check_request(request)
        return service.remove(doc_id[:200]).to_json()


# --------------------------------------------------------------------------- entry points


def create_app(settings: Settings, service: Service | None = None, *, ui: bool = True) -> FastAPI:
    """The FastAPI app (API, plus the UI mounted at / unless `ui=False`) over `service` or a new warmed-up one."""
    if service is None:
        from faces.wiring import build_service

        service = build_service(settings)
        service.recover()  # a change a crash interrupted is finished or undone before the index loads
        service.warm_up(generator=True)
    guard = ChangeGuard(settings.admin_token, settings.host)
    api = build_api(service, guard)
    if ui:
        import gradio as gr

        calculator = CalculatorTabs(service)  # 政策计算器 and 部门职责 (faces/webui_calc.py)
        blocks = WebUI(service, default_generator=settings.generator, guard=guard,
                       calculator=calculator).blocks(settings.max_file_mb)
        theme = gr.themes.Soft(font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "sans-serif"],
                               font_mono=["Noto Sans Mono CJK SC", "monospace"])
        api = gr.mount_gradio_app(api, blocks, path="/", css=CSS, theme=theme, footer_links=["api"],
                                  max_file_size=int(settings.max_file_mb * 2 * 1024 * 1024) + 1024 * 1024)
    return api


def serve(settings: Settings | None = None) -> None:
    """Build the app and run it with uvicorn on settings.host:settings.port (what `policyqa serve` calls)."""
    import uvicorn

    from policyqa.settings import Settings, prepare_corpus

    settings = settings or Settings()
    started = time.perf_counter()
    if prepare_corpus(settings):
        log.warning("created %s with the seed documents of %s", settings.corpus_dir, settings.seed_dir)
    app = create_app(settings)
    access = ChangeGuard(settings.admin_token, settings.host)
    (log.info if is_loopback(settings.host) else log.warning)("%s", access.describe())
    log.warning("policyqa ready in %.1f s: http://%s:%d/", time.perf_counter() - started, settings.host, settings.port)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
