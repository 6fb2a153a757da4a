"""Faults while serving: the embedding runtime, Chroma or the LLM backend failing or timing out in the middle of a
request (fakes subclass our own interfaces), a Chroma server going away and coming back, and a data dir that is
full or read-only. The user gets a one-line message, the next request works, nothing stored is lost."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant import chats
from assistant.chain import build_assistant
from assistant.embeddings import MiniLMEmbeddings
from assistant.generate import FALLBACK_ANSWERER, LLMAnswerer
from assistant.indexes import UNEXPLAINED_TRIES
from assistant.retrieval import HybridRetriever
from assistant.service import ChatService
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store, StoreError

from .conftest import free_port, served_essay
from .webkit import call

QUESTION = "What did Moscow do after the disputed election in Kyrgyzstan?"


def no_traceback(capfd, caplog=None) -> str:
    """Nothing printed holds a stack trace; the log records (when given) are one line each, with none attached.
    Returns the log's text."""
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, (out + err)[-3000:]
    records = [r for r in (caplog.records if caplog else []) if r.name.startswith("assistant")]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    return out + err + "\n".join(r.getMessage() for r in records)


class FlakyEmbeddings(MiniLMEmbeddings):
    """The real model that fails (or times out) the next `failures` times it is asked to embed."""

    def __init__(self, real: MiniLMEmbeddings, error: Exception) -> None:
        self.__dict__.update(real.__dict__)
        self.error, self.failures = error, 0

    def encode(self, texts, *, progress=None):
        if self.failures:
            self.failures -= 1
            raise self.error
        return super().encode(texts, progress=progress)

    def encode_cached(self, texts):
        if self.failures:
            self.failures -= 1
            raise self.error
        return super().encode_cached(texts)


