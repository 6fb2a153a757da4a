"""The same ingest and chain against a real `chroma run` server on loopback (ASSISTANT_CHROMA_HOST)."""


import pytest

from assistant.chain import build_assistant
from assistant.ingest import ingest
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store, StoreError

from .conftest import chroma_server, free_port


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory):
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as port:
        yield port


def test_ingest_and_answer_through_a_chroma_server(tmp_path, embeddings, chroma_port):
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=PROJECT_ROOT / "knowledge",
                                 chroma_host="127.0.0.1", chroma_port=chroma_port, collection="server-test")
    assistant = build_assistant(settings, embeddings=embeddings)
    report = ingest([PROJECT_ROOT / "knowledge"], store=assistant.store, embeddings=embeddings)
    assert report.added == ["russia-crisis-responses"]
    assert not (tmp_path / "data" / "chroma").exists()
    answer = assistant.ask("What could Russia have done with its economic leverage in Kyrgyzstan?")
    assert not answer.refused and answer.citations
    assert "Kyrgyz" in answer.citations[0].text
    assert Store(settings=settings).count() == assistant.store.count() > 0


def test_an_unreachable_chroma_server_is_a_one_line_error(tmp_path):
    settings = Settings.from_env(env={}, data_dir=tmp_path, chroma_host="127.0.0.1", chroma_port=free_port())
    store = Store(settings=settings)  # Chroma is reached on first use, not on open
    with pytest.raises(StoreError, match="cannot open Chroma at 127.0.0.1:"):
        store.count()
