"""任务分工表 on the seed documents: units in their places, rows equal to the department view, deadlines,
and the downloads (the XLSX opens with openpyxl and holds the same rows)."""

from __future__ import annotations

import io

import pytest

from ingest.deadlines import deadline
from qa.tasks import HEADERS, task_table, to_csv, to_xlsx, units


@pytest.fixture(scope="module")
def seeds(seed_corpus):
    return seed_corpus.clauses, {d.meta.doc_id: d.meta for d in seed_corpus.documents}


@pytest.mark.parametrize("text, expected", [
    ("加快建设公共平台。(市科技局牵头，2025年底前完成)", "2025年底前"),
    ("(牵头单位：市发改委；完成时限：持续推进)", "持续推进"),
    ("推动系统上线，6月底前完成招标", "6月底前"),
    ("到2020年，省级以上企业技术中心达到30家", "2020年"),
    ("力争每年引进高层次人才10名", "每年"),
    ("本办法自2023年9月8日起施行", ""),       # a date that is no deadline
    ("引导企业研发经费投入持续增长", ""),      # 持续 alone is no deadline
])
def test_deadlines_as_written(text, expected):
    assert deadline(text) == expected


def test_a_unit_belongs_to_its_place(seeds):
    clauses, docs = seeds
    science = [(u, n) for u, n in units(clauses, docs) if u.name == "市科技局"]
    assert len(science) >= 3 and len({u.place for u, _ in science}) == len(science)
    merged = len(task_table(clauses, docs, unit="市科技局"))
    assert merged == sum(n for _, n in science)  # together they are the old merged count
    for unit, n in science:
        rows = task_table(clauses, docs, unit=unit.label)
        assert len(rows) == n and {r.place for r in rows} == {unit.place}


def test_rows_equal_the_department_view_of_the_unit_in_its_place(seeds):
    from qa.views import department_view

    clauses, docs = seeds
    unit, _ = next((u, n) for u, n in units(clauses, docs) if u.name == "市科技局")
    rows = task_table(clauses, docs, unit=unit.name, place=unit.place)
    in_place = [c for c in clauses if docs[c.doc_id].region == unit.place]
    view = department_view(in_place, {d: m.title for d, m in docs.items()}, unit.name)
    assert [r.clause_id for r in rows] == [c.id for _, _, items in view.groups for c in items]
    assert all(r.lead or r.cooperating for r in rows)


def test_xlsx_opens_with_openpyxl_and_holds_the_rows(seeds):
    from openpyxl import load_workbook

    clauses, docs = seeds
    rows = task_table(clauses, docs, place=next(iter(docs.values())).region)
    sheet = load_workbook(io.BytesIO(to_xlsx(rows, title="测试"))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1] == HEADERS
    assert [list(v) for v in values[2:]] == [[c if c != "" else None for c in r.cells()] for r in rows]
    csv_text = to_csv(rows).decode("utf-8")
    assert csv_text.startswith("\ufeff序号,任务") and csv_text.count("\n") == len(rows) + 1


def test_unknown_unit_is_not_found(seeds):
    from policyqa.errors import NotFoundError

    clauses, docs = seeds
    with pytest.raises(NotFoundError):
        task_table(clauses, docs, unit="火星局")
