"""`assistant serve` on loopback: cold start until the page answers, then 1, 4 and 16 concurrent
gradio_client clients asking suite questions through /chat for a bounded time each.

A request fails when it raises, times out, or returns an error object or no answer text. Throughput counts the
answers completed inside the window; latency is per request (client side, queueing included).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from assistant import metrics

from .common import ROOT, clean_env, python

START_TIMEOUT_S = 180
REQUEST_TIMEOUT_S = 120


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(data_dir: Path, knowledge: Path):
    """Start `python -m assistant serve` on a free loopback port; yield (url, seconds until the page answered)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    args = python("-m", "assistant", "--data-dir", str(data_dir), "--knowledge-dir", str(knowledge), "serve",
                  "--host", "127.0.0.1", "--port", str(port), "--no-auth")
    began = time.perf_counter()
    server = subprocess.Popen(args, cwd=ROOT, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        yield url, _wait_for_page(server, url, began)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_for_page(server: subprocess.Popen, url: str, began: float) -> float:
    """Seconds from spawn until GET / returns 200."""
    while time.perf_counter() - began < START_TIMEOUT_S:
        if server.poll() is not None:
            raise RuntimeError(f"assistant serve exited {server.returncode}: {server.stderr.read()[-800:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - began
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {START_TIMEOUT_S} s")


def ask_once(client, question: str) -> tuple[float, str]:
    """One /chat request: latency and '' on success, else the failure in one line."""
    began = time.perf_counter()
    try:
        job = client.submit(message=question, api_name="/chat")
        result = job.result(timeout=REQUEST_TIMEOUT_S)
    except Exception as exc:  # every failure kind counts, and is reported by name
        return time.perf_counter() - began, f"{type(exc).__name__}: {exc}"[:200]
    failure = "" if isinstance(result, dict) and result.get("answer") and "error" not in result else \
        f"bad result: {str(result)[:120]}"
    return time.perf_counter() - began, failure


def load_level(url: str, questions: list[str], clients: int, seconds: float) -> dict:
    """`clients` threads, each with its own gradio_client, asking in a loop until the window closes."""
    from gradio_client import Client

    connections = [Client(url, verbose=False) for _ in range(clients)]
    results: list[tuple[float, float, str]] = []
    lock, start = threading.Lock(), threading.Barrier(clients + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        start.wait()
        n = index
        while time.perf_counter() < deadline[0]:
            latency, failure = ask_once(connections[index], questions[n % len(questions)])
            with lock:
                results.append((time.perf_counter(), latency, failure))
            n += clients

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + REQUEST_TIMEOUT_S)
    return _level_figures(results, clients, began, seconds, hung=sum(t.is_alive() for t in threads))


def _level_figures(results: list, clients: int, began: float, seconds: float, hung: int) -> dict:
    """Throughput inside the window, latency percentiles and failures of one load level."""
    ok = [latency for _, latency, failure in results if not failure]
    inside = sum(1 for done, _, failure in results if not failure and done <= began + seconds)
    failures = [failure for _, _, failure in results if failure]
    return {"clients": clients, "window_s": seconds, "requests": len(results), "completed": len(ok),
            "failed": len(failures) + hung, "failures": sorted(set(failures))[:5],
            "throughput_per_s": inside / seconds,
            "p50_ms": metrics.percentile(ok, 50) * 1000, "p95_ms": metrics.percentile(ok, 95) * 1000,
            "max_ms": max(ok, default=0.0) * 1000}


def serve_benchmark(data_dir: Path, knowledge: Path, questions: list[str], *, levels=(1, 4, 16),
                    seconds: float = 20.0) -> dict:
    """Cold start, first answer and the load levels against one store."""
    from gradio_client import Client

    with served(data_dir, knowledge) as (url, page_s):
        began = time.perf_counter()
        first_latency, failure = ask_once(Client(url, verbose=False), questions[0])
        if failure:
            raise RuntimeError(f"the first /chat request failed: {failure}")
        out = {"page_s": page_s, "first_answer_s": page_s + (time.perf_counter() - began),
               "first_answer_request_ms": first_latency * 1000, "levels": []}
        for clients in levels:
            out["levels"].append(load_level(url, questions, clients, seconds))
    return out