class FlakyStore(Store):
    """The real store whose full reads (what rebuilding the search indexes does; a question on current indexes
    reads no Chroma) fail the next `failures` times, as a dying disk or server would."""

    failures = 0

    def pages(self, *, include):
        self._maybe_fail()
        return super().pages(include=include)

    def _maybe_fail(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreError("Chroma at the store failed: Error executing plan: Failed to read the HNSW index")


class StallingChatModel(BaseChatModel):
    """Streams a few tokens, then the connection dies (or times out) — `failures` times; then answers well."""

    failures: int = 1
    error: type[Exception] = TimeoutError
    reply: str = ""

    @property
    def _llm_type(self) -> str:
        return "stalling"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        if self.failures:
            self.failures -= 1
            raise self.error("Request timed out.")
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for token in ("Moscow ", "stayed ", "out "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        if self.failures:
            self.failures -= 1
            raise self.error("Request timed out.")
        yield ChatGenerationChunk(message=AIMessageChunk(content=self.reply))


@pytest.fixture(scope="module")
def flaky(tmp_path_factory, embeddings):
    """A served essay whose embedding model, Chroma queries can be made to fail on demand."""
    data = tmp_path_factory.mktemp("faults") / "data"
    settings = Settings.from_env(env={}, data_dir=data, knowledge_dir=PROJECT_ROOT / "knowledge", port=free_port())
    model = FlakyEmbeddings(embeddings, RuntimeError("onnxruntime: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION"))
    assistant = build_assistant(settings, embeddings=model)
    assistant.ensure_corpus()
    store = FlakyStore(settings=settings)
    assistant = dataclasses.replace(assistant, store=store, retriever=HybridRetriever(store=store, embeddings=model))
    from assistant.ui import launch

    app, url = launch(assistant, block=False)
    try:
        yield model, store, app, url
    finally:
        app.close()


@pytest.mark.parametrize("error", [RuntimeError("onnxruntime: [ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION"),
                                   TimeoutError("embedding timed out after 30 s")])
def test_an_embedding_failure_is_one_line_and_the_next_question_works(flaky, capfd, caplog, error):
    model, _, _, url = flaky
    model.error, model.failures = error, 1
    status, payload = call(url, "chat", [QUESTION + " (embedding)"])
    message = payload["data"][0]["error"]
    assert status == 200 and message == str(error)
    status, payload = call(url, "chat", [QUESTION + " (embedding)"])
    assert payload["data"][0]["citations"]
    log = no_traceback(capfd, caplog)
    assert f"request failed: {error}" in log and log.count("request failed") == 1


def test_a_chroma_failure_in_the_chat_is_a_message_and_the_next_question_works(flaky, capfd, caplog):
    _, store, _, url = flaky
    store.db.bump(store.settings.collection, store.space)  # as after another process's commit: indexes rebuilt
    store.failures = UNEXPLAINED_TRIES  # a failure that persists: one transient read is tried again, not shown
    status, result = call(url, "ui_chat", [QUESTION, None, 4, False])
    html = result["data"][0]
    assert status == 200 and "Could not answer: Chroma at the store failed: Error executing plan" in html
    assert "Traceback" not in html
    status, result = call(url, "ui_chat", [QUESTION, None, 4, False])
    assert 'class="cite-chip"' in result["data"][0]
    assert "answering failed: Chroma at the store failed" in no_traceback(capfd, caplog)


def test_an_upload_whose_embedding_fails_keeps_the_store_as_it_was(flaky, capfd, tmp_path):
    model, store, app, _ = flaky
    before = (store.count(), sorted(store.manifest.documents))
    path = tmp_path / "aral.txt"
    path.write_text("The Aral Sea has shrunk since the 1960s as its rivers were diverted for cotton.")
    model.failures = 1
    done, errors = app.service.add_files([path])
    assert not done and len(errors) == 1 and "could not embed chunks" in errors[0] and "\n" not in errors[0]
    assert (store.count(), sorted(store.manifest.documents)) == before
    assert not (store.settings.uploads_dir / "aral.txt").exists()
    done, errors = app.service.add_files([path])
    assert done == ["aral.txt: added (1 chunks)"] and not errors
    no_traceback(capfd)


@pytest.mark.parametrize("error", [TimeoutError, ConnectionResetError])
def test_an_llm_dying_mid_stream_falls_back_to_the_extractive_answer_labelled(essay_assistant, error):
    model = StallingChatModel(error=error, failures=1)
    llm = LLMAnswerer(chat_model=model, name="openai:stalling", fallback=essay_assistant.answerer)
    assistant = dataclasses.replace(essay_assistant, answerer=llm)
    items = list(ChatService(assistant=assistant).stream(QUESTION, [], 4))
    tokens, answer = [i for i in items if isinstance(i, str)], items[-1]
    assert tokens == ["Moscow ", "stayed ", "out "]
    assert answer.answerer == FALLBACK_ANSWERER and answer.citations and not answer.refused
    assert answer.notice.startswith("LLM backend unavailable (Request timed out") and "extractive" in answer.notice
    from assistant.render import answer_html

    assert "LLM backend unavailable" in answer_html(answer)
    quote = answer.citations[0].text.split(". ")[0]
    model.reply = f"{quote}. [1]"
    again = list(ChatService(assistant=assistant).stream(QUESTION, [], 4))[-1]
    assert again.answerer == "openai:stalling" and not again.notice


def test_a_real_llm_server_that_never_answers_times_out_into_the_labelled_fallback(essay_assistant):
    pytest.importorskip("langchain_openai")
    from assistant.generate import build_llm_answerer

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_hang():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_hang, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        settings = essay_assistant.settings.with_overrides(llm="openai:hanging", llm_timeout=1.0,
                                                          llm_base_url=f"http://127.0.0.1:{port}/v1")
        llm = build_llm_answerer(settings, fallback=essay_assistant.answerer)
        assistant = dataclasses.replace(essay_assistant, answerer=llm)
        began = time.perf_counter()
        answer = assistant.ask(QUESTION)
        assert time.perf_counter() - began < 10
        assert answer.answerer == FALLBACK_ANSWERER and answer.citations
        assert "LLM backend unavailable" in answer.notice and "timed out" in answer.notice.lower()
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


# A Chroma server stopped and started again under a running assistant

CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))


