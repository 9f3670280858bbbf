"""The 政策计算器 and 部门职责 tabs of the web UI: a profile form and its items table; a unit (in its place)
with its task-division table, CSV/XLSX downloads and a print view.

Handlers are plain methods returning HTML (testable without a browser); `calculator_tab` and
`duties_tab` lay the components out inside the caller's gr.Blocks. Every text from a document or a
user goes through `esc`; every failure becomes a short Chinese notice.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from faces.webui import card, esc, friendly, highlight, notice

if TYPE_CHECKING:
    import gradio as gr

    from qa.match import ItemMatch, MatchResult
    from qa.service import Service

_GROUPS = (("eligible", "符合", "已满足的条件"), ("possible", "可能符合（待确认）", "待确认的条件"),
           ("ineligible", "不符合", "未满足的条件"))


def amount_text(amount) -> str:
    """An amount as shown: "最高 20 万元（按 0.5%）", "每件 500 元", "未写明金额"."""
    if amount.value is None:
        return "未写明金额"
    if amount.unit == "%" and amount.ratio is None:
        return f"{amount.value:g}%（{amount.text}）" if amount.text else f"{amount.value:g}%"
    text = ("最高 " if amount.max else "") + (amount.per or "") + f"{amount.value:g} {amount.unit}"
    return text + (f"（按 {amount.ratio:g}%）" if amount.ratio is not None else "")


def _row(m: ItemMatch, key: str, titles: dict) -> str:
    i, row = m.item, m.to_json()
    conditions = "".join(f"<li>{esc(c)}</li>" for c in row[key]) or "<li>—</li>"
    source = (f"《{esc(titles.get(i.doc_id, i.doc_id))}》<br><small>{esc(i.clause_id.split('#', 1)[-1])}</small>"
              f"<details><summary>原文</summary><div class='pq-text'>{esc(i.quote)}</div></details>")
    return (f"<tr><td><b>{esc(i.name)}</b><br><small>{esc(i.form)}</small></td><td>{esc(amount_text(i.amount))}</td>"
            f"<td><ul>{conditions}</ul></td><td>{esc(i.department or '—')}</td><td>{source}</td></tr>")


def result_html(result: MatchResult, titles: dict) -> str:
    """The three lists as tables, with the total of the eligible money amounts."""
    parts = [f"<h3>符合 {len(result.eligible)} 项 · 可能符合 {len(result.possible)} 项 · 不符合 {len(result.ineligible)} 项"
             f"；符合项金额上限合计 {result.total_wan:g} 万元</h3>"]
    if result.not_added:
        parts.append(f"<p class='pq-summary'>按比例或未写明金额、未计入合计：{esc('、'.join(result.not_added))}</p>")
    for key, title, column in _GROUPS:
        group = getattr(result, key)
        head = (f"<table class='pq-items' id='pq-calc-{key}'><thead><tr><th>扶持事项</th><th>金额</th><th>{column}</th>"
                "<th>受理部门</th><th>出处</th></tr></thead><tbody>")
        table = head + "".join(_row(m, {"eligible": "met", "possible": "unknown", "ineligible": "unmet"}[key], titles)
                               for m in group) + "</tbody></table>"
        opened = " open" if key != "ineligible" else ""
        parts.append(f"<details{opened}><summary><b>{title}：{len(group)} 项</b></summary>{table}</details>")
    return "".join(parts)


def _lines(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").replace("，", "\n").replace("、", "\n").splitlines() if x.strip()]


class CalculatorUI:
    """Handlers of the 政策计算器 and 部门职责 tabs over one Service."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.calc = service.calculator
        self.files = Path(tempfile.mkdtemp(prefix="policyqa-tasks-"))

    # ---- choices ---------------------------------------------------------------------------
    def place_choices(self, everything: str = "全部地区") -> list[tuple[str, str]]:
        """(place, place) for the documents' places, after an "everything" entry with value ""."""
        return [(everything, "")] + [(p, p) for p in self.calc.places()]

    def unit_choices(self, place: str | None = None) -> list[tuple[str, str]]:
        """(label with counts, "place·unit") for every unit in its place (of one place if given)."""
        return [(f"{u.label}（{n} 项）", u.label) for u, n in self.calc.units() if not place or place in u.place]

    # ---- 政策计算器 ---------------------------------------------------------------------------
    def calculate(self, region: str | None, kinds: str | None, industry: str | None, founded: float | None,
                  employees: float | None, revenue: float | None, rd_percent: float | None, facts: str | None) -> str:
        """Match the profile the form describes; the three lists as HTML."""
        from qa.match import Profile

        try:
            profile = Profile.from_json({"region": region or "", "kinds": _lines(kinds), "industry": industry or "",
                                         "founded_year": int(founded) if founded else None,
                                         "employees": int(employees) if employees else None,
                                         "revenue_wan": revenue or None,
                                         "rd_ratio": rd_percent / 100 if rd_percent else None,
                                         "facts": [x.strip() for x in (facts or "").splitlines() if x.strip()]})
            if not profile.region and not profile.kinds and not profile.facts:
                return notice("请至少填写所在地区、企业类型或一条企业情况。")
            result = self.calc.match(profile)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            return notice(friendly(exc), "error")
        if not self.calc.items():
            return notice("索引中没有扶持事项：请管理员重新构建索引（policyqa build）。")
        titles = {d.meta.doc_id: d.meta.title for d in self.service.documents()}
        return result_html(result, titles)

    def keyword_match(self, kinds: list[str] | None, needs: list[str] | None, place: str | None) -> str:
        """按主体与需求查找条款 (the keyword 政策匹配): cards with matched words marked and the clause's items."""
        try:
            result = self.service.eligibility(kinds or [], place or None, needs or [])
        except Exception as exc:  # noqa: BLE001
            return notice(friendly(exc), "error")
        if not result.items:
            return notice("没有找到同时符合所选主体和需求的条款，可减少勾选项或换一个地区再试。")
        titles = {d.meta.doc_id: d.meta.title for d in self.service.documents()}
        parts = [f"<h3>共 {len(result.items)} 条相关条款，来自 {len(result.documents)} 份文件</h3>"]
        for doc_id in result.documents:
            found = [i for i in result.items if i.clause.doc_id == doc_id]
            parts.append(f"<h4>《{esc(titles.get(doc_id, doc_id))}》 {len(found)} 条</h4>")
            for i in found:
                amounts = "".join(f"<div class='pq-item'>扶持事项：{esc(x.name)} · {esc(amount_text(x.amount))}</div>"
                                  for x in i.items)
                parts.append(card(i.clause, highlight(i.clause.text, i.terms, every=True) + amounts,
                                  badge=" · ".join(i.kinds + i.needs)))
        return "".join(parts)

    # ---- 部门职责 ------------------------------------------------------------------------------
    def duties(self, unit: str | None, place: str | None, doc: str | None) -> tuple[str, str | None, str | None]:
        """A unit's (or a place's, a document's) task table and provisions; with CSV and XLSX files."""
        from qa.tasks import to_csv, to_xlsx

        if not (unit or place or doc):
            return "<p class='pq-summary'>请选择一个责任单位，或一个地区、一份文件。</p>", None, None
        try:
            rows = self.calc.tasks(doc=doc or None, unit=unit or None, place=place or None)
            view = self.service.department(unit, place=place or None, doc=doc or None) if unit else None
        except Exception as exc:  # noqa: BLE001
            return notice(friendly(exc), "error"), None, None
        title = " · ".join(x for x in (place, unit, doc) if x)
        stem = self.files / f"任务分工表-{len(list(self.files.iterdir()))}"
        csv_path, xlsx_path = stem.with_suffix(".csv"), stem.with_suffix(".xlsx")
        csv_path.write_bytes(to_csv(rows))
        xlsx_path.write_bytes(to_xlsx(rows, title=title))
        query = urlencode({k: v for k, v in (("unit", unit), ("place", place), ("doc", doc)) if v})
        head = (f"<h3>{esc(title)}：共 {view.total if view else len(rows)} 项"
                + (f"（牵头 {view.lead} 项，配合 {view.cooperating} 项），涉及 {len(view.groups)} 份文件" if view else "")
                + f"</h3><p><a href='/tasks/print?{esc(query)}' target='_blank' id='pq-print'>打印视图</a></p>")
        return head + tasks_html(rows) + (provisions_html(view) if view else ""), str(csv_path), str(xlsx_path)


