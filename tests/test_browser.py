"""The real app in Debian's chromium: ask, read the citation cards, open 部门职责 (one unit in its place), search
clauses by kind and need, upload a document and find it.

The app runs as `python app.py` in a subprocess on a free port, over an index that `policyqa build`
writes into tmp_path from a copy of corpus/ with the real e5 model; answers use the extractive
generator so the test does not wait for the LLM. Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
NEW_DOC = ("测试市促进量子计算产业发展若干措施\n\n一、支持量子计算企业\n"
           "(一)设立量子计算专项基金。市财政每年安排5000万元设立量子计算专项基金，支持企业开展量子芯片攻关。"
           "(牵头单位：市科技局)\n(二)建设量子计算公共平台。依托高校建设量子计算公共算力平台，向中小企业开放。\n")
DIALOGS: list[str] = []  # any alert() a page manages to run lands here
ATTACK = '<img src=x onerror="window.__pwned=1">科技型中小企业贷款有什么支持？'

SCROLL_TO_ATTACK = """() => {
  const wrap = document.querySelector('#pq-chat .bubble-wrap');
  const p = [...wrap.querySelectorAll('p')].find(e => e.innerText.includes('onerror'));
  wrap.scrollTop += p.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 40;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Base URL of the real app over a real index built in tmp_path; the server is stopped afterwards."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium fonts-noto-cjk (or `make browser-deps`)")
    from policyqa.settings import Settings

    model = Path(Settings().embedding_model)
    if not model.exists():
        pytest.skip(f"embedding model {model} is missing: run `make setup`")
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(CORPUS, root / "corpus")
    port = _free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", POLICYQA_CORPUS_DIR=str(root / "corpus"),
               POLICYQA_INDEX_DIR=str(root / "index"), POLICYQA_PORT=str(port), POLICYQA_GENERATOR="extractive")
    built = subprocess.run([sys.executable, "-m", "faces.cli", "build", "--quiet"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    if built.returncode:
        pytest.fail(f"policyqa build failed:\n{built.stderr[-3000:]}")
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/api/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - started > 300:
                    pytest.fail("app did not start:\n" + (root / "server.log").read_text(errors="replace")[-3000:])
                time.sleep(0.5)
        print(f"app ready in {time.perf_counter() - started:.1f} s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.on("dialog", lambda d: (DIALOGS.append(d.message), d.dismiss()))
        page.goto(server, wait_until="load")
        page.wait_for_selector("#pq-question textarea", timeout=60_000)
        page.wait_for_timeout(1500)  # let the page's load event fill the pickers
        yield page
        browser.close()


def _ask(page, question: str) -> None:
    box = page.locator("#pq-question textarea")
    box.fill(question)
    box.press("Enter")  # Enter sends


def _wait_for_answer(page, question: str) -> None:
    """Until the Markdown export holds this question's answer (it is filled after the last token)."""
    page.wait_for_function("q => document.querySelector('#pq-export textarea').value.includes(q)", arg=question,
                           timeout=120_000)
    page.wait_for_timeout(300)


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_question_streams_an_answer_with_citation_cards(page):
    page.get_by_role("tab", name="问答").click()
    _ask(page, "阳泉对科技型中小企业融资有哪些支持？")
    _wait_for_answer(page, "阳泉对科技型中小企业融资有哪些支持？")
    cards = page.locator("#pq-cards .pq-card")
    assert cards.count() >= 1
    first = cards.first.inner_text()
    assert "《" in first and "›" in first
    assert page.locator("#pq-cards mark").count() >= 1  # the supporting sentence is highlighted
    assert "依据" in page.locator("#pq-chat").inner_text()
    assert "## 依据" in page.locator("#pq-export textarea").input_value()
    page.screenshot(path=str(ARTIFACTS / "browser-qa.png"), full_page=True)


def test_html_in_a_question_shows_as_text_and_never_runs(page):
    _ask(page, ATTACK)
    _wait_for_answer(page, ATTACK)
    assert "onerror" in page.locator("#pq-chat").inner_text()
    assert page.evaluate("window.__pwned") is None and not DIALOGS
    assert page.locator("#pq-chat img[src='x']").count() == 0
    page.evaluate(SCROLL_TO_ATTACK)
    page.wait_for_timeout(300)
    page.locator("#pq-chat").screenshot(path=str(ARTIFACTS / "browser-html-as-text.png"))
    _ask(page, "")
    page.wait_for_function("document.querySelector('#pq-chat').innerText.includes('问题为空')", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-bad-input.png"), full_page=True)


def test_department_view_lists_every_provision_of_a_unit_in_its_place(page, server):
    import json

    _tab(page, "部门职责")
    picker = page.locator("#pq-unit input")
    picker.click()
    picker.fill("市科技局")
    option = page.get_by_role("option", name="·市科技局（").first
    label = option.inner_text().split("（")[0]
    option.click()
    page.wait_for_selector("#pq-unit-view h3", timeout=30_000)
    total = json.load(urllib.request.urlopen(server + "/api/departments/" + urllib.parse.quote(label)))["total"]
    merged = json.load(urllib.request.urlopen(server + "/api/departments/" + urllib.parse.quote("市科技局")))["total"]
    assert f"共 {total} 项" in page.locator("#pq-unit-view h3").inner_text() and total < merged
    assert page.locator("#pq-unit-view .pq-card").count() == total
    assert page.locator("#pq-tasks tbody tr").count() == total
    page.screenshot(path=str(ARTIFACTS / "browser-departments.png"))
    with page.expect_download(timeout=30_000) as download:
        page.locator("#pq-xlsx").click()
    saved = ARTIFACTS / "browser-tasks.xlsx"
    download.value.save_as(str(saved))
    from openpyxl import load_workbook

    rows = list(load_workbook(saved).active.iter_rows(min_row=3, values_only=True))
    view = json.load(urllib.request.urlopen(server + "/api/departments/" + urllib.parse.quote(label)))
    assert [r[5].split(" ", 1)[1] for r in rows] == [c["path"] for d in view["documents"] for c in d["clauses"]]
    printed = urllib.request.urlopen(server + page.locator("#pq-print").get_attribute("href")).read().decode()
    assert printed.count("<tr>") == total + 1


def test_keyword_matching_finds_clauses_in_several_documents(page):
    _tab(page, "政策计算器")
    page.locator("#pq-keyword").get_by_text("按主体类型与需求查找条款").click()
    page.locator("#pq-kinds").get_by_label("科技型中小企业").check()
    page.locator("#pq-needs").get_by_label("融资").check()
    page.locator("#pq-go").click()
    page.wait_for_selector("#pq-match h3", timeout=30_000)
    assert re.search(r"来自 [3-9] 份文件", page.locator("#pq-match h3").inner_text())
    assert page.locator("#pq-match mark").count() >= 2
    page.screenshot(path=str(ARTIFACTS / "browser-match.png"))


def test_uploaded_document_is_indexed_and_cited(page, tmp_path):
    _tab(page, "文档库")
    picker = page.locator("#pq-tree-doc input")
    picker.click()
    page.get_by_role("option", name="阳泉").first.click()
    page.wait_for_selector("#pq-tree details", timeout=30_000)
    page.locator("#pq-tree summary").first.click()
    page.screenshot(path=str(ARTIFACTS / "browser-library.png"), full_page=True)

    bad = tmp_path / "tool.exe"
    bad.write_bytes(b"MZ\x00\x00")
    page.locator("#pq-file input[type=file]").set_input_files(str(bad))
    page.wait_for_function("document.querySelector('#pq-file').innerText.includes('tool.exe')", timeout=30_000)
    page.locator("#pq-upload").click()
    page.wait_for_function("document.querySelector('#pq-upload-status').innerText.includes('不支持的文件类型')",
                           timeout=30_000)

    good = tmp_path / "quantum-test.txt"
    good.write_text(NEW_DOC, encoding="utf-8")
    page.wait_for_selector("#pq-file input[type=file]", state="attached", timeout=30_000)  # the picker was cleared
    page.locator("#pq-file input[type=file]").set_input_files(str(good))
    page.wait_for_function("document.querySelector('#pq-file').innerText.includes('quantum-test.txt')", timeout=30_000)
    page.locator("#pq-upload").click()
    page.wait_for_selector("#pq-upload-status .pq-ok", timeout=300_000)
    assert "已添加" in page.locator("#pq-upload-status").inner_text()
    page.wait_for_function("document.body.innerText.includes('quantum-test.txt')", timeout=30_000)  # table refreshed
    page.screenshot(path=str(ARTIFACTS / "browser-upload.png"), full_page=True)

    _tab(page, "问答")
    _ask(page, "量子计算专项基金每年安排多少？")
    _wait_for_answer(page, "量子计算专项基金每年安排多少？")
    assert "量子计算专项基金" in page.locator("#pq-cards .pq-card").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "browser-new-document.png"), full_page=True)
