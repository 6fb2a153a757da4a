"""Every field of every endpoint of a real server is bounded: over plain HTTP, hostile values get a one-line error
or a normal answer, never a stack trace in the response or in the server's log (captured here at the fd level)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from .conftest import served_essay
from .webkit import call, call_event

QUESTION = "What did Moscow do after the disputed election in Kyrgyzstan?"
BIG = "x" * 1_048_576


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    with served_essay(tmp_path_factory.mktemp("bounds") / "data", embeddings) as (assistant, url):
        yield assistant, url


def no_traceback(capfd) -> str:
    """The server's log since the last look must hold no stack trace."""
    out, err = capfd.readouterr()
    log = out + err
    assert "Traceback" not in log and 'File "' not in log, log[-3000:]
    return log


def one_line_error(status: int, payload) -> str:
    """A refused request: HTTP 200 with {"error": ...} from the endpoint, or 413/422 from the request guard."""
    if status == 200:
        assert payload["event"] == "complete", payload
        message = payload["data"][0]["error"]
    else:
        assert status in (413, 422), (status, payload)
        message = payload["error"]
    assert isinstance(message, str) and message and "\n" not in message and len(message) < 300
    return message


@pytest.mark.parametrize(("data", "expected"), [
    ([None], "the question must be text, not null"),
    ([5], "the question must be text, not a number"),
    ([["a", "list"]], "the question must be text, not a list"),
    ([""], "the question is empty"),
    (["\u0000\u0001 \t"], "the question is empty"),
    (["x" * 100_000], "the question is 100,000 characters long; questions can be at most 1,000 characters"),
    ([BIG], "the request is over the 256 KB limit of /chat"),
    (["\ud800 lone"], "input 1 of /chat (api) is not valid text: it holds a lone surrogate (U+D800)"),
    ([QUESTION, ["ok", "\udfff"]], "input 2 of /chat (api) is not valid text: it holds a lone surrogate (U+DFFF)"),
    ([QUESTION, "not a list"], "history must be a list of earlier questions, not text"),
    ([QUESTION, {"q": 1}], "history must be a list of earlier questions, not an object"),
    ([QUESTION, ["q"] * 21], "history holds 21 questions; at most 20"),
    ([QUESTION, [QUESTION, 7]], "history item 2 must be text, not a number"),
    ([QUESTION, ["y" * 1001]], "history item 1 is 1,001 characters long"),
    ([QUESTION, None, -1], "k must be a whole number from 1 to 20 (got -1)"),
    ([QUESTION, None, 10**9], "k must be a whole number from 1 to 20 (got 1000000000)"),
    ([QUESTION, None, "abc"], "k must be a whole number from 1 to 20 (got 'abc')"),
    ([QUESTION, None, True], "k must be a whole number from 1 to 20 (got true)"),
    ([QUESTION, None, 2.5], "k must be a whole number from 1 to 20 (got 2.5)"),
    ("not a list", 'the request must be a JSON object whose "data" is a list of inputs'),
])
def test_chat_fields_out_of_bounds_get_a_one_line_error(server, capfd, data, expected):
    _, url = server
    status, payload = call(url, "chat", raw=json.dumps({"data": data}))
    assert expected in one_line_error(status, payload)
    no_traceback(capfd)


@pytest.mark.parametrize("raw", ['{"data": ["q", null, NaN]}', '{"data": ["q", null, Infinity]}',
                                 '{"data": ["q", null, -Infinity]}'])
def test_chat_k_that_json_cannot_even_hold_is_refused(server, capfd, raw):
    _, url = server
    assert "k must be a whole number" in one_line_error(*call(url, "chat", raw=raw))
    no_traceback(capfd)


@pytest.mark.parametrize("raw", ["not json", '{"data": [', "[]", '{"nodata": 1}', "{}", '"text"'])
def test_malformed_bodies_are_refused_before_gradio_parses_them(server, capfd, raw):
    _, url = server
    status, payload = call(url, "chat", raw=raw)
    assert status == 422 and "\n" not in payload["error"]
    no_traceback(capfd)


def test_a_ten_megabyte_history_is_refused_at_once(server, capfd):
    _, url = server
    body = json.dumps({"data": [QUESTION, ["y" * 1000] * 10_000]})
    began = time.perf_counter()
    for _ in range(10):
        status, payload = call(url, "chat", raw=body)
        assert status == 413 and "over the 4 MB limit" in payload["error"]
    assert (time.perf_counter() - began) / 10 < 1.0  # was 15.6 s each; memory: see test_served_log.py
    no_traceback(capfd)


