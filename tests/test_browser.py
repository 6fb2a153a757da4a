"""End to end in a real browser: Debian's chromium driven by Playwright against a real server."""

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant.settings import PROJECT_ROOT

from .conftest import served_essay

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
HOSTILE = """# Hostile notes

The hostile report says <script>window.__xss = 1</script> the Zanzibar archipelago exports cloves.
It also says ![tracker](http://evil.invalid/pixel.png) and <img src=x onerror="window.__xss = 2"> about cloves.
Finally [click me](javascript:window.__xss=3) is a link trick in the Zanzibar clove report.
"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    with served_essay(tmp_path_factory.mktemp("browser") / "data", embeddings) as (_, url):
        yield url


@pytest.fixture
def page(browser, server):
    """A page with the network cut: anything not on loopback is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.outside = []

    def guard(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(server)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def _ask(page, question: str) -> None:
    count = page.locator(".conversation .turn").count()
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(f"document.querySelectorAll('.conversation .turn .tools, .answer.refused').length > {count}",
                           timeout=30000)


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_ask_then_click_a_citation_chip_to_see_the_highlighted_passage(page):
    _ask(page, "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?")
    chip = page.locator(".cite-chip").first
    assert chip.get_attribute("title").startswith("Russia's Responses")
    panel = page.locator('.answer .cite-panel[data-cite="1"]').first
    assert panel.is_hidden()
    chip.click()
    panel.wait_for(state="visible")
    assert panel.locator("mark").count() >= 1
    assert "paragraph" in panel.inner_text() and "Russia's Responses" in panel.inner_text()
    assert page.locator(".sources li").count() >= 1 and "similarity" in page.locator(".sources").first.inner_text()
    _shot(page, "chat-citation-open")
    chip.click()
    panel.wait_for(state="hidden")
    assert page.outside == []


def test_refusal_looks_different_and_offers_nearest_material(page):
    _ask(page, "What is the best recipe for sourdough bread?")
    refused = page.locator(".answer.refused")
    assert refused.count() == 1 and "Not covered by the sources" in refused.inner_text()
    assert page.locator(".answer.refused .cite-chip").count() == 0
    assert "not an answer" in page.locator(".nearest summary").inner_text()
    _shot(page, "chat-refusal")


def test_follow_up_shows_what_was_searched(page):
    _ask(page, "How did Russia respond to the crisis in Belarus?")
    _ask(page, "And what about Kyrgyzstan?")
    searched = page.locator(".searched").last.inner_text()
    assert "How did Russia respond to the crisis in Kyrgyzstan?" in searched
    page.click("#new-chat")
    page.wait_for_selector(".conversation.empty")


def test_upload_then_hostile_text_renders_as_literal_text(page, tmp_path):
    doc = tmp_path / "hostile-notes.md"
    doc.write_text(HOSTILE)
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", str(doc))
    page.click("#add-docs")
    page.wait_for_selector("#corpus-status .status.ok", timeout=60000)
    assert "hostile-notes.md: added" in page.inner_text("#corpus-status")
    assert "Hostile notes" in page.inner_text("#corpus-table")
    _shot(page, "corpus-after-upload")
    page.get_by_role("tab", name="Chat").click()
    _ask(page, "What does the Zanzibar archipelago export?")
    page.locator(".cite-chip").first.click()
    text = page.locator(".answer").last.inner_text()
    assert "<script>window.__xss = 1</script>" in text or "<img src=x" in text or "![tracker]" in text
    assert page.evaluate("window.__xss") is None
    assert page.locator(".answer script, .answer img, .answer a[href^='javascript']").count() == 0
    _shot(page, "chat-hostile-text")
    assert not any("evil.invalid" in url for url in page.outside)


def test_page_loads_with_the_network_cut(page):
    page.wait_for_timeout(500)
    assert page.locator("#examples button").count() == 4
    _shot(page, "chat-empty")
    assert page.outside == [], f"requests left loopback: {page.outside}"


def test_copy_and_export_the_conversation(page):
    _ask(page, "What could Russia have done to help Kyrgyzstan?")
    copy = page.locator(".copy-btn").last
    assert "Sources:" in copy.get_attribute("data-copy")
    copy.click()
    page.wait_for_function("document.querySelector('.copy-btn').textContent === 'Copied'")
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Conversation with the analysis assistant")
    assert "## 1. What could Russia have done to help Kyrgyzstan?" in text and "[1]" in text


def test_remove_a_document_after_confirming(page, tmp_path):
    doc = tmp_path / "short-lived.txt"
    doc.write_text("The short-lived note says Mongolia built a railway to the coast of nowhere.")
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", str(doc))
    page.click("#add-docs")
    page.wait_for_selector("#corpus-status .status.ok", timeout=60000)
    page.click("#remove-choice input")
    page.get_by_role("option", name="Short-lived").click()
    page.click("#remove")
    page.wait_for_selector("#confirm-remove", state="visible")
    assert "and all its chunks?" in page.inner_text("body")
    page.click("#confirm-remove")
    page.wait_for_function("document.querySelector('#corpus-status').innerText.includes('removed short-lived')")
    assert "Short-lived" not in page.inner_text("#corpus-table")
