"""The API documentation pages (/docs: Swagger UI, /redoc: ReDoc) served with their scripts and styles
from the app itself, so they work with no network: an intranet deployment cannot reach a CDN, and
FastAPI's default pages load from one.

The assets come from the pinned PyPI package `fastapi-offline` (its `static/` folder: swagger-ui-bundle.js,
swagger-ui.css, redoc.standalone.js, favicon.png); only the files are used, mounted at /api-docs-assets.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/api-docs-assets"


def assets_dir() -> Path:
    """The folder of the packaged Swagger UI and ReDoc files."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def add_offline_docs(api: FastAPI) -> None:
    """/docs and /redoc on `api` (created with docs_url=None, redoc_url=None), assets served locally."""
    api.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="api-docs-assets")
    redirect = "/docs/oauth2-redirect"

    @api.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{api.openapi_url}", title=f"{api.title} · 接口文档",
                                   oauth2_redirect_url=f"{root}{redirect}",
                                   swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png")

    @api.get(redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{api.openapi_url}", title=f"{api.title} · 接口文档",
                              redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png", with_google_fonts=False)
