"""What a reader sees while the local model writes, in Debian's chromium: the model's draft never reaches
the page (only progress, then the checked answer), the stop button stops without showing it, and a
question with a covered and an uncovered part gets the covered answer and the gap named.

The app runs in a thread over the seed corpus with the hashing embedder; its "llama" is a real,
slow implementation of the generator seam that writes a draft the check must reject. A
MutationObserver records every text the chat shows, so a draft shown for even a moment is caught.
"""

from __future__ import annotations

import time
from typing import Iterator, Sequence

import pytest

from conftest import hashing_settings, make_service
from serving import serving
from test_browser import ARGS, ARTIFACTS, CHROMIUM, _ask

pytestmark = pytest.mark.browser

DRAFT = "不可以，这项支持只给外省企业[1]。"  # not in any clause: the check drops it and quotes instead
WATCH = """() => { window.__seen = ''; const chat = document.querySelector('#pq-chat');
  new MutationObserver(() => { window.__seen += '\\n' + chat.innerText; })
    .observe(chat, {subtree: true, childList: true, characterData: true}); }"""


class SlowDraft:
    """A generator that writes `DRAFT` a few characters at a time, `pause_s` apart (a slow local model)."""

    name = "slow-draft"

    def __init__(self, pause_s: float) -> None:
        self.pause_s = pause_s

    def generate(self, messages: Sequence, *, max_tokens: int = 512) -> str:
        """The whole draft."""
        return DRAFT[:max_tokens]

    def stream(self, messages: Sequence, *, max_tokens: int = 512, grammar: str | None = None) -> Iterator[str]:
        """The draft in pieces of three characters."""
        for i in range(0, len(DRAFT), 3):
            time.sleep(self.pause_s)
            yield DRAFT[i:i + 3]


@pytest.fixture(scope="module")
def trust_page(template, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium fonts-noto-cjk (or `make browser-deps`)")
    from playwright.sync_api import sync_playwright

    from app import create_app

    root = tmp_path_factory.mktemp("trust")
    service = make_service(template, root, generators={"llama": lambda: SlowDraft(0.4)})
    app = create_app(hashing_settings(root, generator="llama"), service=service, generators=["extractive", "llama"])
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page.goto(base, wait_until="load")
        page.wait_for_selector("#pq-question textarea", timeout=60_000)
        page.wait_for_timeout(1000)
        yield page
        browser.close()


def _settled(page, words: str) -> None:
    page.wait_for_function("w => document.querySelector('#pq-chat').innerText.includes(w)", arg=words, timeout=60_000)
    page.wait_for_timeout(500)


def test_a_draft_that_fails_the_check_never_appears(trust_page):
    page = trust_page
    assert page.locator("#pq-gen").get_by_label("本地模型").is_checked()  # offered: the test app says it is there
    page.evaluate(WATCH)
    _ask(page, "阳泉如何支持科技型中小企业融资？")
    _settled(page, "模型回答未通过核对")
    seen = page.evaluate("window.__seen")
    assert "正在生成并核对" in seen  # progress was shown while the model wrote …
    assert "外省企业" not in seen and "不可以" not in seen  # … and not one piece of the draft
    assert "外省企业" not in page.locator("#pq-cards").inner_text()
    assert page.locator("#pq-cards .pq-card").count() >= 1  # the quotes it fell back to, with their clauses
    details = page.locator("#pq-cards .pq-details")
    assert "not in the cited clause" not in page.locator("#pq-cards").inner_text()  # technical reasons folded
    details.first.locator("summary").click()
    assert "not in the cited clause" in details.first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "trust-draft-rejected.png"), full_page=True)


def test_stop_ends_the_answer_without_showing_the_draft(trust_page):
    page = trust_page
    page.evaluate(WATCH)
    _ask(page, "忻州如何支持科技型中小企业融资？")
    page.wait_for_function("document.querySelector('#pq-chat').innerText.includes('正在生成并核对')", timeout=30_000)
    page.locator("#pq-stop").click()
    _settled(page, "已停止")
    page.wait_for_timeout(3000)  # longer than the draft takes: nothing arrives after the stop
    seen = page.evaluate("window.__seen")
    after = page.locator("#pq-chat").inner_text().rsplit("忻州如何支持科技型中小企业融资？", 1)[1]
    assert "外省企业" not in seen and "已停止" in after and "模型回答未通过核对" not in after
    assert not page.locator("#pq-stop").is_visible()


def test_a_two_part_question_gets_the_covered_part_and_the_gap_named(trust_page):
    page = trust_page
    page.locator("#pq-gen").get_by_label("原文摘录（最快）").check()
    question = "阳泉如何支持科技型中小企业融资？补贴多少元？"
    _ask(page, question)
    page.wait_for_function("q => document.querySelector('#pq-export textarea').value.includes(q)", arg=question,
                           timeout=60_000)
    chat = page.locator("#pq-chat").inner_text()
    assert "关于“阳泉如何支持科技型中小企业融资？”" in chat and "一次性补助" in chat  # the covered part, quoted
    assert "关于“补贴多少元？”：现有文件没有写明" in chat and "金额" in chat  # the gap, named
    assert page.locator("#pq-cards .pq-card").count() >= 1 and page.locator("#pq-cards mark").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "trust-two-parts.png"), full_page=True)
