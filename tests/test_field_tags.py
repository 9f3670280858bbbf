"""Responsibility tags on the real field documents (../shared/field/*/docs), as their expected.md says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.corpus import load_corpus
from ingest.departments import unit_counts
from faces.cli import main

FIELD = Path(__file__).resolve().parents[2] / "shared" / "field"


def _case(name: str):
    folder = FIELD / name / "docs"
    if not folder.is_dir():
        pytest.skip(f"field case not found at {folder} (the shared field cases sit next to the repository)")
    return folder, load_corpus(folder)


def _by_file(loaded, stem: str) -> dict[str, object]:
    """The clauses of the one document whose file name contains `stem`, keyed by their own path id."""
    (doc,) = [d for d in loaded.documents if stem in d.meta.source]
    return {c.id.split("#", 1)[1]: c for c in loaded.clauses if c.doc_id == doc.meta.doc_id}


# tag-lead-cooperate/expected.md: (file, clause, lead, departments, cooperating)
LEAD_COOPERATE = [
    ("杭州", "二.(一).1", ("市科委",), ("市科委", "各区县市"), ("各区县市",)),
    ("杭州", "二.(一).2", ("市发改委",), ("市发改委", "各区县市"), ("各区县市",)),
    ("官渡", "一.1", ("区政务服务局",), ("区政务服务局", "区发改局", "区审改办", "区住建局", "区级相关部门"),
     ("区发改局", "区审改办", "区住建局", "区级相关部门")),
    ("官渡", "一.2", ("区国土分局",), ("区国土分局", "区规划分局", "区级相关部门"), ("区规划分局", "区级相关部门")),
    ("官渡", "一.3", ("区环保局",), ("区环保局", "区水务局", "区级相关部门"), ("区水务局", "区级相关部门")),
    ("西宁", "二.(一).1", ("市商务局",), ("市商务局", "市编办", "市发改委", "市法制办", "各区县政府"), ()),
    ("婺城", "一", ("区科技局",), ("区科技局",), ()),
    ("婺城", "一.(一)", ("区科技局",), ("区科技局",), ()),  # the heading's tag covers its item
]


@pytest.mark.parametrize(("stem", "clause_id", "lead", "departments", "cooperating"), LEAD_COOPERATE)
def test_tag_lead_cooperate(stem, clause_id, lead, departments, cooperating):
    _, loaded = _case("tag-lead-cooperate")
    clause = _by_file(loaded, stem)[clause_id]
    assert (clause.lead, clause.departments, clause.cooperating) == (lead, departments, cooperating)


def test_tag_lead_cooperate_every_unit_listed_with_its_role(capsys):
    folder, loaded = _case("tag-lead-cooperate")
    assert main(["departments", "--corpus", str(folder), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["区科技局"] == {"name": "区科技局", "lead": 2, "cooperating": 0, "total": 2}
    assert rows["各区县市"] == {"name": "各区县市", "lead": 0, "cooperating": 2, "total": 2}
    assert rows["区级相关部门"]["cooperating"] == rows["区级相关部门"]["total"] == 3
    assert rows["市编办"] == {"name": "市编办", "lead": 0, "cooperating": 0, "total": 1}
    assert len(rows) == len(unit_counts(loaded.clauses)) == 17


def test_tag_lead_cooperate_no_tag_outside_the_tagged_clauses():
    _, loaded = _case("tag-lead-cooperate")
    tagged = {(stem, cid) for stem, cid, *_ in LEAD_COOPERATE}
    for stem in ("杭州", "官渡", "西宁", "婺城"):
        for cid, clause in _by_file(loaded, stem).items():
            if (stem, cid) not in tagged:
                assert clause.departments == (), (stem, cid)


def test_parenthetical_false_unit_has_no_tags(capsys):
    folder, loaded = _case("parenthetical-false-unit")
    assert loaded.clauses and all(c.departments == () and c.tags == () for c in loaded.clauses)
    assert main(["departments", "--corpus", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("case", ["annex-table-last-article", "article-number-lookup", "docx-auto-numbering",
                                  "gov-html-chrome", "pdf-text-dump"])
def test_field_documents_without_tags_get_none(case):
    _, loaded = _case(case)
    assert [(c.id, c.departments) for c in loaded.clauses if c.departments] == []


@pytest.mark.parametrize("case", sorted(p.name for p in FIELD.iterdir() if p.is_dir()) if FIELD.is_dir() else ["(absent)"])
def test_roles_consistent_on_every_field_document(case):
    _, loaded = _case(case)
    for c in loaded.clauses:
        assert set(c.lead) <= set(c.departments) and set(c.cooperating) <= set(c.departments), c.id
        assert not set(c.lead) & set(c.cooperating), c.id
        assert all(raw in c.text for raw in c.tags), c.id


def test_one_unit_view_names_its_role(capsys):
    folder, _ = _case("tag-lead-cooperate")
    assert main(["departments", "区级相关部门", "--corpus", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["total"], out["lead"], out["cooperating"]) == (3, 0, 3)
    assert {c["role"] for d in out["documents"] for c in d["clauses"]} == {"cooperating"}
    assert main(["departments", "市商务局", "--corpus", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "市商务局: 1 项 (牵头 1, 配合 0)" in text and "[牵头]" in text
