"""The web chat served for real on loopback and driven through gradio_client."""

import pytest
from gradio_client import Client, handle_file

from assistant.chain import build_assistant
from assistant.render import answer_html, conversation_markdown
from assistant.settings import PROJECT_ROOT, Settings
from assistant.ui import create_app, launch

from .conftest import free_port, served_essay

UPLOAD = """# Tajik water diplomacy

Tajikistan and Uzbekistan signed a water-sharing accord for the Vakhsh river in 2024.
The accord created a joint commission that meets twice a year in Dushanbe.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    with served_essay(tmp_path_factory.mktemp("ui") / "data", embeddings) as (assistant, url):
        client = Client(url, verbose=False)
        yield assistant, url, client
        client.close()


def test_create_app_builds_without_a_server(essay_assistant):
    app = create_app(essay_assistant)
    names = {fn.api_name for fn in app.fns.values()}
    assert {"chat", "documents", "remove", "upload", "ui_chat"} <= names


def test_chat_endpoint_returns_a_cited_answer(server):
    _, _, client = server
    data = client.predict(message="What did Moscow do after the disputed election in Kyrgyzstan?", api_name="/chat")
    assert data["refused"] is False and data["citations"]
    assert all(f"[{c['id']}]" in data["answer"] for c in data["citations"])
    assert data["citations"][0]["paragraph"] == 3


def test_chat_endpoint_refuses_off_topic_questions(server):
    _, _, client = server
    data = client.predict(message="What is the boiling point of water on Everest?", api_name="/chat")
    assert data["refused"] is True and data["citations"] == []


def test_follow_up_is_rewritten_against_the_previous_question(server):
    _, _, client = server
    first = "How did Russia respond to the crisis in Belarus?"
    data = client.predict(message="And what about Kyrgyzstan?", history=[first], api_name="/chat")
    assert data["search_query"] == "How did Russia respond to the crisis in Kyrgyzstan?"
    assert not data["refused"] and "Kyrgyz" in " ".join(c["text"] for c in data["citations"])


def test_ui_chat_streams_into_the_conversation(server):
    _, _, client = server
    job = client.submit("Why was Moscow unprepared for the fighting in Nagorno-Karabakh?", None, 4, "knowledge",
                        api_name="/ui_chat")  # the client fills in the State (editing) itself
    job.result(timeout=60)
    outputs = job.outputs()
    assert len(outputs) >= 2
    final_html = outputs[-1][0]
    assert 'class="cite-chip"' in final_html and 'class="sources"' in final_html and "<mark data-s=" in final_html
    assert len(outputs[-1][1]["chats"][0]["turns"]) == 1, "the answered turn is saved for the browser's storage"


def test_upload_then_ask_about_the_new_text_then_remove(server, tmp_path):
    assistant, _, client = server
    path = tmp_path / "tajik-water.md"
    path.write_text(UPLOAD)
    status, table, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    assert "tajik-water.md: added" in status and "Tajik water diplomacy" in table
    data = client.predict(message="Where does the joint water commission meet?", api_name="/chat")
    assert not data["refused"] and "Dushanbe" in data["answer"]
    assert data["citations"][0]["title"] == "Tajik water diplomacy"
    doc_id = next(d["doc_id"] for d in client.predict(api_name="/documents") if d["title"] == "Tajik water diplomacy")
    assert client.predict(doc_id=doc_id, api_name="/remove")["removed"] == doc_id
    assert doc_id not in {d["doc_id"] for d in client.predict(api_name="/documents")}
    after = client.predict(message="Where does the joint water commission meet?", api_name="/chat")
    assert "Dushanbe" not in after["answer"]
    assert client.predict(doc_id=doc_id, api_name="/remove")["error"].startswith("no document")


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00IHDR", "binary"),
    ("empty.md", b"\n\n", "empty file"),
    ("big.txt", b"word " * (1024 * 1024 + 10), "upload limit"),
    ("tool.exe", b"MZ", "unsupported file type"),
])
def test_bad_uploads_are_rejected_and_nothing_stored_is_lost(server, tmp_path, name, content, reason):
    assistant, _, client = server
    before = assistant.store.count()
    path = tmp_path / name
    path.write_bytes(content)
    try:
        status, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    except Exception as exc:  # Gradio itself refuses files over max_file_size or of a disallowed type
        assert reason in ("upload limit", "unsupported file type"), exc
    else:
        assert "Not added" in status and reason in status
    assert assistant.store.count() == before
    assert "russia-crisis-responses" in {d["doc_id"] for d in client.predict(api_name="/documents")}


def test_source_text_is_escaped_in_html_and_markdown(essay_assistant):
    answer = essay_assistant.ask("How did Russia respond to the crisis in Belarus?")
    hostile = answer.citations[0].__class__(**{**answer.citations[0].__dict__,
                                              "title": '<script>alert(1)</script>![x](http://evil/x.png)'})
    answer.citations[0] = hostile
    html = answer_html(answer)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = conversation_markdown([answer])
    assert "![x](http" not in md and "\\!\\[x\\]\\(http" in md


def test_basic_auth_keeps_strangers_out(tmp_path, embeddings):
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=PROJECT_ROOT / "knowledge",
                                 port=free_port(), auth_user="analyst", auth_password="s3cret-pass")
    assistant = build_assistant(settings, embeddings=embeddings)
    app, url = launch(assistant, block=False)
    try:
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain ValueError/HTTP error)
            Client(url, verbose=False)
        client = Client(url, auth=("analyst", "s3cret-pass"), verbose=False)
        assert client.predict(api_name="/documents") == []
        client.close()
    finally:
        app.close()


def test_concurrent_questions_all_get_their_own_answers(server):
    _, _, client = server
    questions = ["How did Russia respond to the crisis in Belarus?",
                 "Why was Moscow unprepared for the fighting in Nagorno-Karabakh?",
                 "What could Russia have done to help Kyrgyzstan?",
                 "How do I reverse a linked list in Python?"]
    jobs = [client.submit(message=q, api_name="/chat") for q in questions]
    results = [job.result(timeout=120) for job in jobs]
    assert [r["question"] for r in results] == questions
    assert [r["refused"] for r in results] == [False, False, False, True]


def test_removing_an_upload_also_deletes_its_file(server, tmp_path):
    assistant, _, client = server
    path = tmp_path / "temporary-note.txt"
    path.write_text("A temporary note about the Aral Sea shrinking since the 1960s.")
    client.predict([handle_file(str(path))], api_name="/upload")
    stored = assistant.settings.uploads_dir / "temporary-note.txt"
    assert stored.is_file()
    doc_id = next(d["doc_id"] for d in client.predict(api_name="/documents") if d["title"] == "Temporary note")
    client.predict(doc_id=doc_id, api_name="/remove")
    assert not stored.exists()


def test_streaming_text_is_escaped_and_its_markers_become_chips():
    from assistant.render import streaming_html

    html = streaming_html("Moscow backed him [1]. <script>x</script>")
    assert '<span class="cite-chip pending">1</span>' in html and "&lt;script&gt;" in html and "<script>" not in html


def test_a_failing_store_is_reported_in_the_chat_not_as_a_stack_trace(essay_assistant):
    import dataclasses

    import gradio as gr

    from assistant import chats
    from assistant.chat_tab import Answering, build_chat_tab
    from assistant.retrieval import HybridRetriever
    from assistant.service import ChatService

    class BrokenRetriever(HybridRetriever):
        def passages(self, query, k=None):
            raise RuntimeError(f"Chroma went away at {essay_assistant.settings.chroma_dir}\nsecond line")

    broken = BrokenRetriever(store=essay_assistant.store, embeddings=essay_assistant.embeddings)
    service = ChatService(assistant=dataclasses.replace(essay_assistant, retriever=broken))
    with gr.Blocks():
        tab = build_chat_tab(gr, service, "")
    run = Answering(gr=gr, service=service, tab=tab)
    last = list(run("How did Russia respond in Belarus?", chats.normalised(None), 4, replace_last=False))[-1]
    html = last[tab.conversation]
    assert "Could not answer: Chroma went away at the store</div>" in html
    assert tab.chats not in last and last[tab.box].startswith("How did")