def _start_chroma(path: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}")
        time.sleep(0.2)
    raise TimeoutError("chroma run did not start")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def test_a_chroma_server_going_away_and_coming_back(tmp_path, embeddings, capfd, caplog):
    if not Path(CHROMA).exists():
        pytest.skip("the `chroma` executable that comes with chromadb is missing")
    port, path = free_port(), tmp_path / "chroma-server"
    process = _start_chroma(path, port)
    try:
        with served_essay(tmp_path / "data", embeddings, chroma_host="127.0.0.1", chroma_port=port,
                          collection="served") as (assistant, url):
            from assistant.ingest import ingest

            ingest([PROJECT_ROOT / "knowledge"], store=assistant.store, embeddings=embeddings)
            assert call(url, "chat", [QUESTION])[1]["data"][0]["citations"]
            _stop(process)
            # questions are answered from the indexes saved for this revision; writes need the server
            assert call(url, "chat", [QUESTION + " again"])[1]["data"][0]["citations"]
            assert call(url, "documents", [])[1]["data"][0][0]["doc_id"] == "russia-crisis-responses"
            note = tmp_path / "note.txt"
            note.write_text("The Aral Sea has shrunk since the 1960s.")
            done, errors = ChatService(assistant=assistant).add_files([note])
            assert not done and "is not answering" in errors[0]
            message = errors[0].split(": ", 1)[-1]
            assert f"the Chroma server at 127.0.0.1:{port} is not answering (" in errors[0]
            assert "Connection refused" in message and "\n" not in message
            process = _start_chroma(path, port)
            status, payload = call(url, "chat", [QUESTION])
            assert payload["data"][0]["citations"], payload  # no restart of the assistant needed
            done, errors = ChatService(assistant=assistant).add_files([note])
            assert done and not errors
            from assistant.integrity import differences

            assert differences(assistant.store) == []
        no_traceback(capfd, caplog)
    finally:
        if process.poll() is None:
            _stop(process)


# A data dir that fills up or is read-only (a private mount namespace: a small tmpfs, a read-only bind mount)

def _namespace_works() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_namespace = pytest.mark.skipif(not _namespace_works(), reason="unshare --user --mount is not allowed here")


