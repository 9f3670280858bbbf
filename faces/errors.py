"""How each face words an error (policyqa/errors.py gives the fields): one English line for the CLI,
JSON with an HTTP status for the API, a Chinese sentence for the UI. The same error gets the same
status on every API path (a missing document or unit is 404 wherever it is named)."""

from __future__ import annotations

import logging

from policyqa.errors import (
    AmbiguousError, AuthError, BusyError, ChangesDisabledError, EngineError, GeneratorError, IndexFolderError,
    IngestError, ModelMissingError, NotFoundError, PolicyQAError, UploadTooLargeError,
)

log = logging.getLogger("policyqa.ui")

STATUS = ((BusyError, 503), (NotFoundError, 404), (ChangesDisabledError, 403), (AuthError, 401),
          (UploadTooLargeError, 413), (IndexFolderError, 503), (EngineError, 503), (AmbiguousError, 409))  # first match wins; else 400
INTERNAL_ERROR_ZH = "服务内部错误，请稍后重试；详情见服务器日志"
INTERNAL_ERROR = "internal error; see the server log"


def status_of(exc: PolicyQAError) -> int:
    """The HTTP status of a domain error."""
    return next((code for kind, code in STATUS if isinstance(exc, kind)), 400)


def cli_line(exc: PolicyQAError) -> str:
    """`Error: <English message>; <hint>` for the terminal."""
    return f"Error: {exc}"


def ui_text(exc: BaseException) -> str:
    """The Chinese sentence a UI reader sees, with no English in it. Errors without a Chinese wording
    (operator faults such as a missing model file) get a Chinese sentence by kind; the English stays
    for `ui_detail` (the 详情 toggle). Unexpected errors are logged with their traceback and shown as a
    generic apology."""
    if isinstance(exc, PolicyQAError) and exc.zh:
        return exc.zh
    if isinstance(exc, IngestError):
        return "文件无法读取：格式损坏或内容无法识别，请检查后重新上传"
    if isinstance(exc, ModelMissingError):
        return "模型文件缺失，请联系管理员安装模型（make setup）"
    if isinstance(exc, GeneratorError):
        return "生成模型暂时不可用，请改用“原文摘录”或稍后重试"
    if isinstance(exc, PolicyQAError):
        return "无法完成请求，请检查输入后重试；如仍失败请联系管理员"
    log.exception("unhandled error in the UI", exc_info=exc)
    return INTERNAL_ERROR_ZH


def ui_detail(exc: BaseException) -> str:
    """The technical line behind the UI's 详情 toggle (English; never for unexpected errors, whose cause
    stays in the server log)."""
    return str(exc) if isinstance(exc, PolicyQAError) else ""


def api_body(exc: PolicyQAError) -> dict:
    """The JSON body of an API error: `error` is what to show a person (Chinese when there is a Chinese
    wording), the other fields are for programs: kind, message, value, hint, zh."""
    return {"error": exc.zh or str(exc), **exc.fields()}


def internal_body() -> dict:
    """The JSON body of an unexpected error (the cause goes to the log, never to the client)."""
    return {"error": INTERNAL_ERROR_ZH, "kind": "InternalError", "message": INTERNAL_ERROR, "value": None,
            "hint": "", "zh": INTERNAL_ERROR_ZH}
