"""The login form and the read-only page in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import pytest

from .browser_kit import DESKTOP, ask, goto, shot
from .conftest import served_essay

pytestmark = pytest.mark.browser


def test_the_login_form_lets_the_right_password_in_and_says_when_it_is_wrong(browser, tmp_path, embeddings):
    with served_essay(tmp_path / "data", embeddings, auth_user="analyst", auth_password="s3cret-pass",
                      login_max_failures=2, login_lockout_seconds=30) as (_, url):
        context = browser.new_context(**DESKTOP)
        page = context.new_page()
        try:
            page.goto(url)
            assert page.locator("#question").count() == 0 and page.title().startswith("Log in")
            page.fill("#username", "analyst")
            page.fill("#password", "wrong")
            page.click("button[type=submit]")
            page.wait_for_function("document.getElementById('message').textContent.length > 0")
            assert page.inner_text("#message") == "Wrong user name or password."
            page.fill("#password", "s3cret-pass")
            page.click("button[type=submit]")  # the form reloads the page, which is now the app
            page.wait_for_selector("#question textarea", timeout=60000)
            page.wait_for_function("document.querySelector('#chat-list input') !== null"
                                   " && document.querySelector('#collection .collection') !== null", timeout=30000)
            ask(page, "How did Russia respond to the crisis in Belarus?")
            assert page.locator(".cite-chip").count() >= 1
        finally:
            context.close()


def test_a_locked_out_client_is_told_how_long_to_wait(browser, tmp_path, embeddings):
    with served_essay(tmp_path / "data", embeddings, auth_user="analyst", auth_password="s3cret-pass",
                      login_max_failures=1, login_lockout_seconds=30) as (_, url):
        context = browser.new_context(**DESKTOP)
        page = context.new_page()
        try:
            page.goto(url)
            for _ in range(2):
                page.fill("#username", "analyst")
                page.fill("#password", "wrong")
                page.click("button[type=submit]")
                page.wait_for_timeout(300)
            assert "too many failed logins from this address; try again in" in page.inner_text("#message")
            shot(page, "login-locked")
        finally:
            context.close()


def test_a_read_only_server_shows_no_upload_or_removal(browser, tmp_path, embeddings):
    from assistant.chain import build_assistant
    from assistant.settings import PROJECT_ROOT, Settings

    data = tmp_path / "data"
    build_assistant(Settings.from_env(env={}, data_dir=data, knowledge_dir=PROJECT_ROOT / "knowledge"),
                    embeddings=embeddings).ensure_corpus()
    with served_essay(data, embeddings, read_only=True) as (_, url):
        context = browser.new_context(**DESKTOP)
        page = context.new_page()
        try:
            goto(page, url)
            assert page.locator("#attach").count() == 0 or not page.locator("#attach").is_visible()
            page.get_by_role("tab", name="Corpus").click()
            page.wait_for_selector("#read-only")
            assert "This server is read-only" in page.inner_text("#read-only")
            assert page.locator("#upload input[type=file]").count() == 0
            assert page.locator("#remove").count() == 0 or not page.locator("#remove").is_visible()
            assert page.locator("#corpus-table").inner_text().count("Russia") >= 1
        finally:
            context.close()
