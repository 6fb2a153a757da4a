"""Access to a real server on loopback, checked with plain HTTP: with a login configured every route refuses a
request without the session cookie (the page, config and API info, every endpoint, upload, file routes, cancel and
reset), failed logins are locked out per client, and a read-only server takes no documents."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx
import pytest

from assistant.access import MAX_LOCKOUT, LoginThrottle
from assistant.settings import Settings

from .conftest import served_essay
from .webkit import call

USER, PASSWORD = "analyst", "s3cret-pass"
QUESTION = "What did Moscow do after the disputed election in Kyrgyzstan?"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, embeddings):
    data = tmp_path_factory.mktemp("auth") / "data"
    with served_essay(data, embeddings, auth_user=USER, auth_password=PASSWORD, login_max_failures=3,
                      login_lockout_seconds=2) as (assistant, url):
        yield assistant, url


def login(url: str, password: str = PASSWORD, client: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": client} if client else {}
    return httpx.post(f"{url}login", data={"username": USER, "password": password}, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def cookies(guarded):
    _, url = guarded
    response = login(url, client="10.9.9.9")
    assert response.status_code == 200
    return dict(response.cookies)


def uploaded_file(url: str, cookies: dict) -> str:
    """A file uploaded by a logged-in client: its path in Gradio's upload folder."""
    sent = httpx.post(f"{url}gradio_api/upload", cookies=cookies, timeout=30,
                      files={"files": ("note.txt", b"A note on the Aral Sea.", "text/plain")})
    assert sent.status_code == 200
    return sent.json()[0]


def routes(url: str, upload: str, export: str) -> list[tuple[str, str, dict]]:
    """Every kind of route Gradio serves, with a plausible request for each."""
    call_body = {"json": {"data": [QUESTION]}}
    return [
        ("GET", "", {}), ("HEAD", "", {}), ("GET", "?view=api", {}), ("GET", "config", {}),
        ("GET", "gradio_api/info", {}), ("GET", "gradio_api/info?all_endpoints=True", {}),
        ("GET", "gradio_api/openapi.json", {}), ("GET", "theme.css", {}), ("GET", "manifest.json", {}),
        ("GET", "favicon.ico", {}), ("GET", "assets/index.js", {}), ("GET", "static/img/logo.svg", {}),
        ("GET", "gradio_api/app_id", {}), ("GET", "gradio_api/token", {}), ("GET", "gradio_api/user", {}),
        ("POST", "gradio_api/call/chat", call_body), ("POST", "gradio_api/call/documents", {"json": {"data": []}}),
        ("POST", "gradio_api/call/remove", {"json": {"data": ["russia-crisis-responses"]}}),
        ("POST", "gradio_api/call/upload", {"json": {"data": [[{"path": upload, "meta": {"_type":
                                                                                          "gradio.FileData"}}]]}}),
        ("POST", "gradio_api/call/ui_chat", {"json": {"data": [QUESTION, None, 4, False]}}),
        ("POST", "gradio_api/run/chat", call_body), ("POST", "gradio_api/api/chat", call_body),
        ("POST", "gradio_api/queue/join", {"json": {"data": [QUESTION], "fn_index": 0, "session_hash": "x"}}),
        ("GET", "gradio_api/queue/data?session_hash=x", {}), ("GET", "gradio_api/call/chat/abc", {}),
        ("GET", "gradio_api/heartbeat/x", {}), ("POST", "gradio_api/cancel",
                                                 {"json": {"session_hash": "x", "fn_index": 0, "event_id": "e"}}),
        ("POST", "gradio_api/reset", {"json": {"event_id": "e"}}),
        ("POST", "gradio_api/upload", {"files": {"files": ("x.txt", b"text", "text/plain")}}),
        ("GET", "gradio_api/upload_progress?upload_id=x", {}), ("GET", f"gradio_api/file={upload}", {}),
        ("GET", f"gradio_api/file={export}", {}), ("GET", "gradio_api/file=/etc/passwd", {}),
        ("GET", "file=/etc/passwd", {}), ("GET", f"gradio_api/file/{upload}", {}),
        ("GET", "gradio_api/startup-events", {}), ("GET", "gradio_api/monitoring", {}), ("GET", "logout", {}),
        ("GET", "gradio_api/deep_link", {}), ("GET", "gradio_api/proxy=http://127.0.0.1:9/x", {}),
    ]


