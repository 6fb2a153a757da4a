"""Crash safety and concurrency with real `python -m assistant` subprocesses, real Chroma and the real model.

A writer is SIGKILLed at named steps (a test hook) and at moments measured from its first commit; after each
kill the manifest and Chroma must account for each other, every command must see them agree, and re-running
the same ingest must complete the work.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from assistant.locking import writer_lock
from assistant.settings import Settings

from . import storetools as st
from .conftest import chroma_server

pytestmark = pytest.mark.slow
BATCH = {"ASSISTANT_INGEST_BATCH": "16"}  # many small write batches, so kills land between and inside them


@pytest.fixture
def corpus(tmp_path, settings):
    folder = tmp_path / "notes"
    st.write_corpus(folder, 30)
    return folder, st.expected_chunks(folder, settings)


def _committed(settings: Settings) -> int:
    rows = st.manifest_rows(settings, "SELECT COUNT(*) FROM documents")
    return rows[0][0] if rows else 0


def _assert_accounted_for(settings: Settings) -> dict:
    """Right after a kill: no half-written document, and every stored chunk is listed or announced."""
    raw = st.store_state(settings)
    assert raw["listed"] <= raw["stored"], "a committed document lost chunks"
    assert raw["stored"] <= raw["listed"] | raw["pending"], "Chroma holds chunks the manifest knows nothing of"
    return raw


def _assert_agree(settings: Settings, expected: dict[str, list[str]] | None = None) -> None:
    """Opened as any command opens it: manifest and Chroma hold exactly the same chunks, nothing pending."""
    store = st.open_store(settings)
    documents = store.manifest.documents
    listed = {c for entry in documents.values() for c in entry["chunk_ids"]}
    assert set(store.stored_ids()) == listed and store.db.pending_count(store.space) == 0
    for doc_id, entry in documents.items():
        if expected is not None:
            assert entry["chunk_ids"] == expected[doc_id], f"{doc_id} is half-written"
    if expected is not None:
        assert set(documents) <= set(expected)


def _rerun_completes(settings: Settings, folder, expected) -> None:
    result = st.run_cli(settings, "ingest", str(folder), **BATCH)
    assert result.returncode == 0, result.stderr
    _assert_agree(settings, expected)
    assert set(st.store_state(settings)["documents"]) == set(expected)


@pytest.mark.parametrize("step", ["after-announce:2", "after-upsert:3", "after-record:4"])
def test_a_kill_at_each_step_of_a_write_leaves_an_agreeing_store(settings, corpus, step):
    folder, expected = corpus
    killed = st.run_cli(settings, "ingest", str(folder), ASSISTANT_TEST_CRASH_AT=step, **BATCH)
    assert killed.returncode == -signal.SIGKILL
    raw = _assert_accounted_for(settings)
    assert 0 < len(raw["documents"]) < len(expected)
    if not step.startswith("after-record"):
        assert raw["pending"], "the interrupted batch was not announced"
    _assert_agree(settings, expected)
    _rerun_completes(settings, folder, expected)


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.2])
def test_a_kill_at_a_moment_of_ingest_leaves_an_agreeing_store(settings, corpus, delay):
    folder, expected = corpus
    writer = st.start_cli(settings, "ingest", str(folder), **BATCH)
    st.wait_for(lambda: _committed(settings) > 0, process=writer)
    time.sleep(delay)
    writer.send_signal(signal.SIGKILL)
    writer.communicate(timeout=60)
    _assert_accounted_for(settings)
    doctor = st.run_cli(settings, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert "ok    agreement 'knowledge': manifest and Chroma agree" in doctor.stdout
    _assert_agree(settings, expected)
    _rerun_completes(settings, folder, expected)


def test_uncommitted_chunks_of_a_killed_ingest_are_never_cited(settings, corpus):
    folder, expected = corpus
    killed = st.run_cli(settings, "ingest", str(folder), ASSISTANT_TEST_CRASH_AT="after-upsert:2", **BATCH)
    assert killed.returncode == -signal.SIGKILL
    raw = _assert_accounted_for(settings)
    orphans = sorted(raw["stored"] - raw["listed"])
    assert orphans, "the kill should leave stored but uncommitted chunks"
    text, orphan_id = max(zip(st.stored_texts(settings, orphans), orphans, strict=True), key=lambda t: len(t[0]))
    orphan_doc = orphan_id.split(":")[0]
    answer = json.loads(st.run_cli(settings, "ask", "--json", text.split(").")[0] + ").").stdout)
    assert answer["citations"], "the question should find the committed notes at least"
    assert orphan_doc not in {c["doc_id"] for c in answer["citations"]}
    docs = json.loads(st.run_cli(settings, "docs", "--json").stdout)
    assert orphan_doc not in {d["doc_id"] for d in docs}
    _assert_agree(settings, expected)


def test_a_kill_while_replacing_changed_files_never_mixes_old_and_new_text(settings, corpus):
    folder, expected = corpus
    assert st.run_cli(settings, "ingest", str(folder), **BATCH).returncode == 0
    for path in sorted(folder.glob("*.md"))[:12]:
        path.write_text(path.read_text().replace("the office in", "the mission in"))
    killed = st.run_cli(settings, "ingest", str(folder), ASSISTANT_TEST_CRASH_AT="after-record:2", **BATCH)
    assert killed.returncode == -signal.SIGKILL
    raw = _assert_accounted_for(settings)
    assert raw["stored"] - raw["listed"], "the replaced chunks were still to be deleted"
    store = st.open_store(settings)
    for entry in store.manifest.documents.values():
        texts = store.collection.get(ids=entry["chunk_ids"], include=["documents"])["documents"]
        assert len(texts) == len(entry["chunk_ids"])
    stored_texts = " ".join(store.collection.get(include=["documents"])["documents"])
    for path in sorted(folder.glob("*.md"))[:12]:
        marker = path.read_text().split("(")[1].split(")")[0]  # e.g. "note 3.0.0", in both versions
        assert stored_texts.count(f"({marker})") == 1, f"{path.name}: old and new text both stored"
    _assert_agree(settings)
    _rerun_completes(settings, folder, st.expected_chunks(folder, settings))


def test_a_kill_during_rebuild_keeps_the_collection_as_it_was(settings, corpus):
    folder, expected = corpus
    assert st.run_cli(settings, "ingest", str(folder), **BATCH).returncode == 0
    before = st.store_state(settings)
    killed = st.run_cli(settings, "rebuild", "--chunk-size", "200", "--chunk-overlap", "40",
                     ASSISTANT_TEST_CRASH_AT="after-upsert:3", **BATCH)
    assert killed.returncode == -signal.SIGKILL
    assert st.manifest_rows(settings, "SELECT chunk_size, space FROM collections") == [(700, "knowledge")]
    _assert_agree(settings, expected)
    assert st.store_state(settings)["listed"] == before["listed"]
    assert st.manifest_rows(settings, "SELECT COUNT(*) FROM pending_spaces") == [(0,)]
    finished = st.run_cli(settings, "rebuild", "--chunk-size", "200", "--chunk-overlap", "40", **BATCH)
    assert finished.returncode == 0, finished.stderr
    assert "rebuilt 'knowledge': 30 documents" in finished.stdout
    small = settings.with_overrides(chunk_size=200, chunk_overlap=40)
    _assert_agree(small, st.expected_chunks(folder, small))


def test_a_second_writer_is_told_the_store_is_busy(settings, corpus, tmp_path):
    folder, expected = corpus
    first = st.start_cli(settings, "ingest", str(folder), ASSISTANT_TEST_PAUSE_AT="after-upsert:20", **BATCH)
    st.wait_for(lambda: st.manifest_rows(settings, "SELECT COUNT(*) FROM pending") not in ([], [(0,)]), process=first)
    others = [st.start_cli(settings, "ingest", str(folder)), st.start_cli(settings, "remove", "note-00")]
    results = [(p.wait(timeout=60), *p.communicate()) for p in others]
    assert first.poll() is None, "the first writer finished too early for this test"
    for code, out, err in results:
        assert code == 1 and out == ""
        assert err == f"error: the store is busy (ingest by pid {first.pid}); try again when it has finished\n"
    assert first.wait(timeout=120) == 0, first.stderr.read()
    _assert_agree(settings, expected)
    assert set(st.store_state(settings)["documents"]) == set(expected)


def test_web_uploads_and_a_cli_ingest_follow_the_same_rule(settings, corpus, embeddings, tmp_path):
    from assistant.chain import build_assistant
    from assistant.service import ChatService

    folder, _ = corpus
    service = ChatService(assistant=build_assistant(settings, embeddings=embeddings))
    upload = tmp_path / "upload.md"
    upload.write_text("# Upload\n\nThe Dushanbe water commission meets twice a year.\n")
    writer = st.start_cli(settings, "ingest", str(folder), ASSISTANT_TEST_PAUSE_AT="after-upsert:15", **BATCH)
    st.wait_for(lambda: st.manifest_rows(settings, "SELECT COUNT(*) FROM pending") not in ([], [(0,)]), process=writer)
    done, errors = service.add_files([upload])
    assert writer.poll() is None, "the CLI writer finished too early for this test"
    assert done == [] and errors == [f"the store is busy (ingest by pid {writer.pid}); try again when it has finished"]
    assert not (settings.uploads_dir / "upload.md").exists()
    assert writer.wait(timeout=120) == 0
    with writer_lock(settings, "upload"):
        blocked = st.run_cli(settings, "ingest", str(folder))
    assert blocked.returncode == 1
    assert blocked.stderr.startswith(f"error: the store is busy (upload by pid {os.getpid()})")
    done, errors = service.add_files([upload])
    assert errors == [] and done == ["upload.md: added (1 chunks)"]
    assert any(d["title"] == "Upload" for d in service.documents())
    _assert_agree(settings)


def test_a_long_running_process_sees_what_another_process_wrote(settings, embeddings, tmp_path):
    from assistant.chain import build_assistant

    notes = tmp_path / "notes"
    st.write_corpus(notes, 3)
    serving = build_assistant(settings, embeddings=embeddings)
    serving.ensure_corpus()
    question = (notes / "note-01.md").read_text().split("\n\n")[2].split(").")[0] + ")."
    assert not serving.store.manifest.documents.get("note-01")
    assert st.run_cli(settings, "ingest", str(notes)).returncode == 0
    note = next(d for d in serving.store.manifest.documents if d.startswith("note-01"))
    dense = [c.doc_id for c, _ in serving.store.query(embeddings.embed_query(question), 3)]
    assert dense[0] == note, "the vector index of the long-running process is stale"
    assert serving.ask(question).citations[0].doc_id == note
    assert st.run_cli(settings, "remove", note).returncode == 0
    assert note not in [c.doc_id for c, _ in serving.store.query(embeddings.embed_query(question), 20)]
    assert note not in {c.doc_id for c in serving.ask(question).citations}


@pytest.fixture(scope="module")
def chroma_port(tmp_path_factory):
    with chroma_server(tmp_path_factory.mktemp("chroma")) as port:
        yield port


def test_with_a_chroma_server_several_processes_ingest_at_once(settings, tmp_path, chroma_port):
    served = settings.with_overrides(chroma_host="127.0.0.1", chroma_port=chroma_port, collection="shared")
    halves = [tmp_path / "a", tmp_path / "b"]
    st.write_corpus(halves[0], 12, seed=1, prefix="alpha")
    st.write_corpus(halves[1], 12, seed=2, prefix="beta")
    crashing = st.start_cli(served, "ingest", str(halves[0]), ASSISTANT_TEST_CRASH_AT="after-upsert:2", **BATCH)
    steady = st.start_cli(served, "ingest", str(halves[1]), **BATCH)
    assert steady.wait(timeout=180) == 0, steady.stderr.read()
    assert crashing.wait(timeout=180) == -signal.SIGKILL
    _assert_agree(served)
    again = [st.start_cli(served, "ingest", str(h), **BATCH) for h in halves]
    assert [p.wait(timeout=180) for p in again] == [0, 0], [p.stderr.read() for p in again]
    expected = st.expected_chunks(halves[0], served) | st.expected_chunks(halves[1], served)
    _assert_agree(served, expected)
    assert st.store_state(served)["documents"] == set(expected)
