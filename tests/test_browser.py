"""End to end in a real browser: Debian's chromium driven by Playwright against a real server."""

from pathlib import Path

import pytest

from .browser_kit import ask, open_page, shot

pytestmark = pytest.mark.browser
HOSTILE = """# Hostile notes

The hostile report says <script>window.__xss = 1</script> the Zanzibar archipelago exports cloves.
It also says ![tracker](http://evil.invalid/pixel.png) and <img src=x onerror="window.__xss = 2"> about cloves.
Finally [click me](javascript:window.__xss=3) is a link trick in the Zanzibar clove report.
"""


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as page:
        yield page


def test_ask_then_click_a_citation_chip_to_see_the_highlighted_passage(page):
    ask(page, "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?")
    chip = page.locator(".cite-chip").first
    assert chip.get_attribute("title").startswith("Russia's Responses")
    source = page.locator('.answer li.source[data-cite="1"]').first
    assert source.is_hidden()
    chip.click()
    source.wait_for(state="visible")
    assert source.locator("mark:not(.dim)").count() >= 1
    assert "paragraph" in source.inner_text() and "Russia's Responses" in source.inner_text()
    assert "similarity" in source.inner_text()
    shot(page, "chat", readme=True)
    chip.click()
    source.wait_for(state="hidden")
    assert page.outside == [] and page.errors == []


def test_refusal_looks_different_and_offers_nearest_material(page):
    ask(page, "What is the best recipe for sourdough bread?")
    refused = page.locator(".answer.refused")
    assert refused.count() == 1 and "Not covered by the sources" in refused.inner_text()
    assert page.locator(".answer.refused .cite-chip").count() == 0
    assert "not an answer" in page.locator(".nearest summary").inner_text()
    shot(page, "chat-refusal")


def test_follow_up_shows_what_was_searched(page):
    page.click("#new-chat")
    page.wait_for_selector(".conversation.empty")
    ask(page, "How did Russia respond to the crisis in Belarus?")
    ask(page, "And what about Kyrgyzstan?")
    searched = page.locator(".searched").last.inner_text()
    assert "How did Russia respond to the crisis in Kyrgyzstan?" in searched


def test_upload_then_hostile_text_renders_as_literal_text(page, tmp_path):
    doc = tmp_path / "hostile-notes.md"
    doc.write_text(HOSTILE)
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", str(doc))
    page.wait_for_selector("#corpus-status .status.ok", timeout=60000)
    assert "hostile-notes.md: added" in page.inner_text("#corpus-status")
    assert "Hostile notes" in page.inner_text("#corpus-table")
    shot(page, "corpus-after-upload")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "What does the Zanzibar archipelago export?")
    page.locator(".cite-chip").last.click()
    text = page.locator(".answer").last.inner_text()
    assert "<script>window.__xss = 1</script>" in text or "<img src=x" in text or "![tracker]" in text
    assert page.evaluate("window.__xss") is None
    assert page.locator(".answer script, .answer img, .answer a[href^='javascript']").count() == 0
    shot(page, "chat-hostile-text")
    assert not any("evil.invalid" in url for url in page.outside)


def test_page_loads_with_the_network_cut(page):
    page.wait_for_timeout(500)
    assert page.locator("#examples button.example:visible").count() >= 1
    shot(page, "chat-empty")
    assert page.outside == [], f"requests left loopback: {page.outside}"


def test_copy_and_export_the_conversation(page):
    page.click("#new-chat")
    page.wait_for_selector(".conversation.empty")
    ask(page, "What could Russia have done to help Kyrgyzstan?")
    copy = page.locator(".copy-btn").last
    assert "Sources:" in copy.get_attribute("data-copy")
    copy.click()
    page.wait_for_function("document.querySelector('.copy-btn').textContent === 'Copied'")
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("# Conversation with the analysis assistant")
    assert "## 1. What could Russia have done to help Kyrgyzstan?" in text and "[1]" in text
