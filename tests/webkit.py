"""Plain-HTTP helpers for tests of a running web chat: call an endpoint or a page event the way any client could,
and run `assistant serve` as a process whose log can be read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx


def call(url: str, api: str, data=None, *, raw: str | bytes | None = None, cookies=None, timeout: float = 120):
    """POST /gradio_api/call/<api> and read its result: (HTTP status, JSON payload or SSE result)."""
    body = raw if raw is not None else json.dumps({"data": data})
    with httpx.Client(cookies=cookies, timeout=timeout) as client:
        posted = client.post(f"{url}gradio_api/call/{api}", content=body,
                             headers={"content-type": "application/json"})
        if posted.status_code != 200:
            return posted.status_code, _json(posted.text)
        result = client.get(f"{url}gradio_api/call/{api}/{posted.json()['event_id']}")
    return result.status_code, _sse_result(result.text)


def call_event(url: str, fn_index: int, data, *, extra: dict | None = None, timeout: float = 120):
    """Send a page event by fn_index through the queue, as the browser does: (status, final message or error)."""
    session = uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, **(extra or {})})
    with httpx.Client(timeout=timeout) as client:
        joined = client.post(f"{url}gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
        if joined.status_code != 200:
            return joined.status_code, _json(joined.text)
        with client.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return 200, message
    return 200, {"msg": "no completion"}


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _sse_result(text: str):
    """The last `data:` of an SSE reply (the event's result or error), as JSON."""
    events = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
    kinds = [line[6:].strip() for line in text.splitlines() if line.startswith("event:")]
    payload = _json(events[-1]) if events else None
    return {"event": kinds[-1] if kinds else None, "data": payload}


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def serve_process(tmp: Path, port: int, *args: str, env: dict | None = None, ready_seconds: float = 180):
    """`python -m assistant serve` on loopback over the essay; yields (process, url, log file)."""
    from assistant.settings import PROJECT_ROOT

    log = tmp / "serve.log"
    environment = {**os.environ, "ASSISTANT_DATA_DIR": str(tmp / "data"),
                   "ASSISTANT_KNOWLEDGE_DIR": str(PROJECT_ROOT / "knowledge"), "GRADIO_ANALYTICS_ENABLED": "False",
                   **(env or {})}
    with log.open("wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port), *args],
                                   stdout=handle, stderr=subprocess.STDOUT, env=environment, start_new_session=True,
                                   cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_ready(url, process, log, ready_seconds)
        yield process, url, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"assistant serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.head(url, timeout=2).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"assistant serve did not start: {log.read_text()[-2000:]}")