def test_every_route_refuses_a_request_without_a_login(guarded, cookies):
    assistant, url = guarded
    upload = uploaded_file(url, cookies)
    export = assistant.settings.data_dir / "export.md"
    before = assistant.store.count()
    for method, path, kwargs in routes(url, upload, str(export)):
        response = httpx.request(method, f"{url}{path}", timeout=30, follow_redirects=False, **kwargs)
        assert response.status_code == 401, (method, path, response.status_code, response.text[:200])
        if method == "GET" and path in ("", "?view=api"):
            assert 'action="login"' in response.text and "Russia" not in response.text
            assert "gradio_api_info" not in response.text and "api_name" not in response.text
        elif method != "HEAD":
            assert response.json()["error"].startswith("not logged in")
    assert assistant.store.count() == before and "russia-crisis-responses" in assistant.store.manifest.documents


def test_http_basic_credentials_are_not_a_login(guarded):
    _, url = guarded
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for path in ("config", "gradio_api/info"):
        response = httpx.get(f"{url}{path}", headers={"authorization": f"Basic {basic}"}, timeout=30)
        assert response.status_code == 401


def test_a_forged_or_stale_cookie_is_refused(guarded, cookies):
    _, url = guarded
    forged = {name: "not-a-token" for name in cookies}
    assert httpx.get(f"{url}config", cookies=forged, timeout=30).status_code == 401


def test_after_login_the_same_routes_work(guarded, cookies):
    assistant, url = guarded
    assert httpx.get(url, cookies=cookies, timeout=30).status_code == 200
    assert httpx.get(f"{url}config", cookies=cookies, timeout=30).json()["components"]
    assert "/chat" in json.dumps(httpx.get(f"{url}gradio_api/info", cookies=cookies, timeout=30).json())
    status, payload = call(url, "chat", [QUESTION], cookies=cookies)
    assert status == 200 and payload["data"][0]["citations"]
    upload = uploaded_file(url, cookies)
    assert httpx.get(f"{url}gradio_api/file={upload}", cookies=cookies, timeout=30).text == "A note on the Aral Sea."
    assert httpx.post(f"{url}gradio_api/reset", json={"event_id": "e"}, cookies=cookies, timeout=30).status_code == 200
    served = httpx.get(f"{url}gradio_api/file=/etc/passwd", cookies=cookies, timeout=30)
    assert served.status_code in (403, 404) and "root:" not in served.text


def test_failed_logins_lock_the_client_out_then_let_it_back_in(guarded):
    _, url = guarded
    client = "10.1.1.1"
    assert [login(url, "wrong", client).status_code for _ in range(3)] == [400, 400, 400]
    locked = login(url, PASSWORD, client)  # even the right password waits out the lockout
    assert locked.status_code == 429 and 1 <= int(locked.headers["retry-after"]) <= 2
    assert "too many failed logins" in locked.json()["error"]
    assert login(url, PASSWORD, "10.1.1.2").status_code == 200  # other clients are not affected
    time.sleep(2.2)
    assert login(url, PASSWORD, client).status_code == 200
    assert [login(url, "wrong", client).status_code for _ in range(3)] == [400, 400, 400]  # count starts afresh


def test_fifty_fast_wrong_passwords_reach_the_check_only_a_few_times(guarded):
    _, url = guarded
    client = "10.2.2.2"
    began = time.perf_counter()
    codes = [login(url, f"guess-{n}", client).status_code for n in range(50)]
    assert codes[:4] == [400, 400, 400, 429] and set(codes) == {400, 429}, codes
    assert codes.count(400) <= _allowed(time.perf_counter() - began), codes


