"""The corpus in a real browser (issue 9): views read from the store in every page (point 2), what the chat
knows and examples from the corpus (6), removal by title (7), one-step uploads with errors by the upload area
(8), and no internal paths on screen (11)."""

import re

import pytest
from gradio_client import Client, handle_file

from assistant.documents import SUPPORTED_SUFFIXES
from assistant.examples import short_title

from .browser_kit import ESSAY_TITLE, GLACIERS, ask, goto, open_page, shot
from .conftest import served_essay

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory, embeddings):
    with served_essay(tmp_path_factory.mktemp("corpus") / "data", embeddings) as served:
        yield served


@pytest.fixture
def server(served):
    return served[1]


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as page:
        yield page


def _upload(page, path, *, where: str = "#upload") -> None:
    """Choose a file in an upload area (that alone adds it) and wait for its status line."""
    status = "#corpus-status" if where == "#upload" else "#attach-status"
    if where == "#upload":
        page.get_by_role("tab", name="Corpus").click()
    page.set_input_files(f"{where} input[type=file]", str(path))
    page.wait_for_selector(f"{status} .status", timeout=60000)


def _picker_labels(page) -> list[str]:
    page.click("#remove-choice input")
    labels = page.locator("ul[role=listbox] li").all_inner_texts()
    page.keyboard.press("Escape")
    return labels


def test_every_open_page_and_every_new_page_reads_the_store(browser, page, server, tmp_path):
    """Point 2: a page opened before the change, one opened after, and one left on the Corpus tab all list a
    document added elsewhere (here through the API, as another client would), and lose it when it is removed."""
    other = tmp_path / "aral-sea.txt"
    other.write_text("The Aral Sea shrank by ninety percent after rivers were diverted for cotton.")
    with open_page(browser, server) as watcher:
        watcher.get_by_role("tab", name="Corpus").click()
        client = Client(server, verbose=False)
        client.predict([handle_file(str(other))], api_name="/upload")
        watcher.wait_for_function("document.querySelector('#corpus-table').innerText.includes('Aral sea')",
                                  timeout=15000)
        assert any("Aral sea" in label for label in _picker_labels(watcher))
        with open_page(browser, server) as fresh:
            assert "Aral sea" in fresh.inner_text("#collection")
            fresh.get_by_role("tab", name="Corpus").click()
            assert "Aral sea" in fresh.inner_text("#corpus-table")
        page.wait_for_function("document.querySelector('#collection').innerText.includes('2 documents')",
                               timeout=15000)
        doc_id = next(d["doc_id"] for d in client.predict(api_name="/documents") if d["title"] == "Aral sea")
        client.predict(doc_id=doc_id, api_name="/remove")
        client.close()
        watcher.wait_for_function("!document.querySelector('#corpus-table').innerText.includes('Aral sea')",
                                  timeout=15000)
        goto(watcher, server)
        assert "1 document" in watcher.inner_text("#collection")


def test_the_chat_says_what_it_knows_and_its_examples_come_from_the_corpus(page, served, tmp_path):
    """Point 6: documents (count, titles) on the chat tab; example questions built from titles and headings,
    still reachable after the first question."""
    assistant, _ = served
    collection = page.inner_text("#collection")
    assert re.search(r"\b1 document\b", collection) and ESSAY_TITLE in collection
    examples = page.locator("#examples button.example:visible").all_inner_texts()
    assert examples and all("the document" in e for e in examples), examples
    assert any(name in " ".join(examples) for name in ("Belarus", "Kyrgyzstan", "Nagorno-Karabakh"))
    doc = tmp_path / "alpine-glaciers.md"
    doc.write_text(GLACIERS)
    _upload(page, doc, where="#collection-row")
    page.wait_for_function("Array.from(document.querySelectorAll('#examples button.example'))"
                           ".some(b => b.innerText.includes('Retreat rates'))", timeout=15000)
    examples = page.locator("#examples button.example:visible").all_inner_texts()
    assert any(short_title(ESSAY_TITLE) in e for e in examples) and "the document" not in " ".join(examples)
    assert "2 documents" in page.inner_text("#collection")
    page.locator("#examples button.example", has_text="Meltwater lakes").click()
    page.wait_for_selector(".conversation > .turn .tools", timeout=60000)
    assert "Trift" in page.inner_text(".conversation .answer")
    assert page.locator("#examples").is_visible()
    page.click("#examples .label-wrap")
    assert page.locator("#examples button.example", has_text="Retreat rates").is_visible()
    doc_id = next(d for d in assistant.store.manifest.documents if d.startswith("alpine-glaciers"))
    page.get_by_role("tab", name="Corpus").click()
    page.click("#remove-choice input")
    page.get_by_role("option", name=re.compile("Alpine glacier survey")).click()
    page.click("#remove")
    page.click("#confirm-remove")
    page.wait_for_selector("#corpus-status .status.ok")
    assert doc_id not in assistant.store.manifest.documents


