"""How each face words an error (policyqa/errors.py gives the fields): one English line for the CLI,
JSON with an HTTP status for the API, a Chinese sentence for the UI. The same error gets the same
status on every API path (a missing document or unit is 404 wherever it is named)."""

from __future__ import annotations

import logging

from policyqa.errors import (
    AmbiguousError, AuthError, BusyError, ChangesDisabledError, EngineError, IndexFolderError, IngestError,
    ModelMissingError, NotFoundError, PolicyQAError, UploadTooLargeError,
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
    """The Chinese sentence a UI reader sees. Errors without a Chinese wording (operator faults such as
    a missing model file) get a Chinese sentence with the English as technical information; unexpected
    errors are logged with their traceback and shown as a generic apology."""
    if isinstance(exc, PolicyQAError) and exc.zh:
        return exc.zh
    if isinstance(exc, IngestError):
        return f"文件无法读取（技术信息：{exc.problem}）"
    if isinstance(exc, ModelMissingError):
        return f"模型文件缺失，请联系管理员运行 make setup（技术信息：{exc}）"
    if isinstance(exc, PolicyQAError):
        return f"无法完成请求（技术信息：{exc}）"
    log.exception("unhandled error in the UI", exc_info=exc)
    return "抱歉，服务内部出错，请稍后重试。"


def api_body(exc: PolicyQAError) -> dict:
    """The JSON body of an API error: `error` is what to show a person (Chinese when there is a Chinese
    wording), the other fields are for programs: kind, message, value, hint, zh."""
    return {"error": exc.zh or str(exc), **exc.fields()}


def internal_body() -> dict:
    """The JSON body of an unexpected error (the cause goes to the log, never to the client)."""
    return {"error": INTERNAL_ERROR_ZH, "kind": "InternalError", "message": INTERNAL_ERROR, "value": None,
            "hint": "", "zh": INTERNAL_ERROR_ZH}