def test_scripted_calls_may_leave_out_defaults(server, capfd):
    _, url = server
    status, payload = call(url, "chat", [QUESTION])
    assert status == 200 and payload["data"][0]["refused"] is False and payload["data"][0]["citations"]
    status, payload = call(url, "chat", [QUESTION, [], None])
    assert payload["data"][0]["search_query"] == QUESTION
    no_traceback(capfd)


@pytest.mark.parametrize(("question", "declined"), [
    ("Как Россия отреагировала на кризис в Беларуси?", False),
    ("Ինչպե՞ս արձագանքեց Ռուսաստանը Լեռնային Ղարաբաղում:", False),
    ("🙂 What did Russia do in Belarus? 🇧🇾", False),
    ("How did Russia\x00 respond\x1b[31m in Belarus?", False),
    ("<script>alert(document.cookie)</script>", True),
    ("'; DROP TABLE x; --", True),
    ("?!?! ...", True),
])
def test_hostile_questions_over_http_answer_or_decline(server, capfd, question, declined):
    _, url = server
    status, payload = call(url, "chat", [question])
    answer = payload["data"][0]
    assert status == 200 and "error" not in answer
    if declined:
        assert answer["refused"] is True and answer["citations"] == []
        assert "question_form" in [r["check"] for r in answer["answerability"]["reasons"] if not r["passed"]]
    assert "\x00" not in answer["question"] and "\x1b" not in answer["question"]
    no_traceback(capfd)


@pytest.mark.parametrize(("doc_id", "expected"), [
    (None, "doc_id must be text, not null"), (7, "doc_id must be text, not a number"),
    ("", "doc_id is empty"), ("../../etc/passwd", "is not a document id"), ("x" * 301, "is not a document id"),
    ("no-such-doc", "no document with id 'no-such-doc'"),
])
def test_remove_checks_the_doc_id(server, capfd, doc_id, expected):
    assistant, url = server
    before = assistant.store.count()
    assert expected in one_line_error(*call(url, "remove", [doc_id]))
    assert assistant.store.count() == before
    no_traceback(capfd)


def test_documents_ignores_extra_arguments_and_bounds_the_collection(server, capfd):
    _, url = server
    status, payload = call(url, "documents", [None, "x", 1])
    assert status == 200 and [d["doc_id"] for d in payload["data"][0]] == ["russia-crisis-responses"]
    status, payload = call(url, "documents", [1, "x", None])
    assert status == 422 and payload["error"] == "input 1 of /documents (collection) must be text, not a number"
    no_traceback(capfd)


def test_upload_of_a_server_side_file_is_refused_and_nothing_is_copied(server, capfd, tmp_path):
    assistant, url = server
    secret = tmp_path / "secret-notes.txt"
    secret.write_text("The vault code is 4242. Nobody uploaded this file.")
    for target in (str(secret), "/etc/passwd", str(assistant.settings.manifest_path)):
        file_data = {"path": target, "meta": {"_type": "gradio.FileData"}, "orig_name": "notes.txt"}
        status, payload = call(url, "upload", [[file_data]])
        assert status == 422 and "not uploaded to this server" in payload["error"]
    assert not assistant.settings.uploads_dir.exists() or not any(assistant.settings.uploads_dir.iterdir())
    assert "4242" not in " ".join(c.text for c in assistant.store.all_chunks())
    no_traceback(capfd)


def test_upload_names_with_paths_stay_file_names_inside_the_data_dir(server, capfd, tmp_path):
    assistant, url = server
    names = ["../../../escaped-upload.txt", "/etc/cron.d/absolute-upload.txt", "..\\..\\windows-upload.txt"]
    for name in names:
        note = b"A note about the Aral Sea shrinking since the 1960s."
        sent = httpx.post(f"{url}gradio_api/upload", timeout=30, files={"files": (name, note, "text/plain")})
        assert sent.status_code == 200
        path = sent.json()[0]
        status, payload = call(url, "upload", [[{"path": path, "meta": {"_type": "gradio.FileData"},
                                                  "orig_name": name}]])
        assert status == 200 and ": added" in payload["data"][0], payload
    stored = sorted(p.name for p in assistant.settings.uploads_dir.iterdir())
    assert "escaped-upload.txt" in stored and "absolute-upload.txt" in stored
    uploads, knowledge = assistant.settings.uploads_dir.resolve(), assistant.settings.knowledge_dir.resolve()
    for doc in assistant.store.manifest.documents.values():
        path = Path(doc["path"]).resolve()
        assert path.is_relative_to(uploads) or path.is_relative_to(knowledge), path
    data_dir = assistant.settings.data_dir.resolve()
    for outside in (data_dir.parent.parent / "escaped-upload.txt", data_dir.parent / "escaped-upload.txt",
                    Path("/etc/cron.d/absolute-upload.txt"), Path("/escaped-upload.txt")):
        assert not outside.exists()
    no_traceback(capfd)