def tasks_html(rows) -> str:
    """The task-division table as HTML."""
    from qa.tasks import HEADERS

    head = "".join(f"<th>{h}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r.cells()) + "</tr>" for r in rows)
    return f"<table class='pq-items' id='pq-tasks'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def provisions_html(view) -> str:
    """The unit's provisions as clause cards, by document (the department view)."""
    badges = {"lead": "牵头", "cooperating": "配合", "shared": "参与"}
    parts = ["<details><summary>条款原文</summary>"]
    for _, title, items in view.groups:
        parts.append(f"<h4>《{esc(title)}》 {len(items)} 项</h4>")
        parts += [card(c, esc(c.text), badge=badges[view.role(c)]) for c in items]
    return "".join(parts) + "</details>"


class CalculatorTabs(CalculatorUI):
    """The two tabs' layout and wiring (inside the caller's gr.Blocks)."""

    def calculator_tab(self, doc_choices) -> gr.Dropdown:
        """政策计算器: the profile form and its items table, then the keyword search of clauses; returns
        the keyword search's place picker (refreshed after uploads)."""
        import gradio as gr

        kind_options, need_options = self.service.eligibility_options()

        gr.Markdown("填写企业情况，计算可申请的扶持事项：金额上限、已满足与待确认的条件、受理部门，每项附原文出处。")
        with gr.Row():
            region = gr.Dropdown([p for _, p in self.place_choices()][1:], value=None, allow_custom_value=True,
                                 label="所在地区（如：某省某市某区）", elem_id="pq-calc-region")
            kinds = gr.Textbox(label="企业类型 / 资质（逗号或换行分隔）", lines=2, elem_id="pq-calc-kinds",
                               placeholder="如：国家高新技术企业，规模以上工业企业")
            industry = gr.Textbox(label="行业", elem_id="pq-calc-industry")
        with gr.Row():
            founded = gr.Number(label="成立年份", precision=0, value=None, elem_id="pq-calc-founded")
            employees = gr.Number(label="职工人数", precision=0, value=None, elem_id="pq-calc-employees")
            revenue = gr.Number(label="营业收入（万元）", value=None, elem_id="pq-calc-revenue")
            rd = gr.Number(label="研发投入占营业收入（%）", value=None, elem_id="pq-calc-rd")
        facts = gr.Textbox(label="企业情况（每行一条，写明年份：如 2024年首次认定为国家高新技术企业）", lines=5,
                           elem_id="pq-calc-facts")
        go = gr.Button("计算可享受的政策", variant="primary", elem_id="pq-calc-go")
        result = gr.HTML(elem_id="pq-calc-result")
        go.click(self.calculate, [region, kinds, industry, founded, employees, revenue, rd, facts], result)
        with gr.Accordion("按主体类型与需求查找条款", open=False, elem_id="pq-keyword"):
            kind_box = gr.CheckboxGroup(kind_options, label="主体类型", elem_id="pq-kinds")
            needs = gr.CheckboxGroup(need_options, label="需求", elem_id="pq-needs")
            place = gr.Dropdown(doc_choices("全部地区"), value="", label="地区 / 文件")
            search = gr.Button("匹配政策", elem_id="pq-go")
            found = gr.HTML(elem_id="pq-match")
        search.click(self.keyword_match, [kind_box, needs, place], found)
        return place

    def duties_tab(self, doc_choices) -> tuple:
        """部门职责: place, document and unit pickers, the task table with downloads and print view, and the
        provisions; returns (unit, place, document) pickers (refreshed after uploads)."""
        import gradio as gr

        with gr.Row():
            place = gr.Dropdown(self.place_choices(), value="", label="地区", elem_id="pq-duty-place")
            doc = gr.Dropdown(doc_choices("全部文件"), value="", label="文件", elem_id="pq-duty-doc")
            unit = gr.Dropdown(self.unit_choices(), value=None, label="责任单位（同名单位按地区区分）", elem_id="pq-unit")
        with gr.Row():
            csv = gr.DownloadButton("下载 CSV", elem_id="pq-csv")
            xlsx = gr.DownloadButton("下载 XLSX", elem_id="pq-xlsx")
        view = gr.HTML(elem_id="pq-unit-view")
        place.change(lambda p: gr.update(choices=self.unit_choices(p), value=None), place, unit)
        for trigger in (unit.change, place.change, doc.change):
            trigger(self.duties, [unit, place, doc], [view, csv, xlsx])
        return unit, place, doc
