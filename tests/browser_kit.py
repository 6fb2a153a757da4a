"""What the browser tests share: Debian's chromium driven by Playwright against a real server, pages with the
network cut, and in-page measurements (WCAG contrast, layout) computed from the browser's own styles."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from assistant.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
DOCS = PROJECT_ROOT / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
FINISHED = ".conversation > .turn .tools, .conversation > .turn .answer.refused"


@contextmanager
def chromium():
    """A headless chromium for a test module, or a skip saying how to get one."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def open_page(browser, url: str, **context):
    """A page on the app with the network cut: anything not on loopback is aborted and recorded."""
    ctx = browser.new_context(**(context or DESKTOP))
    page = ctx.new_page()
    page.outside = []
    page.errors = []

    def guard(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    goto(page, url)
    try:
        yield page
    finally:
        ctx.close()
# A second small document the corpus and collection tests upload, and the essay's title as the chat shows it.
ESSAY_TITLE = "Russia's Responses to the 2020 Crises in Belarus, Nagorno-Karabakh and Kyrgyzstan"
GLACIERS = """# Alpine glacier survey

## Retreat rates

The Rhone glacier lost 40 metres of length in 2022, the survey says.

## Meltwater lakes

Meltwater lakes formed below the Trift glacier after the ice retreated in the 1990s.
"""


def goto(page, url: str) -> None:
    """Load the app and wait until the saved conversation and the corpus views have been filled in."""
    page.goto(url)
    page.wait_for_selector("#question textarea")
    page.wait_for_function("document.querySelector('#chat-list input') !== null"
                           " && document.querySelector('#collection .collection') !== null", timeout=30000)


def finished(page) -> int:
    """How many answers (or refusals) the conversation shows complete."""
    return page.locator(FINISHED).count()


def ask(page, question: str, timeout: int = 60000) -> None:
    """Type a question, press Ask and wait for its answer to be complete."""
    count = finished(page)
    page.fill("#question textarea", question)
    page.click("#ask")
    wait_finished(page, count + 1, timeout)


def wait_finished(page, count: int, timeout: int = 60000) -> None:
    """Wait until `count` answers are complete and the Ask button is back."""
    page.wait_for_function(f"document.querySelectorAll({FINISHED!r}).length >= {count}"
                           " && !document.querySelector('.conversation .unfinished')", timeout=timeout)
    page.wait_for_selector("#ask", state="visible")


def shot(page, name: str, *, full_page: bool = False, readme: bool = False) -> Path:
    """Save a screenshot in test-artifacts/ (and over docs/screenshot-NAME.png when ASSISTANT_UPDATE_SCREENSHOTS=1
    and `readme` is set, so README pictures are always taken by the tests)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if readme and os.environ.get("ASSISTANT_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / f"screenshot-{name}.png")
    return path


def contrast(page, selectors: list[str]) -> list[dict]:
    """Every visible text element under the selectors with its contrast ratio and the ratio WCAG AA needs."""
    script = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")
    return page.evaluate(script.split("\n", 2)[2], selectors)