def test_file_route_serves_no_path_on_disk(server, capfd):
    assistant, url = server
    targets = ["/etc/passwd", str(assistant.settings.manifest_path), str(assistant.settings.chroma_dir),
               str(assistant.settings.knowledge_dir / "russia-crisis-responses.txt"), "../../../../etc/passwd"]
    for target in targets:
        response = httpx.get(f"{url}gradio_api/file={target}", timeout=30)
        assert response.status_code in (403, 404), (target, response.status_code)
        assert "root:" not in response.text and "SQLite" not in response.text
    no_traceback(capfd)


def test_gradio_client_calls_with_bad_arguments_get_errors_not_exceptions(server, capfd):
    _, url = server
    client = Client(url, verbose=False)
    try:
        assert "k must be a whole number" in client.predict(message=QUESTION, k=-1, api_name="/chat")["error"]
        assert "history must be a list" in client.predict(message=QUESTION, history="x", api_name="/chat")["error"]
        assert "must be text" in client.predict(message=None, api_name="/chat")["error"]
        assert client.predict(message=QUESTION, api_name="/chat")["citations"]
    finally:
        client.close()
    no_traceback(capfd)


def _garbage():
    return [None, "x" * 200_000, 1e308, -1, True, {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}},
            [{"nested": [1, {"deep": None}]}], "\ud800"]


def test_every_page_event_survives_garbage_inputs(server, capfd):
    """The page's own events (private or not) called directly with wrong types, huge text, foreign files and too
    few inputs: refused with one line or handled; the server still answers afterwards."""
    _, url = server
    config = httpx.get(f"{url}config", timeout=30).json()
    events = [(i, len(dep["inputs"]), dep.get("api_name")) for i, dep in enumerate(config["dependencies"])
              if dep.get("backend_fn")]
    assert len(events) >= 15
    for fn_index, arity, api_name in events:
        for value in _garbage():
            status, result = call_event(url, fn_index, [value] * arity)
            if status == 200:
                assert result.get("msg") == "process_completed", (fn_index, value, result)
                if not result.get("success"):
                    error = (result.get("output") or {}).get("error")
                    assert error is None or "\n" not in error
            else:
                assert status in (413, 422) and "\n" not in result["error"]
        for extra in ({"batched": True}, {"event_data": {"index": "\ud800", "value": [1e308]}}, {"trigger_id": "x"}):
            status, result = call_event(url, fn_index, [None] * arity, extra=extra)
            assert status in (200, 413, 422), (fn_index, extra, status)
        if arity and api_name not in ("chat", "documents", "remove"):  # scripted endpoints fill in defaults
            status, result = call_event(url, fn_index, [None] * (arity - 1))
            assert status == 422 and "takes" in result["error"]
    no_traceback(capfd)
    status, payload = call(url, "chat", [QUESTION])
    assert status == 200 and payload["data"][0]["citations"]


def test_upload_through_the_client_still_works(server, capfd, tmp_path):
    assistant, url = server
    path = tmp_path / "tajik-water.md"
    path.write_text("# Tajik water\n\nTajikistan and Uzbekistan signed a water accord for the Vakhsh river in 2024.\n")
    client = Client(url, verbose=False)
    try:
        status, *_ = client.predict([handle_file(str(path))], api_name="/upload")
    finally:
        client.close()
    assert "tajik-water.md: added" in status
    no_traceback(capfd)


@pytest.mark.parametrize("question", ["<script>alert(document.cookie)</script>", "'; DROP TABLE x; --",
                                      "Как Россия отреагировала на кризис в Беларуси?", "🙂 Belarus? 🇧🇾",
                                      "x" * 5000, "", "How did Russia\x00 respond\x1b[31m in Belarus?"])
def test_the_page_chat_event_takes_hostile_questions(server, capfd, question):
    _, url = server
    status, result = call(url, "ui_chat", [question, None, 4, False])
    assert status == 200 and result["event"] == "complete", result
    html = result["data"][0]
    assert "<script>alert" not in html and "\x00" not in html and "\x1b" not in html
    if not question.strip():
        assert "Type a question first." in html
    elif len(question) > 1000:
        assert "questions can be at most 1,000 characters" in html
    else:
        assert 'class="turn' in html
    if question.startswith("<script>"):
        assert "&lt;script&gt;" in html
    no_traceback(capfd)
