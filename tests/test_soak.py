"""Load: 16 concurrent gradio_client chat clients against a real `assistant serve` on loopback while documents are
uploaded and removed. Zero failed requests, server memory growth under a bound, latency percentiles reported
(and written to test-artifacts/soak-<name>.json). The default run is a short one; `make soak` (pytest -m soak)
runs the long one whose figures are in benchmarks/RESULTS.md."""

from __future__ import annotations

import json
import platform
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from assistant.settings import PROJECT_ROOT

from .conftest import free_port
from .webkit import rss_mb, serve_process

CLIENTS = 16
QUESTIONS = [
    "How did Russia respond to the crisis in Belarus?",
    "Why was Moscow unprepared for the fighting in Nagorno-Karabakh?",
    "What could Russia have done to help Kyrgyzstan?",
    "What did Moscow do after the disputed election in Kyrgyzstan?",
    "How do I bake sourdough bread?",  # declined: a normal answer too
    "'; DROP TABLE x; --",  # declined as code
    "Как Россия отреагировала на кризис в Беларуси?",
]
UPLOAD = ("# Caspian note {n}\n\nThe Caspian ferry line {n} links Baku with Aktau and carries about {n}00 trucks "
          "a week. Its operator plans a second terminal in Kuryk.\n")


@dataclass(kw_only=True)
class Soak:
    """What a soak run measured."""

    name: str
    seconds: float
    clients: int = CLIENTS
    chats: list[float] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)
    removals: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_peak_mb: float = 0.0

    def summary(self) -> dict:
        """The figures, as RESULTS.md records them."""
        ms = sorted(1000 * t for t in self.chats)
        pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 1) if ms else None  # noqa: E731
        return {"name": self.name, "seconds": self.seconds, "clients": self.clients, "chat_requests": len(ms),
                "uploads": len(self.uploads), "removals": len(self.removals), "failed": len(self.failures),
                "chat_p50_ms": pick(0.5), "chat_p95_ms": pick(0.95), "chat_max_ms": pick(1.0),
                "chats_per_s": round(len(ms) / self.seconds, 1),
                "upload_p50_ms": round(1000 * statistics.median(self.uploads), 1) if self.uploads else None,
                "rss_start_mb": round(self.rss_start_mb), "rss_end_mb": round(self.rss_end_mb),
                "rss_peak_mb": round(self.rss_peak_mb), "rss_growth_mb": round(self.rss_end_mb - self.rss_start_mb),
                "machine": f"{platform.machine()}, {_cpus()} CPUs, {platform.python_version()}"}


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


def chatter(url: str, soak: Soak, stop: threading.Event, lock: threading.Lock, offset: int) -> None:
    """One client asking question after question until told to stop."""
    client = Client(url, verbose=False)
    try:
        n = offset
        while not stop.is_set():
            question = QUESTIONS[n % len(QUESTIONS)]
            n += 1
            began = time.perf_counter()
            try:
                answer = client.predict(message=question, api_name="/chat")
                problem = answer.get("error") if isinstance(answer, dict) else f"not an object: {answer!r}"[:200]
            except Exception as exc:  # noqa: BLE001 (every failure is counted and reported)
                problem = f"{type(exc).__name__}: {exc}"[:200]
            with lock:
                soak.chats.append(time.perf_counter() - began)
                if problem:
                    soak.failures.append(f"chat: {problem}")
    finally:
        client.close()


