"""Issue #16 in the fast tier: only checked text in the UI, the API's token stream marked unchecked,
questions with several parts, the check and errors in plain Chinese, offered generators, metadata
corrections (API, CLI, UI handlers), offline API docs. Seed corpus, hashing embedder."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app import create_app
from conftest import hashing_settings, make_service
from faces.errors import ui_text
from faces.render import answer_cards, check_words
from faces.webui import WebUI
from fake_openai import serve_fake_openai
from policyqa.errors import GeneratorError, IndexFolderError, UploadError
from qa.answer import Answer, Check
from qa.generators import ScriptedGenerator
from qa.parts import split_parts

LOCAL = "http://127.0.0.1"
GENERATE_Q = "阳泉如何支持科技型中小企业融资？"
DRAFT = "不可以，这项支持只给外省企业[1]。"
TWO_PARTS = "阳泉如何支持科技型中小企业融资？补贴多少元？"


@pytest.fixture()
def drafting(template, tmp_path):
    """A Service whose "llama" writes a draft the check rejects."""
    return make_service(template, tmp_path, generators={"llama": lambda: ScriptedGenerator(lambda m: DRAFT)})


# --------------------------------------------------------------------------- only checked text


def test_the_ui_never_shows_a_draft_only_progress_then_the_checked_answer(drafting):
    shown = [step[0][-1]["content"] for step in WebUI(drafting).chat(GENERATE_Q, [], [], "", "", "llama")]
    assert any("正在生成并核对" in s for s in shown)
    assert not any("外省企业" in s or "不可以" in s for s in shown)
    assert "模型回答未通过核对，以下为原文摘录" in shown[-1]


def test_the_api_stream_marks_tokens_unchecked_and_ends_with_the_checked_answer(drafting):
    client = TestClient(create_app(hashing_settings(drafting.corpus_dir.parent), service=drafting, ui=False))
    r = client.post("/api/ask/stream", json={"question": GENERATE_Q, "generator": "llama"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.text.splitlines()]
    tokens = [e for e in events if e["event"] == "token"]
    assert tokens and all(e["unchecked"] is True for e in tokens) and "外省企业" in "".join(e["text"] for e in tokens)
    final = events[-1]
    assert final["event"] == "answer" and final["answer"]["checked"]["status"] == "fallback"
    assert "外省企业" not in final["answer"]["answer"] and final["answer"]["citations"]
    bad = client.post("/api/ask/stream", json={"question": ""})
    assert bad.status_code == 400 and "问题为空" in bad.json()["error"]  # before the stream began: an HTTP error


# --------------------------------------------------------------------------- several parts


@pytest.mark.parametrize("question, labels", [
    ("给不给补贴？给多少？", ["给不给补贴？", "给多少？"]),
    ("创业租金补贴给不给，以及给多少？", ["创业租金补贴给不给", "给多少？"]),
    ("科技局以及财政局负责什么？", ["科技局以及财政局负责什么？"]),  # 以及 between names: one question
    ("阳泉对科技型中小企业融资有哪些支持？", ["阳泉对科技型中小企业融资有哪些支持？"]),
    ("企业同时申请两项补贴吗？", ["企业同时申请两项补贴吗？"]),
])
def test_split_parts_only_where_each_part_asks(question, labels):
    assert [p.label for p in split_parts(question)] == labels


def test_a_short_later_part_is_asked_with_the_first_parts_wording():
    parts = split_parts("朔州到2020年城市气化率要达到多少？2015年呢？")
    assert parts[1].question == "朔州到2020年城市气化率要达到多少，2015年呢？"


def test_a_two_part_question_answers_the_covered_part_and_names_the_gap(template, tmp_path):
    service = make_service(template, tmp_path)
    answer = service.ask(TWO_PARTS, generator="extractive")
    assert not answer.refused and answer.question == TWO_PARTS
    covered, gap = answer.text.split("\n")[:2]
    assert covered.startswith("关于“阳泉如何支持科技型中小企业融资？”：") and "一次性补助" in covered and "[1]" in covered
    assert gap.startswith("关于“补贴多少元？”：") and "没有写明具体金额" in gap
    assert [c.n for c in answer.citations] == [1] and "一次性补助" in answer.citations[0].clause.text
    assert answer.notes[0] == "asked in 2 parts"


def test_a_question_answered_whole_is_not_split(template, tmp_path):
    service = make_service(template, tmp_path)
    answer = service.ask("朔州到2020年城市气化率要达到多少？2015年呢？", generator="extractive")
    assert not answer.refused and "asked in 2 parts" not in answer.notes and "98%" in answer.text


# --------------------------------------------------------------------------- plain Chinese


@pytest.mark.parametrize("status, notes, words", [
    ("passed", (), "已逐句核对原文"), ("dropped", (), "删去 1 句"), ("fallback", (), "模型回答未通过核对，以下为原文摘录"),
    ("fallback", ("generator failed: timeout",), "生成模型暂不可用"), ("not_needed", (), "原文摘录，未经改写"),
])
def test_check_status_in_words_with_the_reasons_behind_details(status, notes, words):
    answer = Answer("问", "答", checked=Check(status, ("'x' is not in the cited clause",)), notes=notes)
    assert words in check_words(answer)
    html = answer_cards(answer)
    summary, folded = html.split("<details", 1)
    assert "is not in the cited clause" not in summary and "is not in the cited clause" in folded
    assert "<summary>详情</summary>" in html


@pytest.mark.parametrize("exc", [
    GeneratorError("openai at http://x failed: connection refused"), IndexFolderError("index folder broken"),
    UploadError("something bad"), RuntimeError("boom"),
])
def test_every_error_reads_in_chinese_without_an_english_tail(exc):
    text = ui_text(exc)
    assert text and not any("a" <= ch.lower() <= "z" for ch in text.replace("make setup", "")), text


def test_generators_offered_are_those_configured_and_reachable(tmp_path):
    from faces.wiring import available_generators

    missing = hashing_settings(tmp_path, llm_path=tmp_path / "none.gguf")
    assert available_generators(missing) == ["extractive"]  # no model file, no endpoint set
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    assert available_generators(hashing_settings(tmp_path, llm_path=model)) == ["extractive", "llama"]
    down = hashing_settings(tmp_path, llm_path=model, openai_base_url="http://127.0.0.1:9/v1")
    assert available_generators(down, probe_s=1) == ["extractive", "llama"]  # set but unreachable
    with serve_fake_openai(["答复"]) as base_url:
        up = hashing_settings(tmp_path, llm_path=tmp_path / "none.gguf", openai_base_url=base_url)
        assert available_generators(up) == ["extractive", "openai"]


def test_the_ui_offers_only_the_generators_it_is_given(template, tmp_path):
    ui = WebUI(make_service(template, tmp_path), default_generator="llama", generators=["extractive"])
    assert ui.generators == ["extractive"] and ui.default_generator == "extractive"


# --------------------------------------------------------------------------- metadata corrections


def test_api_corrects_title_date_issuer_region_in_metadata_and_index(fresh):
    client = TestClient(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False), base_url=LOCAL)
    before = fresh.retriever.snapshot().version
    r = client.patch("/api/documents/xinzhou-2021", json={"title": "忻州市创新生态建设实施方案", "date": "2021-06",
                                                            "issuer": "忻州市人民政府"})
    assert r.status_code == 200 and r.json()["action"] == "edit" and r.json()["build"]["embedded"] > 0
    meta = fresh.retriever.snapshot().documents["xinzhou-2021"]
    assert (meta.title, meta.date, meta.issuer, meta.region) == ("忻州市创新生态建设实施方案", "2021-06", "忻州市人民政府",
                                                                 "山西省忻州市")
    assert fresh.retriever.snapshot().version != before
    entry = json.loads((fresh.corpus_dir / "metadata.json").read_text(encoding="utf-8"))["xinzhou-2021.txt"]
    assert entry["title"] == "忻州市创新生态建设实施方案" and entry["doc_id"] == "xinzhou-2021" and entry["aliases"]
    hit = fresh.search("忻州 创新生态", 1).hits[0].clause
    assert hit.doc_title == "忻州市创新生态建设实施方案"  # the clauses carry the corrected title
    assert client.patch("/api/documents/xinzhou-2021", json={"date": "2021-06"}).json()["action"] == "unchanged"


@pytest.mark.parametrize("body, status, words", [
    ({"date": "去年"}, 400, "日期"), ({"title": " "}, 400, "标题不能为空"), ({"doc_id": "x"}, 422, "请求参数不合法"),
])
def test_api_refuses_bad_corrections_and_changes_nothing(fresh, body, status, words):
    client = TestClient(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False), base_url=LOCAL)
    before = (fresh.corpus_dir / "metadata.json").read_bytes(), fresh.retriever.snapshot().version
    r = client.patch("/api/documents/xinzhou-2021", json=body)
    assert r.status_code == status and words in r.json()["error"]
    assert ((fresh.corpus_dir / "metadata.json").read_bytes(), fresh.retriever.snapshot().version) == before
    assert client.patch("/api/documents/none", json={"title": "x"}).status_code == 404


def test_corrections_are_guarded_like_uploads(fresh):
    settings = hashing_settings(fresh.corpus_dir.parent, host="0.0.0.0", admin_token="tok-2")
    client = TestClient(create_app(settings, service=fresh, ui=False), base_url=LOCAL)
    assert client.patch("/api/documents/xinzhou-2021", json={"title": "甲"}).status_code == 401
    ok = client.patch("/api/documents/xinzhou-2021", json={"title": "甲"}, headers={"Authorization": "Bearer tok-2"})
    assert ok.status_code == 200


def test_a_failed_build_puts_the_metadata_back(fresh, monkeypatch):
    import qa.changes

    before = (fresh.corpus_dir / "metadata.json").read_bytes()

    def broken(*args, **kwargs):
        raise IndexFolderError("disk full")
    monkeypatch.setattr(qa.changes, "build_index", broken)
    with pytest.raises(IndexFolderError):
        fresh.edit("xinzhou-2021", {"title": "乙"})
    assert (fresh.corpus_dir / "metadata.json").read_bytes() == before


def test_ui_handlers_fill_the_form_correct_and_confirm_removal(fresh):
    ui = WebUI(fresh)
    assert ui.fields("shuozhou-2014")[0].startswith("国家创新驱动发展战略朔州行动计划")
    assert "确定要删除《国家创新驱动发展战略朔州行动计划" in ui.confirm_text("shuozhou-2014")
    assert "请先选择" in ui.edit(None, "", "", "", "")
    assert "日期" in ui.edit("shuozhou-2014", "标题", "明天", "", "")
    assert "已更新《朔州行动计划》" in ui.edit("shuozhou-2014", "朔州行动计划", "2014", "朔州市人民政府", "山西省朔州市")
    assert ui.table()[[r[8] for r in ui.table()].index("shuozhou-2014")][:4] == ["朔州行动计划", "山西省朔州市", "2014",
                                                                                 "朔州市人民政府"]


def test_cli_documents_edit_and_list(fresh, capsys, monkeypatch):
    from faces.cli import main

    monkeypatch.setenv("POLICYQA_CORPUS_DIR", str(fresh.corpus_dir))
    monkeypatch.setenv("POLICYQA_INDEX_DIR", str(fresh.retriever.index_dir))
    monkeypatch.setenv("POLICYQA_EMBEDDING_MODEL", "hashing-bigram-256")
    assert main(["documents", "edit", "county-innovation", "--region", "山西省某县", "--date", "2020"]) == 0
    assert "已更新《关于推进县域创新驱动发展的实施方案》" in capsys.readouterr().out
    assert main(["documents", "list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("county-innovation"))
    assert "山西省某县" in line and "2020" in line
    assert main(["documents", "edit", "county-innovation", "--date", "x"]) == 1
    assert capsys.readouterr().err.startswith("Error: date must be")


# --------------------------------------------------------------------------- offline API docs


def test_api_docs_pages_load_their_assets_from_the_app(fresh):
    client = TestClient(create_app(hashing_settings(fresh.corpus_dir.parent), service=fresh, ui=False))
    for page, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        html = client.get(page).text
        assert "cdn" not in html.lower() and "googleapis" not in html
        for asset in assets:
            assert f"/api-docs-assets/{asset}" in html
            r = client.get(f"/api-docs-assets/{asset}")
            assert r.status_code == 200 and len(r.content) > 10_000