def in_namespace(tmp_path: Path, shell: str) -> dict:
    """Run `shell` (with $D a fresh tmpfs of 48 MB and $PY the interpreter) in a private mount namespace."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    script = f"set -e; D={mount}; PY={sys.executable}; mount -t tmpfs -o size=48m tmpfs $D; {shell}"
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=600, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _one_line(message: str) -> None:
    assert message and "\n" not in message.strip() and "Traceback" not in message


@needs_namespace
@pytest.mark.parametrize("slack", [0, 60_000])
def test_a_full_data_dir_is_a_clear_error_and_the_store_is_unchanged(tmp_path, slack):
    """With no space at all the upload's copy fails; with a little, Chroma's write does. Either way."""
    out = in_namespace(tmp_path, f"$PY -m tests.fs_faults full $D {slack}")
    before = out["before"]
    assert before["count"] == 6 and before["differences"] == []
    [[], [upload_error]] = out["upload"]["ok"]
    _one_line(upload_error)
    assert "No space left on device" in upload_error or "disk is full" in upload_error or "Chroma" in upload_error
    assert out["ingest"]["raised"] == "StoreError"
    _one_line(out["ingest"]["message"])
    assert out["cli"]["code"] == 1 and out["cli"]["stderr"].startswith("error: ")
    _one_line(out["cli"]["stderr"])
    for name in ("ask", "during"):  # embedded Chroma must write its log to read: asking may fail until space is freed
        if "raised" in out[name]:
            assert out[name]["raised"] == "StoreError" and out[name]["message"].startswith("Chroma at ")
            _one_line(out[name]["message"])
    assert out["ask"] == {"ok": True} or "raised" in out["ask"]
    assert out["during"] == {"ok": before} or "raised" in out["during"]
    assert out["uploads"] == [] and out["after"] == before, "freed, the store is as before, and agrees"
    assert out["again"]["ok"][0][0].endswith("added (5 chunks)"), "and takes uploads again, in the same process"


@needs_namespace
def test_a_read_only_data_dir_is_a_clear_error_for_every_command(tmp_path):
    out = in_namespace(tmp_path, "$PY -m tests.fs_faults setup $D/ >/dev/null; mount --bind $D $D; "
                                 "mount -o remount,bind,ro $D; $PY -m tests.fs_faults read-only $D")
    assert out["open"]["raised"] == "StoreError" and "read-only file system" in out["open"]["message"]
    for command in ("cli_ingest", "cli_ask", "cli_docs"):
        result = out[command]
        assert result["code"] == 1 and result["stderr"].startswith("error: "), result
        _one_line(result["stderr"])
        assert "read-only file system: the store needs a writable data dir" in result["stderr"]
    assert out["files"] == ["chroma", "indexes", "manifest.sqlite3", "writer.lock"]


@needs_namespace
def test_an_upload_into_a_read_only_uploads_folder_changes_nothing(tmp_path):
    out = in_namespace(tmp_path, "$PY -m tests.fs_faults uploads-read-only $D")
    [[], [error]] = out["upload"]["ok"]
    assert error.endswith("could not be stored (Read-only file system); nothing was changed")
    assert out["after"] == out["before"] and out["uploads"] == []


def test_chat_turns_stored_in_the_browser_never_hold_a_failed_answer(flaky, capfd):
    _, store, _, url = flaky
    store.db.bump(store.settings.collection, store.space)  # the indexes must be rebuilt from Chroma, which fails
    store.failures = UNEXPLAINED_TRIES  # a failure that persists: one transient read is tried again, not shown
    status, result = call(url, "ui_chat", [QUESTION, chats.empty_store(), 4, False])
    outputs = result["data"]
    assert status == 200 and "Could not answer" in outputs[0]
    saved = [o for o in outputs if isinstance(o, dict) and "chats" in o]
    assert all(not chat["turns"] for s in saved for chat in s["chats"])
    no_traceback(capfd)


def test_queries_while_chunks_are_deleted_never_fail(settings, embeddings):
    """Chroma returns a chunk deleted while a query ran with no text and no metadata (seen as 1 row in 15 under
    load): the store skips it instead of failing the question."""
    import numpy as np

    from assistant.models import Chunk

    store = Store(settings=settings.with_overrides(collection="churn"))
    rng = np.random.default_rng(7)

    def chunks(prefix: str, n: int) -> list[Chunk]:
        return [Chunk(chunk_id=f"{prefix}-{i}", doc_id=prefix, title="t", source="s", text=f"text {i}", start=0,
                      end=6, paragraph=1, index=i) for i in range(n)]

    store.upsert(chunks("base", 50), rng.normal(size=(50, 384)))
    stop, errors, rows = threading.Event(), [], [0]

    def churn():
        n = 0
        while not stop.is_set():
            batch = chunks(f"gone{n}", 5)
            store.upsert(batch, rng.normal(size=(5, 384)))
            store.delete([c.chunk_id for c in batch])
            n += 1

    def ask():
        while not stop.is_set():
            try:
                rows[0] += len(store.query(rng.normal(size=384), 20))
                store.all_chunks()
            except Exception as exc:  # noqa: BLE001 (collected, asserted below)
                errors.append(repr(exc))

    threads = [threading.Thread(target=churn)] + [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 90  # at least 1,000 rows read under churn, however busy the machine
    while rows[0] <= 1000 and not errors and time.monotonic() < deadline:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert errors == [] and rows[0] > 1000
