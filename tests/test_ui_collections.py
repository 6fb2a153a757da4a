"""Named collections through the web chat's endpoints (issue 8): a real server over the essay (the default
collection) and a second collection made by uploading into it, driven through gradio_client and plain HTTP."""

from __future__ import annotations

from html import escape

import pytest
from gradio_client import Client, handle_file

from .conftest import served_essay
from .webkit import call

GLACIERS = """# Alpine glacier survey

## Retreat rates

The Rhone glacier lost 40 metres of length in 2022, the survey says.

## Meltwater lakes

Meltwater lakes formed below the Trift glacier after the ice retreated in the 1990s.
"""
GLACIER_QUESTION = "How much length did the Rhone glacier lose in 2022?"
ESSAY_QUESTION = "What did Moscow do after the disputed election in Kyrgyzstan?"
ESSAY_TITLE = "Russia's Responses to the 2020 Crises in Belarus, Nagorno-Karabakh and Kyrgyzstan"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embeddings):
    """The essay in the default collection, and `glaciers` made by uploading a survey into it."""
    folder = tmp_path_factory.mktemp("collections")
    survey = folder / "glaciers.md"
    survey.write_text(GLACIERS)
    with served_essay(folder / "data", embeddings) as (assistant, url):
        client = Client(url, verbose=False)
        status, *_ = client.predict([handle_file(str(survey))], "glaciers", api_name="/upload")
        assert "glaciers.md: added" in status
        yield assistant, url, client
        client.close()


def _titles(answer: dict) -> set[str]:
    return {c["title"] for c in answer["citations"]}


def test_upload_into_a_new_collection_makes_it_and_leaves_the_default_alone(served):
    _, _, client = served
    collections = {c["name"]: c for c in client.predict(api_name="/collections")}
    assert set(collections) >= {"knowledge", "glaciers"} and collections["glaciers"]["documents"] == 1
    assert [d["title"] for d in client.predict(collection="glaciers", api_name="/documents")] == \
        ["Alpine glacier survey"]
    assert ESSAY_TITLE in [d["title"] for d in client.predict(api_name="/documents")]
    assert "Alpine glacier survey" not in [d["title"] for d in client.predict(api_name="/documents")]


def test_the_same_server_answers_from_the_collection_asked(served):
    _, _, client = served
    in_glaciers = client.predict(message=GLACIER_QUESTION, collection="glaciers", api_name="/chat")
    in_default = client.predict(message=GLACIER_QUESTION, api_name="/chat")
    assert not in_glaciers["refused"] and _titles(in_glaciers) == {"Alpine glacier survey"}
    assert in_glaciers["collection"] == "glaciers" and "40 metres" in in_glaciers["answer"]
    assert "Alpine glacier survey" not in _titles(in_default) and in_default["collection"] == "knowledge"
    essay = client.predict(message=ESSAY_QUESTION, collection="knowledge", api_name="/chat")
    off = client.predict(message=ESSAY_QUESTION, collection="glaciers", api_name="/chat")
    assert _titles(essay) == {ESSAY_TITLE} and ESSAY_TITLE not in _titles(off)


def test_an_unknown_collection_is_named_with_the_existing_ones(served):
    _, _, client = served
    for api, args in (("/chat", {"message": GLACIER_QUESTION}), ("/documents", {})):
        error = client.predict(collection="moraines", api_name=api, **args)["error"]
        assert error == "no collection named 'moraines'; the collections are: glaciers, knowledge"
    assert client.predict(doc_id="x-1", collection="moraines", api_name="/remove")["error"].startswith(
        "no collection named 'moraines'")


@pytest.mark.parametrize(("collection", "expected"), [
    ("a", "collection name 'a' is not valid"),
    ("../etc", "collection name '../etc' is not valid"),
    (7, "input 4 of /chat (collection) must be text, not a number"),
    (["glaciers"], "input 4 of /chat (collection) must be text, not a list"),
    ("g" * 513, "input 4 of /chat (collection) is 513 characters long; at most 512"),
])
def test_bad_collection_names_get_one_line(served, collection, expected):
    _, url, _ = served
    status, payload = call(url, "chat", [GLACIER_QUESTION, None, None, collection])
    message = payload["data"][0]["error"] if status == 200 else payload["error"]
    assert status in (200, 422) and expected in message and "\n" not in message


def test_upload_and_remove_take_the_collection(served, tmp_path):
    assistant, url, client = served
    note = tmp_path / "firn-note.txt"
    note.write_text("Firn is snow that has survived one melt season on the Rhone glacier.")
    status, table, *_ = client.predict([handle_file(str(note))], "glaciers", api_name="/upload")
    assert "firn-note.txt: added" in status and "Firn note" in table and ESSAY_TITLE not in table
    doc_id = next(d["doc_id"] for d in client.predict(collection="glaciers", api_name="/documents")
                  if d["title"] == "Firn note")
    assert client.predict(doc_id=doc_id, api_name="/remove")["error"].startswith("no document")
    assert client.predict(doc_id=doc_id, collection="glaciers", api_name="/remove")["removed"] == doc_id
    assert (assistant.settings.uploads_dir / "glaciers" / "glaciers.md").is_file()
    assert not (assistant.settings.uploads_dir / "glaciers" / "firn-note.txt").exists()
    bad = call(url, "upload", [[], "a"])
    assert bad[0] == 200 and "Not added: collection name &#x27;a&#x27; is not valid" in bad[1]["data"][0]


def test_the_page_chat_event_asks_the_picked_collection(served):
    _, url, _ = served
    status, result = call(url, "ui_chat", [GLACIER_QUESTION, None, 4, False, "glaciers"])
    assert status == 200 and result["event"] == "complete", result
    html, store = result["data"][:2]
    assert "Alpine glacier survey" in html and "<b>Collection:</b> glaciers" in html
    chat = store["chats"][0]
    assert chat["collection"] == "glaciers" and chat["turns"][0]["collection"] == "glaciers"
    status, result = call(url, "ui_chat", [ESSAY_QUESTION, store, 4, False, "knowledge"])
    after = result["data"][1]
    assert len(after["chats"]) == 2, "asking another collection started a new conversation"
    assert [t["collection"] for t in after["chats"][0]["turns"]] == ["knowledge"]
    assert [t["collection"] for t in after["chats"][1]["turns"]] == ["glaciers"]
    assert escape(ESSAY_TITLE) in result["data"][0] and "Alpine glacier survey" not in result["data"][0]
