"""The HTTP API, the UI handlers and the Service, over the seed corpus with the hashing embedder (fast tier).

The app is created with an injected Service (`create_app(settings, service=...)`) built on an index in
tmp_path; generation uses the extractive path or a ScriptedGenerator behind the Service's gate.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from app import create_app
from faces.render import esc, highlight
from faces.webui import WebUI
from conftest import CORPUS, hashing_settings, make_service
from ingest.departments import clauses_for_unit
from policyqa.errors import BusyError
from qa.generators import ScriptedGenerator
from policyqa.errors import NotFoundError, UploadError
from qa.gate import GenerationGate
from qa.service import Service, safe_filename

GENERATE_Q = "阳泉如何支持科技型中小企业融资？"  # answered by generation (not a list, not refused)
SCRIPT = "<script>alert('x')</script>科技型中小企业贷款有什么支持？"
NEW_DOC = ("测试市促进量子计算产业发展若干措施\n\n一、支持量子计算企业\n"
           "(一)设立量子计算专项基金。市财政每年安排5000万元设立量子计算专项基金，支持企业开展量子芯片攻关。"
           "(牵头单位：市科技局)\n(二)建设量子计算公共平台。依托高校建设量子计算公共算力平台，向中小企业开放。\n")


@pytest.fixture(scope="module")
def service(template, tmp_path_factory) -> Service:
    """A read-only Service over the seed corpus (tests that change the corpus use `fresh`)."""
    return make_service(template, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(service) -> TestClient:
    app = create_app(hashing_settings(service.corpus_dir.parent), service=service)
    with TestClient(app) as c:
        yield c


# --------------------------------------------------------------------------- endpoint shapes


def test_health_reports_counts_model_and_version(client, service):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["documents"] == 4
    assert body["clauses"] == len(service.clauses()) > 100
    assert body["model"] == "hashing-bigram-256" and body["index_version"].startswith("v-")


def test_ask_returns_the_cli_json_shape_with_citations(client):
    r = client.post("/api/ask", json={"question": "科技型中小企业贷款有什么支持？", "generator": "extractive"})
    assert r.status_code == 200
    body = r.json()
    assert {"answer", "refused", "citations", "related", "generator", "checked", "timings_ms", "count"} <= set(body)
    assert not body["refused"] and body["citations"]
    cite = body["citations"][0]
    assert {"n", "clause_id", "doc_title", "path", "text", "supporting"} <= set(cite)
    assert all(s in cite["text"] for s in cite["supporting"])


def test_ask_refusal_carries_related_clauses_not_citations(client):
    body = client.post("/api/ask", json={"question": "大同市对人才有什么补贴？"}).json()
    assert body["refused"] and body["citations"] == [] and body["related"]


def test_ask_filters_by_document(client):
    body = client.post("/api/ask", json={"question": "科技型中小企业贷款有什么支持？", "doc": "shuozhou-2014"}).json()
    assert body["citations"] and {c["doc_id"] for c in body["citations"]} == {"shuozhou-2014"}


def test_search_shape_k_and_department_filter(client):
    body = client.post("/api/search", json={"question": "人才引进", "k": 3, "department": "市科技局"}).json()
    assert set(body) == {"question", "hits", "timings_ms", "notes", "index_version", "route", "exact"} and len(body["hits"]) == 3
    assert [h["rank"] for h in body["hits"]] == [1, 2, 3]
    assert all("市科技局" in h["departments"] for h in body["hits"])


def test_departments_list_has_counts(client):
    rows = client.get("/api/departments").json()
    assert rows[0] == max(rows, key=lambda r: r["total"]) and {"name", "lead", "cooperating", "total"} == set(rows[0])
    assert any(r["name"] == "市科技局" for r in rows)


def test_department_view_equals_clauses_for_unit_and_the_cli(client, service, capsys):
    body = client.get("/api/departments/市科技局").json()
    expected = clauses_for_unit(service.clauses(), "市科技局")
    assert [d["doc_id"] for d in body["documents"]] == list(expected)
    for group in body["documents"]:
        assert [c["id"] for c in group["clauses"]] == [c.id for c in expected[group["doc_id"]]]
    assert body["total"] == sum(len(v) for v in expected.values())
    from faces.cli import main

    assert main(["departments", "市科技局", "--json", "--corpus", str(service.corpus_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == body
    assert main(["departments", "市科技局", "--json", "--index", str(service.corpus_dir.parent / "index")]) == 0  # the index's own clauses
    assert json.loads(capsys.readouterr().out) == body


def test_unknown_department_is_404_with_message(client):
    r = client.get("/api/departments/火星局")
    assert r.status_code == 404 and "火星局" in r.json()["error"]


def test_documents_have_metadata_counts_and_a_tree_of_every_clause(client, service):
    docs = client.get("/api/documents").json()
    assert {d["doc_id"] for d in docs} == {"county-innovation", "shuozhou-2014", "xinzhou-2021", "yangquan-2017"}
    assert sum(d["clauses"] for d in docs) == len(service.clauses())

    def ids(nodes):
        return [n["clause_id"] for n in nodes if n["clause_id"]] + [i for n in nodes for i in ids(n["children"])]
    for d in docs:
        assert {"title", "issuer", "region", "date", "source", "format"} <= set(d)
        assert sorted(ids(d["tree"])) == sorted(c.id for c in service.clauses(d["doc_id"]))


def test_eligibility_for_small_tech_firms_and_finance_spans_three_documents(client):
    body = client.post("/api/eligibility", json={"kinds": ["科技型中小企业"], "needs": ["融资"]}).json()
    assert body["count"] == len(body["clauses"]) >= 3 and len(body["documents"]) >= 3
    options = json.loads((CORPUS / "vocabulary.json").read_text(encoding="utf-8"))["eligibility"]
    for c in body["clauses"]:
        assert any(w in c["text"] for w in options["kinds"]["科技型中小企业"])
        assert any(w in c["text"] for w in options["needs"]["融资"])
    local = client.post("/api/eligibility", json={"kinds": ["科技型中小企业"], "needs": ["融资"], "place": "阳泉"}).json()
    assert local["documents"] == ["yangquan-2017"] and 0 < local["count"] < body["count"]


def test_eligibility_rejects_empty_and_unknown_choices(client):
    assert client.post("/api/eligibility", json={}).status_code == 400
    r = client.post("/api/eligibility", json={"kinds": ["外星企业"], "needs": ["融资"]})
    assert r.status_code == 400 and "外星企业" in r.json()["error"]
    assert client.post("/api/eligibility", json={"kinds": ["高校"], "place": "大同"}).status_code == 404


def test_openapi_schema_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/search", "/api/departments", "/api/departments/{name}", "/api/documents",
            "/api/health", "/api/eligibility"} <= set(paths)


def test_the_ui_is_mounted_at_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "<html" in r.text.lower()


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("payload, status, words", [
    ({"question": ""}, 400, "问题为空"),
    ({"question": "   "}, 400, "问题为空"),
    ({"question": "查" * 10_000}, 400, "问题过长"),
    ({"question": "查" * 10_001}, 422, "question"),
    ({"question": "！？。"}, 400, "没有可检索的文字"),
    ({"question": "人才", "generator": "gpt-99"}, 422, "generator"),
    ({"question": "人才", "unknown": 1}, 422, "unknown"),
    ({}, 422, "question"),
])
def test_bad_questions_get_a_clear_json_error(client, payload, status, words):
    r = client.post("/api/ask", json=payload)
    assert r.status_code == status and words in r.json()["error"]


def test_bad_search_input_and_malformed_json(client):
    assert client.post("/api/search", json={"question": "人才", "k": 0}).status_code == 422
    r = client.post("/api/search", json={"question": "人才", "doc": "不存在的文件"})
    assert r.status_code == 404 and "不存在的文件" in r.json()["error"]
    r = client.post("/api/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["error"]


def test_a_missing_document_or_unit_is_404_with_its_fields_on_every_api_path(client):
    """The error carries what is missing and its value; every path that names one answers alike."""
    doc_paths = [("post", "/api/search", {"json": {"question": "人才", "doc": "没有这份"}}),
                 ("post", "/api/ask", {"json": {"question": "人才", "doc": "没有这份", "generator": "extractive"}}),
                 ("delete", "/api/documents/没有这份", {"headers": {"host": "127.0.0.1"}})]
    unit_paths = [("post", "/api/search", {"json": {"question": "人才", "department": "没有这个局"}}),
                  ("post", "/api/ask", {"json": {"question": "人才", "department": "没有这个局", "generator": "extractive"}}),
                  ("get", "/api/departments/没有这个局", {})]
    for what, paths in (("document", doc_paths), ("unit", unit_paths)):
        for method, path, kwargs in paths:
            r = getattr(client, method)(path, **kwargs)
            body = r.json()
            assert r.status_code == 404, (path, body)
            assert body["kind"] == "NotFoundError" and body["what"] == what and body["value"].startswith("没有这"), body
            assert body["message"].isascii() or "没有这" in body["message"], body
            assert "没有" in body["error"] and body["hint"], body


def test_script_in_a_question_is_data_in_the_api_and_text_in_the_ui(client, service):
    r = client.post("/api/ask", json={"question": SCRIPT})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["question"] == SCRIPT
    *_, last = WebUI(service).chat(SCRIPT, [], [], "", "", "extractive")
    messages, cards, export = last[0], last[1], last[2]
    assert "&lt;script&gt;" in messages[-2]["content"] and "<script" not in messages[-2]["content"]
    assert "<script" not in cards
    assert "<mark>" in cards
    assert SCRIPT in export


def test_markdown_links_in_a_question_do_not_become_links(service):
    *_, last = WebUI(service).chat("[点我](javascript:alert(1)) 人才引进", [], [], "", "", "extractive")
    assert "&#91;点我&#93;(javascript:alert(1))" in last[0][-2]["content"]


def test_rendering_escapes_everything_and_marks_support():
    assert highlight("a<b>c&d", ["<b>"]) == "a<mark>&lt;b&gt;</mark>c&amp;d"
    assert highlight("融资和融资", ["融资"], every=True).count("<mark>") == 2
    assert esc("{{x}} ${y} <i>") == "&#123;&#123;x&#125;&#125; &#36;&#123;y&#125; &lt;i&gt;"


@pytest.mark.parametrize("question, words", [("", "问题为空"), ("问" * 10_000, "问题过长")])
def test_ui_shows_bad_questions_as_friendly_messages_and_keeps_serving(service, question, words):
    ui = WebUI(service)
    *_, last = ui.chat(question, [], [], "", "", "extractive")
    assert words in last[0][-1]["content"] and words in last[1] and last[5] == question
    *_, ok = ui.chat("人才引进有什么政策？", [], [], "", "", "extractive")
    assert "依据" in ok[1] and ok[4] == ["人才引进有什么政策？"]


def test_ui_refusal_shows_related_clauses_under_a_notice(service):
    *_, last = WebUI(service).chat("大同市对人才有什么补贴？", [], [], "", "", "extractive")
    cards, export = last[1], last[2]
    assert "pq-notice" in cards and "可能相关的条款（不构成依据）" in cards and "class='pq-card'" in cards
    assert "<mark>" not in cards and "## 可能相关的条款（不构成依据）" in export


def test_ui_department_view_is_one_unit_in_its_place_and_keyword_match_still_finds_clauses(service):
    from faces.webui_calc import CalculatorUI

    ui = CalculatorUI(service)
    label = next(value for _, value in ui.unit_choices() if value.endswith("·市科技局"))
    view, csv_file, xlsx_file = ui.duties(label, "", "")
    place_total = service.department(label).total
    assert f"共 {place_total} 项" in view and view.count("class='pq-card'") == place_total
    assert place_total < service.department("市科技局").total  # the other cities' 市科技局 are other units
    assert csv_file.endswith(".csv") and xlsx_file.endswith(".xlsx")
    html = ui.keyword_match(["科技型中小企业"], ["融资"], "")
    assert "来自 4 份文件" in html and "<mark>" in html
    assert "请至少选择" in ui.keyword_match([], [], "")


# --------------------------------------------------------------------------- uploads and removals


def _corpus_files(svc: Service) -> set[str]:
    return {p.relative_to(svc.corpus_dir.parent).as_posix() for p in svc.corpus_dir.parent.rglob("*") if p.is_file()
            and "index" not in p.parts}


def test_upload_with_dotdot_name_lands_inside_the_corpus_and_is_searchable(fresh, tmp_path):
    seen = []
    change = fresh.upload("../../evil.txt", NEW_DOC.encode(), progress=lambda d, t: seen.append((d, t)))
    assert (fresh.corpus_dir / "evil.txt").is_file() and not (tmp_path.parent / "evil.txt").exists()
    assert change.file == "evil.txt" and change.clauses >= 2 and "已添加" in change.message
    assert seen and seen[-1][0] == seen[-1][1] == change.build.embedded
    hits = fresh.search("量子计算专项基金", k=3).hits
    assert hits[0].clause.doc_id == change.doc_id and "量子计算专项基金" in hits[0].clause.text
    assert fresh.ask("量子计算专项基金每年安排多少？").citations[0].clause.doc_id == change.doc_id


def test_upload_never_overwrites_and_skips_identical_content(fresh):
    first = fresh.upload("量子.txt", NEW_DOC.encode())
    second = fresh.upload("量子.txt", (NEW_DOC + "(三)开展量子人才培训。\n").encode())
    assert second.file == "量子-2.txt" and second.renamed_from == "量子.txt"
    assert (fresh.corpus_dir / first.file).read_text(encoding="utf-8") == NEW_DOC
    again = fresh.upload("别名.txt", NEW_DOC.encode())
    assert again.action == "unchanged" and not (fresh.corpus_dir / "别名.txt").exists()


@pytest.mark.parametrize("name, content, words", [
    ("tool.exe", b"MZ\x00\x00", "不支持的文件类型"),
    ("big.txt", "政策".encode() * 40_000, "文件过大"),
    ("empty.txt", b"", "文件是空的"),
    ("binary.txt", b"\x00\x01\x02" * 100, "无法读取"),
    ("..", b"abc", "不可用"),
])
def test_bad_uploads_are_refused_in_chinese_and_never_enter_the_corpus(fresh, name, content, words):
    before = _corpus_files(fresh)
    with pytest.raises(UploadError) as err:
        fresh.upload(name, content)
    assert words in err.value.zh and err.value.message  # Chinese for readers, English for logs and the CLI
    assert _corpus_files(fresh) == before
    assert words in WebUI(fresh).upload_named(name, content)


def test_ui_upload_checks_the_size_before_reading(fresh, tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 200_000)
    assert "文件过大" in WebUI(fresh).upload(str(big))
    assert "请先选择" in WebUI(fresh).upload(None)


def test_remove_deletes_the_file_and_its_clauses(fresh):
    change = fresh.upload("quantum.md", NEW_DOC.encode())
    removed = fresh.remove(change.doc_id)
    assert removed.action == "remove" and not (fresh.corpus_dir / "quantum.md").exists()
    assert all(c.doc_id != change.doc_id for c in fresh.clauses())
    with pytest.raises(NotFoundError):
        fresh.remove(change.doc_id)


def test_safe_filename_strips_folders_dots_and_hidden_prefixes():
    assert safe_filename("../../evil.txt") == "evil.txt"
    assert safe_filename("..\\..\\win.md") == "win.md"
    assert safe_filename(".hidden.txt") == "hidden.txt"
    assert safe_filename("a..b.TXT") == "a.b.txt"
    assert safe_filename("README.txt") == "doc-README.txt"
    assert safe_filename("/") == "" and safe_filename("..") == ""


# --------------------------------------------------------------------------- generation queue


def test_full_generation_queue_answers_busy_while_search_and_extractive_still_work(template, tmp_path):
    started, release = threading.Event(), threading.Event()

    def slow(_messages) -> str:
        started.set()
        release.wait(20)
        return "阳泉支持科技型中小企业融资[1]。"

    svc = make_service(template, tmp_path, generators={"llama": lambda: ScriptedGenerator(slow, name="slow")},
                       gate=GenerationGate(limit=1, queue=0))
    results = []
    worker = threading.Thread(target=lambda: results.append(svc.ask(GENERATE_Q, generator="llama")))
    worker.start()
    try:
        assert started.wait(10)
        client = TestClient(create_app(hashing_settings(tmp_path), service=svc, ui=False))
        t0 = time.perf_counter()
        r = client.post("/api/ask", json={"question": GENERATE_Q, "generator": "llama"})
        assert r.status_code == 503 and "服务繁忙" in r.json()["error"] and time.perf_counter() - t0 < 5
        assert client.post("/api/ask", json={"question": GENERATE_Q, "generator": "extractive"}).status_code == 200
        assert client.post("/api/search", json={"question": GENERATE_Q}).status_code == 200
        *_, last = WebUI(svc).chat(GENERATE_Q, [], [], "", "", "llama")
        assert "服务繁忙" in last[0][-1]["content"]
    finally:
        release.set()
        worker.join(20)
    assert results and results[0].generator == "llama" and results[0].citations and svc.gate.pending == 0


def test_gate_queues_up_to_its_limit_then_refuses():
    gate = GenerationGate(limit=1, queue=1, wait_s=5)
    holding, done = threading.Event(), threading.Event()

    def hold():
        with gate.slot():
            holding.set()
            done.wait(5)
    def wait_turn():
        with gate.slot():
            pass
    first, second = threading.Thread(target=hold), threading.Thread(target=wait_turn)
    first.start()
    assert holding.wait(5)
    second.start()
    while gate.pending < 2:
        time.sleep(0.01)
    with pytest.raises(BusyError, match="queue is full") as err:
        with gate.slot():
            pass
    assert "服务繁忙" in err.value.zh
    done.set()
    first.join(5)
    second.join(5)