def test_each_lockout_lasts_twice_as_long_as_the_one_before_up_to_an_hour():
    now = [0.0]
    throttle = LoginThrottle(max_failures=3, lockout=2, clock=lambda: now[0])
    waits = []
    for _ in range(14):
        for _ in range(3):
            assert throttle.wait("10.9.9.9") == 0
            throttle.attempt("10.9.9.9")
        waits.append(throttle.wait("10.9.9.9"))
        now[0] += waits[-1]
    assert waits[:4] == [2, 4, 8, 16] and waits[-1] == MAX_LOCKOUT
    throttle.succeeded("10.9.9.9")
    assert throttle.wait("10.9.9.9") == 0 and throttle.wait("10.8.8.8") == 0


def test_parallel_wrong_passwords_cannot_slip_past_the_count(guarded):
    _, url = guarded
    client, codes = "10.3.3.3", []

    def attempt(n):
        codes.append(login(url, f"parallel-{n}", client).status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    allowed = _allowed(time.perf_counter() - began)
    assert codes.count(400) <= allowed and codes.count(429) >= 20 - allowed, codes


def _allowed(elapsed: float) -> int:
    """Wrong passwords that may reach the check in `elapsed` seconds: three, then three more after each lockout
    (2 s, then 4 s, then 8 s), which a busy machine can outlast."""
    return 3 if elapsed < 2 else 6 if elapsed < 6 else 9 if elapsed < 14 else 12


# Read-only serving

@pytest.fixture(scope="module")
def read_only(tmp_path_factory, embeddings):
    from assistant.chain import build_assistant
    from assistant.settings import PROJECT_ROOT

    data = tmp_path_factory.mktemp("read-only") / "data"
    writer = build_assistant(Settings.from_env(env={}, data_dir=data, knowledge_dir=PROJECT_ROOT / "knowledge"),
                             embeddings=embeddings)
    writer.ensure_corpus()
    with served_essay(data, embeddings, read_only=True) as (assistant, url):
        yield assistant, url


def test_read_only_server_answers_but_refuses_uploads_and_removals(read_only, tmp_path):
    assistant, url = read_only
    before = (assistant.store.count(), set(assistant.store.manifest.documents))
    status, payload = call(url, "chat", [QUESTION])
    assert status == 200 and payload["data"][0]["citations"]
    status, payload = call(url, "remove", ["russia-crisis-responses"])
    assert payload["data"][0]["error"] == "this server is read-only: adding and removing documents is turned off"
    sent = httpx.post(f"{url}gradio_api/upload", timeout=30,
                      files={"files": ("note.txt", b"A note on the Aral Sea shrinking.", "text/plain")})
    assert sent.status_code == 403 and sent.json()["error"] == "this server is read-only: uploads are turned off"
    status, payload = call(url, "upload", [[]])
    assert status == 200 and "Not added: this server is read-only" in payload["data"][0]
    assert (assistant.store.count(), set(assistant.store.manifest.documents)) == before
    assert not assistant.settings.uploads_dir.exists()


def test_read_only_page_has_no_upload_or_remove_controls(read_only):
    _, url = read_only
    config = httpx.get(f"{url}config", timeout=30).json()
    by_id = {c.get("props", {}).get("elem_id"): c["props"] for c in config["components"]}
    assert by_id["upload"]["visible"] is False and by_id["attach"]["visible"] is False
    assert by_id["remove-row"]["visible"] is False
    assert "This server is read-only" in json.dumps(config)
    assert '"readOnly": true' in (config.get("js") or ""), "dropping files on the page does nothing"


def test_read_only_comes_from_the_setting_and_the_flag():
    assert Settings.from_env(env={"ASSISTANT_READ_ONLY": "1"}).read_only is True
    assert Settings.from_env(env={}).read_only is False
    from click.testing import CliRunner

    from assistant.cli import cli

    assert "--read-only" in CliRunner().invoke(cli, ["serve", "--help"]).output
