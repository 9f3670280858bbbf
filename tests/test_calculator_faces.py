"""The calculator end to end on the calculator documents with the hashing embedder: items stored with the
index version, the model path's checks and budget, the CLI's JSON shapes, the API routes and downloads,
and questions answered from items through the answer chain."""

from __future__ import annotations

import io
import json
import shutil

import pytest

from conftest import ROOT, hashing_settings

CALC = ROOT / "tests" / "data" / "calculator"


class ScriptedModel:
    """The model seam of the item extractor: a fixed reply per call, calls counted."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.seen: list[str] = []

    def complete(self, text: str) -> str:
        self.seen.append(text)
        return self.reply


@pytest.fixture(scope="module")
def calc_root(tmp_path_factory):
    from index.build import build_index
    from index.embedder import HashingEmbedder

    root = tmp_path_factory.mktemp("calc")
    shutil.copytree(CALC / "docs", root / "corpus")
    build_index(root / "corpus", root / "index", HashingEmbedder())
    return root


@pytest.fixture(scope="module")
def service(calc_root):
    from faces.wiring import build_service
    from index.embedder import HashingEmbedder

    return build_service(hashing_settings(calc_root), embedder=HashingEmbedder(), generators={}).warm_up()


def test_items_are_stored_with_the_version_and_checked_on_load(calc_root, service):
    from index.store import current_version, read_manifest

    version, manifest = read_manifest(calc_root / "index")
    assert manifest["items"]["count"] == len(service.calculator.items()) > 90
    assert manifest["items"]["extractor"] == "rules" and "items.jsonl" in manifest["files"]
    assert (current_version(calc_root / "index") / "items.jsonl").is_file()


def test_a_tampered_items_file_fails_the_load(calc_root, tmp_path):
    from index.store import current_version, open_index
    from policyqa.errors import IndexFolderError

    shutil.copytree(calc_root / "index", tmp_path / "index")
    path = current_version(tmp_path / "index") / "items.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("万元", "元", 1), encoding="utf-8")
    with pytest.raises(IndexFolderError, match="rebuild"):
        open_index(tmp_path / "index")


def test_model_path_is_asked_only_where_rules_fail_checked_bounded_and_reused(tmp_path):
    from index.build import build_index
    from index.embedder import HashingEmbedder
    from index.item_store import ItemExtractor, read_items
    from index.store import current_version
    from ingest.item_model import ModelReviewer

    shutil.copytree(CALC / "docs", tmp_path / "corpus")
    reply = json.dumps([{"quote": "同一申请人每年累计资助不超过8万元", "amount_text": "不超过8万元", "value": 8, "unit": "万元",
                         "max": True, "conditions": ["同一申请人", "火星上的条件"], "form": "资助"},
                        {"quote": "同一申请人每年累计资助不超过8万元", "amount_text": "不超过8万元", "value": 80, "unit": "万元"}],
                       ensure_ascii=False)
    model = ScriptedModel(reply)
    reviewer = ModelReviewer(model, budget=2)
    build_index(tmp_path / "corpus", tmp_path / "index", HashingEmbedder(), items=ItemExtractor(reviewer))
    assert 1 <= len(model.seen) <= 2 and reviewer.rejected >= 1      # the wrong value (80 for 8万元) is refused
    items = read_items(current_version(tmp_path / "index"))
    from_model = [i for i in items if i.source == "model"]
    assert from_model and all(i.amount.value == 8 for i in from_model)
    assert all("火星上的条件" not in i.conditions for i in from_model)  # a condition not in the text is dropped
    calls = len(model.seen)
    build_index(tmp_path / "corpus", tmp_path / "index", HashingEmbedder(), items=ItemExtractor(ModelReviewer(model, 2)))
    assert len(model.seen) == calls  # unchanged documents keep their items: no new model calls


def test_cli_items_match_and_tasks_json_shapes(calc_root, capsys, tmp_path):
    from faces.cli import main

    index = str(calc_root / "index")
    assert main(["items", "--index", index, "--json", "--doc", "柳河"]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert items and {"id", "name", "doc_id", "clause_id", "quote", "form", "amount", "applicant", "conditions",
                      "department", "region"} <= set(items[0])
    assert {"value", "unit", "max", "per", "ratio", "text"} <= set(items[0]["amount"])
    profile = json.loads((CALC / "profiles.jsonl").read_text(encoding="utf-8").splitlines()[0])["profile"]
    (tmp_path / "p.json").write_text(json.dumps(profile, ensure_ascii=False), encoding="utf-8")
    assert main(["match", str(tmp_path / "p.json"), "--index", index, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["eligible"] and {"item_id", "name", "amount", "met"} <= set(result["eligible"][0])
    assert "unknown" in result["possible"][0] and "unmet" in result["ineligible"][0]
    assert main(["tasks", "--index", index, "--json", "--xlsx", str(tmp_path / "t.xlsx")]) == 0
    assert "rows" in json.loads(capsys.readouterr().out) and (tmp_path / "t.xlsx").stat().st_size > 0
    assert main(["match", str(tmp_path / "missing.json"), "--index", index]) == 1


def test_api_items_match_tasks_and_downloads(service):
    from fastapi.testclient import TestClient
    from openpyxl import load_workbook

    from faces.api import build_api

    client = TestClient(build_api(service))
    assert client.get("/api/items", params={"doc": "天河"}).json()["items"]
    assert client.get("/api/items", params={"doc": "火星"}).status_code == 404
    profile = json.loads((CALC / "profiles.jsonl").read_text(encoding="utf-8").splitlines()[2])["profile"]
    body = client.post("/api/match", json=profile).json()
    assert {m["name"] for m in body["eligible"]} and body["total"]["unit"] == "万元"
    assert client.post("/api/match", json={"region": "广东省", "color": "red"}).status_code == 422
    rows = client.get("/api/tasks").json()["rows"]
    xlsx = client.get("/api/tasks", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == len(rows) + 2
    assert client.get("/api/tasks", params={"format": "csv"}).content.startswith("\ufeff序号".encode())
    page = client.get("/tasks/print", params={"unit": "<script>"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("application/json")
    assert "<table>" in client.get("/tasks/print").text


@pytest.mark.parametrize("question, must, refused", [
    ("我们公司在柳河县，去年第一次认定为国家高新技术企业，县里能奖励多少钱？", ["20"], False),
    ("我们是天河区的港澳青年企业，在孵化器里租的场地，租金能补多少？", ["50%", "5万元"], False),
    ("机器人专项资金的申报材料要交到哪个部门？", ["市经信局"], False),
    ("高校毕业生的职业技能提升补贴，每人具体能领多少钱？", [], True),
])
def test_questions_are_answered_from_items(service, question, must, refused):
    answer = service.ask(question, generator="extractive")
    assert answer.refused == refused and all(m in answer.text.replace(" ", "") for m in must), answer.text
    if not refused:
        assert answer.generator == "items" and answer.citations
