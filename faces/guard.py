"""Who may change the corpus (upload, edit, delete), and an ASGI body reader that stops at a size limit.

With `admin_token` set, changes need it (API: Bearer header, UI: the 管理口令 box); without one they are
allowed only when the app listens on a loopback address, and then only for same-machine, same-origin
requests (a web page elsewhere cannot drive them, nor can a DNS-rebinding name).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import TYPE_CHECKING, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from pydantic import SecretStr

from policyqa.errors import AuthError, ChangesDisabledError, UploadTooLargeError

if TYPE_CHECKING:
    from starlette.requests import Request


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses that only this machine can reach."""
    name = (host or "").strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class ChangeGuard:
    """Who may upload and delete: with an admin token, whoever presents it; without one, only a loopback-bound app."""

    def __init__(self, admin_token: SecretStr | str = "", host: str = "127.0.0.1") -> None:
        token = admin_token.get_secret_value() if isinstance(admin_token, SecretStr) else admin_token
        self._digest = hashlib.sha256(token.encode()).digest() if token else b""  # the token itself is not kept
        self.host = host

    @property
    def needs_token(self) -> bool:
        """An admin token is configured and must be presented."""
        return bool(self._digest)

    @property
    def enabled(self) -> bool:
        """Changes are possible at all (a token is set, or the app listens on loopback only)."""
        return self.needs_token or is_loopback(self.host)

    def check(self, token: str | None, headers: Mapping[str, str] | None = None) -> None:
        """Return if a change may go ahead with `token`; else AuthError (401) or ChangesDisabledError (403).

        Without a token, the request's `headers` (when given) must also come from this machine and origin:
        a page on another site, a DNS-rebinding name, or a proxy passing the public Host is refused.
        """
        if self.needs_token:
            if not hmac.compare_digest(hashlib.sha256((token or "").encode()).digest(), self._digest):
                raise AuthError("admin token missing or wrong",
                                hint="send Authorization: Bearer <the server's POLICYQA_ADMIN_TOKEN>",
                                zh="管理口令缺失或不正确：API 请用请求头 Authorization: Bearer <口令>，界面请在“管理口令”框中填写；"
                                   "口令为服务器上 POLICYQA_ADMIN_TOKEN 的值")
            return  # a browser cannot send the Authorization header cross-site without a CORS preflight
        if not is_loopback(self.host):
            raise ChangesDisabledError(f"uploads and deletes are disabled: the app listens on {self.host} without an admin token",
                                       value=self.host, hint="set POLICYQA_ADMIN_TOKEN and restart",
                                       zh=self.disabled_message)
        if headers is None:
            return
        names = [urlsplit("//" + headers.get("host", "")).hostname or ""]
        names += [urlsplit(headers["origin"]).hostname or ""] if "origin" in headers else []
        if not all(is_loopback(n) for n in names):
            raise ChangesDisabledError("cross-site or non-local request refused",
                                       hint="set POLICYQA_ADMIN_TOKEN to manage the corpus from elsewhere",
                                       zh="上传、修改和删除文档只接受本机地址（127.0.0.1 / localhost）上的同源请求；"
                                          "如需从其他地址或页面管理，请设置 POLICYQA_ADMIN_TOKEN")

    @property
    def disabled_message(self) -> str:
        """Why changes are off when the app listens beyond localhost without a token, and what to do."""
        return (f"上传、修改和删除文档已停用：服务监听在 {self.host}（本机以外也能访问）且未设置管理口令；请设置环境变量 "
                "POLICYQA_ADMIN_TOKEN 后重启")

    def check_request(self, request: Request) -> None:
        """`check` for an HTTP request: the Bearer token and the request's headers."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        self.check(value.strip() if scheme.lower() == "bearer" else "", request.headers)

    def describe(self) -> str:
        """One line for the start-up log saying whether uploads and deletes are protected (never the token)."""
        where = "this machine only" if is_loopback(self.host) else "beyond this machine"
        if self.needs_token:
            return f"listening on {self.host} ({where}): uploads and deletes require the admin token (POLICYQA_ADMIN_TOKEN)"
        if is_loopback(self.host):
            return f"listening on {self.host} ({where}): uploads and deletes are open to same-machine requests without a token"
        return (f"listening on {self.host} ({where}) without POLICYQA_ADMIN_TOKEN: uploads and deletes are DISABLED; "
                "set POLICYQA_ADMIN_TOKEN to enable them")


def capped_receive(receive: Callable[[], Awaitable[dict]], limit: int,
                   error: UploadTooLargeError) -> Callable[[], Awaitable[dict]]:
    """An ASGI receive that raises `error` once more than `limit` body bytes arrive."""
    seen = 0

    async def inner() -> dict:
        nonlocal seen
        event = await receive()
        seen += len(event.get("body", b""))
        if seen > limit:
            raise error
        return event
    return inner
