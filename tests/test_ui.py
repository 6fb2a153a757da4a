"""The web chat served for real on loopback and driven through gradio_client."""

import socket

import pytest
from gradio_client import Client

from assistant.chain import build_assistant
from assistant.ui import create_app, launch


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    from assistant.settings import PROJECT_ROOT, Settings

    settings = Settings.from_env(env={}, data_dir=tmp_path_factory.mktemp("ui") / "data",
                                 knowledge_dir=PROJECT_ROOT / "knowledge", port=free_port())
    assistant = build_assistant(settings, embeddings=embeddings)
    assistant.ensure_corpus()
    app, url = launch(assistant, block=False)
    yield assistant, url
    app.close()


def test_create_app_builds_without_a_server(essay_assistant):
    app = create_app(essay_assistant)
    assert "chat" in {fn.api_name for fn in app.fns.values()}


def test_chat_endpoint_streams_a_cited_answer(server):
    _, url = server
    client = Client(url, verbose=False)
    job = client.submit(message="What did Moscow do after the disputed election in Kyrgyzstan?", api_name="/chat")
    updates = list(job)
    final = job.outputs()[-1]
    assert len(updates) >= 2
    assert "**[1]**" in final and "**Sources**" in final and "paragraph 3" in final
    client.close()


def test_chat_endpoint_refuses_off_topic_questions(server):
    _, url = server
    client = Client(url, verbose=False)
    reply = client.predict(message="What is the boiling point of water on Everest?", api_name="/chat")
    assert reply.startswith("**Not covered by the sources.**") and "Sources" not in reply
    client.close()


def test_served_on_loopback_only(server):
    assistant, url = server
    assert url.startswith("http://127.0.0.1:")