def test_removal_preselects_nothing_and_confirms_by_title(page, tmp_path):
    """Point 7: the picker starts empty; the confirmation and the result name the title, not an id."""
    page.get_by_role("tab", name="Corpus").click()
    page.wait_for_function("document.querySelector('#corpus-table').innerText.includes('Russia')")
    assert page.input_value("#remove-choice input") == "", "a document was preselected for removal"
    doc = tmp_path / "short-lived.txt"
    doc.write_text("The short-lived note says Mongolia built a railway to the coast of nowhere.")
    _upload(page, doc)
    page.wait_for_function("document.querySelector('#corpus-table').innerText.includes('Short lived')")
    page.click("#remove")
    page.wait_for_function("document.querySelector('#corpus-status').innerText.includes('Choose a document')")
    page.click("#remove-choice input")
    page.get_by_role("option", name=re.compile("Short lived")).click()
    page.click("#remove")
    page.wait_for_selector("#confirm-remove", state="visible")
    confirm = page.inner_text("#confirm-row")
    assert "Remove “Short lived” and all its passages?" in confirm and "short-lived-" not in confirm
    page.click("#confirm-remove")
    page.wait_for_function("document.querySelector('#corpus-status').innerText.includes('Removed “Short lived”')")
    assert "Short lived" not in page.inner_text("#corpus-table")
    assert page.input_value("#remove-choice input") == ""


def test_uploading_is_one_step_also_by_dropping_on_the_chat(page, tmp_path):
    """Point 8: choosing files adds them; files dropped on the chat are added too; no second button."""
    doc, survey = tmp_path / "tajik-water.md", tmp_path / "danube-survey.md"
    doc.write_text("# Tajik water\n\nTajikistan and Uzbekistan share the Vakhsh river under a 2024 accord.\n")
    survey.write_text("# Danube survey\n\n" + "\n\n".join(
        f"Survey {n} counted {n} pelican colonies in the Danube delta near Tulcea, where reed beds retreat. " * 3
        for n in range(40)))
    page.get_by_role("tab", name="Corpus").click()
    page.set_input_files("#upload input[type=file]", [str(doc), str(survey)])
    page.wait_for_function("document.querySelector('#corpus-status').innerText"
                           ".includes('Adding danube-survey.md (2 of 2)')", timeout=60000)
    page.wait_for_selector("#corpus-status .status.ok >> nth=1", timeout=60000)
    assert "tajik-water.md: added" in page.inner_text("#corpus-status")
    assert "danube-survey.md: added" in page.inner_text("#corpus-status")
    assert page.locator("#add-docs").count() == 0
    page.get_by_role("tab", name="Chat").click()
    page.evaluate("""() => { const dt = new DataTransfer();
        dt.items.add(new File(['The Caspian caviar quota was cut in 2011 to save the sturgeon.'], 'caspian.txt',
                              {type: 'text/plain'}));
        const target = document.querySelector('#conversation');
        for (const type of ['dragenter', 'dragover', 'drop'])
            target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true})); }""")
    page.wait_for_selector("#attach-status .status.ok", timeout=60000)
    assert "caspian.txt: added" in page.inner_text("#attach-status")
    ask(page, "When was the Caspian caviar quota cut?")
    assert "2011" in page.locator(".conversation .answer").last.inner_text()


def test_upload_errors_show_by_the_upload_area_and_types_follow_ingest(page, tmp_path):
    """Point 8: unsupported, oversized and unreadable files are named next to the upload area, with no toast;
    the accepted types are what ingest supports."""
    page.get_by_role("tab", name="Corpus").click()
    accept = page.get_attribute("#upload input[type=file]", "accept")
    assert [t.strip() for t in accept.split(",")] == list(SUPPORTED_SUFFIXES)
    assert all(suffix in page.inner_text("#upload") for suffix in SUPPORTED_SUFFIXES)
    tool, big, photo = tmp_path / "tool.exe", tmp_path / "big.txt", tmp_path / "photo.txt"
    tool.write_bytes(b"MZ")
    big.write_bytes(b"word " * (1024 * 1024 + 10))
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00IHDR")
    page.set_input_files("#upload input[type=file]", [str(tool), str(big)])
    page.wait_for_selector("#upload-rejected .status.error")
    rejected = page.inner_text("#upload-rejected")
    assert "tool.exe: unsupported file type" in rejected and "big.txt" in rejected and "5 MB" in rejected
    page.set_input_files("#upload input[type=file]", str(photo))
    page.wait_for_selector("#corpus-status .status.error", timeout=60000)
    assert "photo.txt: looks like a binary file" in page.inner_text("#corpus-status")
    page.wait_for_timeout(500)
    assert page.locator(".toast-body, .toast-wrap .toast").count() == 0
    shot(page, "corpus-upload-errors")


def test_no_internal_paths_are_shown(page, served, tmp_path):
    """Point 11: neither the uploads folder nor the data or Chroma folders appear anywhere on screen."""
    assistant, _ = served
    doc = tmp_path / "path-check.md"
    doc.write_text("# Path check\n\nThe path check note says the Volga flows into the Caspian Sea.\n")
    _upload(page, doc)
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Where does the Volga flow according to the path check note?")
    page.locator(".cite-chip").last.click()
    page.click("#settings .label-wrap")
    screens = [page.inner_text("body")]
    page.get_by_role("tab", name="Corpus").click()
    screens.append(page.inner_text("body"))
    settings = assistant.settings
    for text in screens:
        assert "uploads/" not in text and ".data" not in text
        assert str(settings.data_dir) not in text and str(settings.chroma_dir) not in text
    assert "path-check.md" in screens[1]
