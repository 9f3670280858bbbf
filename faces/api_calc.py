"""HTTP routes of the 政策计算器 and the 任务分工表 (same shapes as `policyqa items|match|tasks --json`).

    GET  /api/items[?doc=]                               {"items": [...]}
    POST /api/match          body: one profile object    {"eligible", "possible", "ineligible", "total"}
    GET  /api/tasks[?doc=&unit=&place=&format=json|csv|xlsx]   {"rows": [...]}, or the file to download
    GET  /api/tasks/units                                every unit in its place with its provision count
    GET  /tasks/print[?doc=&unit=&place=]                the table as a page to print (HTML)

No login: these are views. Every text that reaches the print page is escaped.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from qa.match import Profile
from qa.tasks import HEADERS, TaskRow, to_csv, to_xlsx

if TYPE_CHECKING:
    from qa.service import Service

Short = Annotated[str, Field(max_length=200)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ProfileRequest(BaseModel):
    """POST /api/match: an enterprise profile (the `profile` shape of the calculator gold set)."""

    model_config = ConfigDict(extra="forbid")
    region: Short = ""
    kinds: list[Short] = Field(default_factory=list, max_length=30)
    industry: Short = ""
    founded_year: int | None = Field(None, ge=1800, le=2100)
    employees: int | None = Field(None, ge=0)
    revenue_wan: float | None = Field(None, ge=0)
    rd_ratio: float | None = Field(None, ge=0, le=1)
    facts: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=50)


def _title(doc: str | None, unit: str | None, place: str | None) -> str:
    return " · ".join(x for x in (place, unit, doc) if x) or "全部"


def _download(body: bytes, name: str, media: str) -> Response:
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename=tasks; filename*=UTF-8''{quote(name)}"})


def print_page(rows: list[TaskRow], title: str) -> str:
    """The task table as a self-contained printable page."""
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r.cells()) + "</tr>" for r in rows)
    return ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>任务分工表 · {e(title)}</title><style>"
            "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px;color:#111}"
            "table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #555;padding:4px 6px;"
            "vertical-align:top}th{background:#eee}caption{font-size:18px;font-weight:600;margin-bottom:8px}"
            "@media print{button{display:none}body{margin:0}}</style></head><body>"
            "<button onclick='window.print()'>打印</button>"
            f"<table><caption>任务分工表（{e(title)}，共 {len(rows)} 项）</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></body></html>")


def calculator_routes(api: FastAPI, service: Service) -> None:
    """Add the routes above to `api`."""
    calc = service.calculator

    @api.get("/api/items")
    def items(doc: Short | None = None) -> dict:
        """Support items (扶持事项) of the index, of one document if `doc` is given (`policyqa items --json`)."""
        return {"items": [i.to_json() for i in calc.items(doc)]}

    @api.post("/api/match")
    def match(req: ProfileRequest) -> dict:
        """政策计算器: eligible, possible and ineligible items for a profile (`policyqa match --json`)."""
        return calc.match(Profile.from_json(req.model_dump())).to_json()

    @api.get("/api/tasks", response_model=None)
    def tasks(doc: Short | None = None, unit: Short | None = None, place: Short | None = None,
              format: Literal["json", "csv", "xlsx"] = "json") -> dict | Response:
        """任务分工表 rows (`policyqa tasks --json`), or a CSV / XLSX download."""
        rows = calc.tasks(doc=doc, unit=unit, place=place)
        name = f"任务分工表-{_title(doc, unit, place)}"
        if format == "csv":
            return _download(to_csv(rows), f"{name}.csv", "text/csv; charset=utf-8")
        if format == "xlsx":
            return _download(to_xlsx(rows, title=_title(doc, unit, place)), f"{name}.xlsx", XLSX)
        return {"rows": [r.to_json() for r in rows]}

    @api.get("/api/tasks/units")
    def task_units() -> list[dict]:
        """Every responsible unit in its place (a city's 市科技局 is not another city's) with its provision count."""
        return [{"place": u.place, "name": u.name, "label": u.label, "provisions": n} for u, n in calc.units()]

    @api.get("/tasks/print", response_class=HTMLResponse)
    def tasks_print(doc: Short | None = None, unit: Short | None = None, place: Short | None = None) -> str:
        """The task table as a page to print."""
        return print_page(calc.tasks(doc=doc, unit=unit, place=place), _title(doc, unit, place))