def librarian(url: str, soak: Soak, stop: threading.Event, lock: threading.Lock, folder: Path) -> None:
    """A client adding a document, checking it is listed, and removing it again, over and over."""
    client = Client(url, verbose=False)
    try:
        n = 0
        while not stop.is_set():
            n += 1
            path = folder / f"caspian-note-{n}.md"
            path.write_text(UPLOAD.format(n=n))
            try:
                began = time.perf_counter()
                status, *_ = client.predict([handle_file(str(path))], api_name="/upload")
                added = time.perf_counter() - began
                doc_id = next(d["doc_id"] for d in client.predict(api_name="/documents")
                              if d["title"] == f"Caspian note {n}")
                began = time.perf_counter()
                removed = client.predict(doc_id=doc_id, api_name="/remove")
                with lock:
                    soak.uploads.append(added)
                    soak.removals.append(time.perf_counter() - began)
                    if ": added" not in status or removed.get("removed") != doc_id:
                        soak.failures.append(f"upload/remove: {status[:120]} {removed}")
            except Exception as exc:  # noqa: BLE001
                with lock:
                    soak.failures.append(f"upload/remove: {type(exc).__name__}: {exc}"[:200])
    finally:
        client.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One `assistant serve` for the default (short) tests of this module."""
    folder = tmp_path_factory.mktemp("soak")
    with serve_process(folder, free_port()) as (process, url, log):
        yield process, url, log, folder


def run_soak(server, name: str, seconds: float) -> Soak:
    """Warm up, then load the server for `seconds` with CLIENTS chat clients and one uploading client."""
    process, url, log, folder = server
    soak, stop, lock = Soak(name=name, seconds=seconds), threading.Event(), threading.Lock()
    Client(url, verbose=False).predict(message=QUESTIONS[0], api_name="/chat")  # warm: model, BM25, caches
    soak.rss_start_mb = soak.rss_peak_mb = rss_mb(process.pid)
    threads = [threading.Thread(target=chatter, args=(url, soak, stop, lock, i)) for i in range(CLIENTS)]
    threads.append(threading.Thread(target=librarian, args=(url, soak, stop, lock, folder)))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        soak.rss_peak_mb = max(soak.rss_peak_mb, rss_mb(process.pid))
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    soak.rss_end_mb = rss_mb(process.pid)
    server_log = log.read_text()
    assert "Traceback" not in server_log, server_log[-3000:]
    artifacts = PROJECT_ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"soak-{name}.json").write_text(json.dumps(soak.summary() | {"failures": soak.failures[:20]},
                                                            indent=1))
    print(json.dumps(soak.summary()))
    return soak


def _check(soak: Soak, *, growth_mb: float) -> None:
    summary = soak.summary()
    assert soak.failures == [], soak.failures[:10]
    assert summary["chat_requests"] >= CLIENTS and summary["uploads"] >= 1 and summary["removals"] >= 1, summary
    assert summary["rss_growth_mb"] < growth_mb, summary


def test_short_soak_sixteen_clients_while_documents_come_and_go(served):
    soak = run_soak(served, "short", seconds=12)
    _check(soak, growth_mb=150)


@pytest.mark.soak
def test_long_soak_sixteen_clients_while_documents_come_and_go(tmp_path):
    import os

    with serve_process(tmp_path, free_port()) as (process, url, log):
        seconds = float(os.environ.get("ASSISTANT_SOAK_SECONDS", "75"))
        soak = run_soak((process, url, log, tmp_path), "long", seconds=seconds)
    _check(soak, growth_mb=150)
    assert soak.summary()["chat_p95_ms"] < 10_000


def test_hostile_requests_leave_the_server_log_clean_and_memory_bounded(served):
    """Hundreds of big, bad and distinct-session requests against `assistant serve`: refused or answered, never a
    stack trace in its log, and memory that stops growing (Gradio keeps at most MAX_SESSIONS sessions' inputs;
    it kept 10,000 before, so every request's 120 KB stayed)."""
    from .webkit import call

    big_history = json.dumps({"data": [QUESTIONS[0], ["y" * 1000] * 10_000]})
    big = json.dumps({"data": ["x" * 120_000]})  # under the 256 KB body limit: Gradio keeps it with the session
    process, url, log, _ = served
    call(url, "chat", [QUESTIONS[0]])
    start, plateau = rss_mb(process.pid), 0.0
    for n in range(450):
        if n == 250:  # by now Gradio holds its maximum of sessions: memory must stop growing
            plateau = rss_mb(process.pid)
        status, payload = call(url, "chat", raw=big)
        assert status == 200 and "characters long" in payload["data"][0]["error"]
        if n % 20 == 0:
            assert call(url, "chat", raw=big_history)[0] == 413
            assert call(url, "chat", raw='{"data": ["q", null, NaN]}')[1]["data"][0]["error"].startswith("k must")
            assert call(url, "upload", [[{"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}]])[0] == 422
    growth, late = rss_mb(process.pid) - start, rss_mb(process.pid) - plateau
    status, payload = call(url, "chat", [QUESTIONS[0]])
    assert status == 200 and payload["data"][0]["citations"]
    server_log = log.read_text()
    assert "Traceback" not in server_log and 'File "' not in server_log, server_log[-3000:]
    print(f"growth {growth:.0f} MB, of which {late:.0f} MB over the last 200 requests")
    assert growth < 100 and late < 15, f"{growth:.0f} MB, {late:.0f} MB of it late (unbounded: ~25 MB per 100)"
