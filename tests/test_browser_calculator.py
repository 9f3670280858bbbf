"""The 政策计算器 tab in Debian's chromium: a profile filled in, the items table read, a screenshot taken.

The app runs in a thread (tests/serving.py) over an index of the calculator documents built with the
hashing embedder: the calculator reads items, not vectors, so the test does not wait for a model.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, hashing_settings
from serving import serving

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ARTIFACTS = ROOT / "tests" / "artifacts"
FACTS = ["由香港居民创办，其实际权益持股60%", "在天河区依法登记注册，实际运营已满3年",
         "2024年通过国家高新技术企业认定", "2026年招用2名离校1年仍未就业的高校毕业生，已为其足额缴纳失业、工伤、职工养老保险费满3个月"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing: apt-get install -y chromium fonts-noto-cjk (or `make browser-deps`)")
    from playwright.sync_api import sync_playwright

    from faces.api import create_app
    from faces.wiring import build_service
    from index.build import build_index
    from index.embedder import HashingEmbedder

    root = tmp_path_factory.mktemp("calc-browser")
    shutil.copytree(ROOT / "tests" / "data" / "calculator" / "docs", root / "corpus")
    build_index(root / "corpus", root / "index", HashingEmbedder())
    settings = hashing_settings(root)
    service = build_service(settings, embedder=HashingEmbedder(), generators={}).warm_up()
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(create_app(settings, service)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
        page.goto(url, wait_until="load")
        page.wait_for_selector("#pq-question textarea", timeout=60_000)
        yield page
        browser.close()


def test_a_profile_gets_its_items_with_amounts_conditions_and_sources(page):
    page.get_by_role("tab", name="政策计算器").click()
    region = page.locator("#pq-calc-region input")
    region.click()
    region.fill("广东省广州市天河区")
    region.press("Enter")
    page.locator("#pq-calc-kinds textarea").fill("港澳青年企业，国家高新技术企业")
    page.locator("#pq-calc-facts textarea").fill("\n".join(FACTS))
    page.locator("#pq-calc-go").click()
    page.wait_for_selector("#pq-calc-result h3", timeout=60_000)
    eligible = page.locator("#pq-calc-eligible tbody tr")
    assert eligible.count() >= 3
    text = page.locator("#pq-calc-eligible").inner_text()
    assert "5 万元" in text and "1500 元" in text          # the rent subsidy cap and the per-hire subsidy
    assert "天英汇" in page.locator("#pq-calc-possible").inner_text()  # an award the facts do not mention
    assert "柳河" not in text                                 # another county's items never qualify
    page.screenshot(path=str(ARTIFACTS / "browser-calculator.png"), full_page=True)
