"""How the chat looks, measured in a real browser: WCAG AA contrast in the light and dark themes (issue 9,
point 4), the phone layout (point 5), and the README screenshots."""

import re

import pytest

from .browser_kit import DESKTOP, PHONE, ask, contrast, open_page, shot

pytestmark = pytest.mark.browser
ANSWERED = "How did Russia respond to the crisis in Belarus?"
DECLINED = "What is the best recipe for sourdough bread?"
CHAT_TEXT = [".gradio-container"]


def _fill_chat(page) -> None:
    """An answer with its passage and details open, a refusal with its details open, the collection listed."""
    ask(page, ANSWERED)
    ask(page, DECLINED)
    page.locator(".cite-chip").first.click()
    for details in page.locator(".conversation details.details, .nearest, #collection details").all():
        details.evaluate("d => { d.open = true; }")
    page.click("#settings button, #settings .label-wrap")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_text_of_the_chat_meets_wcag_aa_contrast(browser, server, theme):
    context = dict(DESKTOP, color_scheme=theme)
    with open_page(browser, server + ("?__theme=dark" if theme == "dark" else ""), **context) as page:
        if theme == "dark":
            assert page.evaluate("document.querySelector('.dark') !== null"), "the dark theme did not apply"
        _fill_chat(page)
        measured = contrast(page, CHAT_TEXT)
        kinds = {m["cls"].split()[0] if m["cls"] else m["tag"] for m in measured}
        assert {"app-sub", "cite-chip", "meta", "where"} <= kinds, kinds
        assert any(m["tag"] == "mark" for m in measured), "no highlighted sentence was measured"
        shot(page, f"contrast-{theme}")
        _assert_readable(measured)
        page.get_by_role("tab", name="Corpus").click()
        page.click("#remove")
        page.wait_for_selector("#corpus-status .status.error")
        page.wait_for_timeout(600)
        _assert_readable(contrast(page, CHAT_TEXT))


def _assert_readable(measured: list[dict]) -> None:
    failing = [m for m in measured if m["ratio"] < m["need"]]
    assert not failing, f"{len(failing)} of {len(measured)} texts under WCAG AA: {failing[:8]}"


def test_dark_mode_highlights_stay_readable(browser, server):
    """The highlighted sentence was near-white on pale yellow in dark mode."""
    with open_page(browser, server + "?__theme=dark", **dict(DESKTOP, color_scheme="dark")) as page:
        ask(page, ANSWERED)
        page.locator(".cite-chip").first.click()
        marks = [m for m in contrast(page, [".conversation"]) if m["tag"] == "mark"]
        assert marks and all(m["ratio"] >= 4.5 for m in marks), marks
        lit = page.evaluate("getComputedStyle(document.querySelector('mark:not(.dim)')).backgroundColor")
        assert sum(map(int, re.findall(r"\d+", lit)[:3])) < 3 * 160, f"a light highlight in dark mode: {lit}"
        shot(page, "dark", readme=True)


def test_phone_layout_fits_and_keeps_the_question_box_in_view(browser, server):
    with open_page(browser, server, **PHONE) as page:
        _assert_box_visible(page)
        ask(page, ANSWERED)
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "phone", readme=True)
        ask(page, "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?")
        page.locator(".cite-chip").last.click()
        _assert_box_visible(page)
        assert _horizontal_overflow(page) <= 0
        small = page.evaluate("""() => Array.from(document.querySelectorAll(
            '.cite-chip, #examples button, #turn-actions button, #ask, #attach, .copy-btn, summary'))
            .map(e => [e, e.getBoundingClientRect()]).filter(([e, r]) => r.width > 0)
            .filter(([e, r]) => r.width < 24 || r.height < 24)
            .map(([e, r]) => [e.id || e.parentElement.className, Math.round(r.width), Math.round(r.height)])""")
        assert small == [], f"tap targets under 24 px: {small}"
        assert _nested_scroll_boxes(page) == []
        page.get_by_role("tab", name="Corpus").click()
        page.wait_for_selector("#corpus-table table")
        assert _horizontal_overflow(page) <= 0, "the corpus table overflows the phone screen"
        shot(page, "phone-corpus")


def _assert_box_visible(page) -> None:
    box = page.locator("#question textarea").bounding_box()
    height = page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"question box at {box}, screen {height} px high"


def _horizontal_overflow(page) -> float:
    """How far the page is wider than the screen."""
    return page.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")


def _nested_scroll_boxes(page) -> list[str]:
    """Elements that scroll on their own inside the scrolling page (text areas excepted)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.gradio-container *')).filter(e => {
        const s = getComputedStyle(e); return ['auto', 'scroll'].includes(s.overflowY) && e.tagName !== 'TEXTAREA'
            && e.scrollHeight > e.clientHeight + 1 && e.clientHeight > 0; }).map(e => e.id || e.className)""")
