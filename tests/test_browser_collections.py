"""The collection picker in a real browser (issue 8): answers come from the picked collection, in a conversation
of their own; the Corpus tab lists and adds to it; a typed name starts a collection; a read-only server keeps the
picker but no upload or removal."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file

from .browser_kit import ESSAY_TITLE, GLACIERS, ask, goto, open_page, shot
from .conftest import served_essay

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory, embeddings):
    """The essay in the default collection and a glacier survey in `glaciers` (uploaded as any client would)."""
    folder = tmp_path_factory.mktemp("picker")
    (folder / "glaciers.md").write_text(GLACIERS)
    with served_essay(folder / "data", embeddings) as (assistant, url):
        client = Client(url, verbose=False)
        client.predict([handle_file(str(folder / "glaciers.md"))], "glaciers", api_name="/upload")
        yield assistant, url, client
        client.close()


@pytest.fixture
def page(browser, served):
    with open_page(browser, served[1]) as page:
        yield page


def pick(page, name: str) -> None:
    """Choose a listed collection in the picker and wait until the views show it."""
    page.click("#collection-picker input")
    page.locator("#collection-picker ul[role=listbox] li", has_text=f"{name} (").click()
    page.wait_for_function(f"document.querySelector('#collection').innerText.includes('“{name}”')", timeout=15000)


def type_name(page, name: str) -> None:
    """Type a collection name into the picker and confirm it with Enter."""
    page.fill("#collection-picker input", name)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)


def picker_options(page) -> list[str]:
    page.click("#collection-picker input")
    options = page.locator("#collection-picker ul[role=listbox] li").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.replace("✓", "").strip() for o in options]


def cited_titles(page, turn: int = -1) -> set[str]:
    """The source titles the turn's answer cites (its Sources list)."""
    return set(page.locator(".conversation > .turn").nth(turn).locator(".source-head b").all_text_contents())


def titles_in(client, collection: str) -> set[str]:
    return {d["title"] for d in client.predict(collection=collection, api_name="/documents")}


def test_switching_collection_answers_from_it_in_a_new_conversation(page, served):
    _, _, client = served
    assert "knowledge (1 document)" in picker_options(page) and "glaciers (1 document)" in picker_options(page)
    ask(page, "What did Moscow do after the disputed election in Kyrgyzstan?")
    assert cited_titles(page) == {ESSAY_TITLE}
    pick(page, "glaciers")
    page.wait_for_selector(".conversation.empty")  # a new conversation: the essay answer is not followed up here
    page.wait_for_function("document.querySelectorAll('#chat-list input').length === 2", timeout=15000)
    ask(page, "How much length did the Rhone glacier lose in 2022?")
    cited = cited_titles(page)
    assert cited and cited <= titles_in(client, "glaciers") and not cited & titles_in(client, "knowledge")
    page.locator(".conversation .details summary").last.click()
    assert "Collection: glaciers" in page.locator(".conversation .details").last.inner_text()
    assert "glaciers" in page.locator("#chat-list label", has_text="Rhone").inner_text()
    page.click("#collection-picker input")
    page.wait_for_timeout(500)  # the list has faded in
    shot(page, "collection-picker", readme=True)
    page.keyboard.press("Escape")
    page.locator("#chat-list label", has_text="Kyrgyzstan").click()  # the saved conversation picks its collection
    page.wait_for_function("document.querySelector('#collection').innerText.includes('“knowledge”')", timeout=15000)
    assert page.input_value("#collection-picker input").startswith("knowledge")
    ask(page, "And what about Belarus?")
    assert cited_titles(page) == {ESSAY_TITLE} and page.locator(".conversation > .turn").count() == 2


def test_the_corpus_tab_follows_the_picker(page):
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_selector("#corpus-table table")
    assert "Russia" in page.inner_text("#corpus-table") and "glacier" not in page.inner_text("#corpus-table")
    pick(page, "glaciers")
    page.wait_for_function("document.querySelector('#corpus-table').innerText.includes('Alpine glacier survey')",
                           timeout=15000)
    table = page.inner_text("#corpus-table")
    assert "Russia" not in table and "1 document in “glaciers”" in table
    page.click("#remove-choice input")
    removable = page.locator("#remove-choice ul[role=listbox] li").all_inner_texts()
    page.keyboard.press("Escape")
    assert len(removable) == 1 and "Alpine glacier survey" in removable[0]
    page.wait_for_timeout(500)  # the closed lists have faded out
    shot(page, "collection-picker-corpus")


def test_a_typed_name_starts_a_collection_listed_after_its_first_upload(page, served, tmp_path):
    _, _, client = served
    type_name(page, "x")
    page.wait_for_selector("#collection-status .status.error")
    assert "collection name 'x' is not valid" in page.inner_text("#collection-status")
    assert page.input_value("#collection-picker input").startswith("knowledge")
    type_name(page, "field-notes")
    page.wait_for_function("document.querySelector('#collection').innerText.includes('“field-notes”')",
                           timeout=15000)
    assert "No documents yet in “field-notes”" in page.inner_text("#collection")
    assert not any(o.startswith("field-notes") for o in picker_options(page))
    note = tmp_path / "moraine-note.txt"
    note.write_text("A terminal moraine marks the furthest advance of the Rhone glacier in 1856.")
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", str(note))
    page.wait_for_function("document.querySelector('#corpus-status').innerText.includes('moraine-note.txt: added')",
                           timeout=60000)
    assert "field-notes (1 document)" in picker_options(page)
    assert titles_in(client, "field-notes") == {"Moraine note"}
    assert "Moraine note" not in titles_in(client, "knowledge") | titles_in(client, "glaciers")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "What marks the furthest advance of the Rhone glacier?")
    assert cited_titles(page) == {"Moraine note"}


def test_a_read_only_server_keeps_the_picker_without_upload_or_removal(browser, served, embeddings):
    assistant, _, _ = served
    with served_essay(assistant.settings.data_dir, embeddings, read_only=True) as (_, url), \
            open_page(browser, url) as page:
        assert not page.locator("#attach").is_visible()
        pick(page, "glaciers")
        ask(page, "How much length did the Rhone glacier lose in 2022?")
        assert cited_titles(page) == {"Alpine glacier survey"}
        type_name(page, "new-notes")  # only the collections there are can be picked: the text goes back
        page.click("#question textarea")
        page.wait_for_function("document.querySelector('#collection-picker input').value.startsWith('glaciers')",
                               timeout=15000)
        assert "“glaciers”" in page.inner_text("#collection")
        page.get_by_role("tab", name="Corpus").click()
        assert "Alpine glacier survey" in page.inner_text("#corpus-table")
        assert page.locator("#upload input[type=file]").count() == 0 and not page.locator("#remove").is_visible()
        goto(page, url)  # a reload opens on the saved conversation, and picks its collection again
        page.wait_for_function("document.querySelector('#collection').innerText.includes('“glaciers”')",
                               timeout=15000)
