"""Shared fixtures: the real embedding model (loaded once), real Chroma in temp dirs, the real chain."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["ASSISTANT_ENV_FILE"] = os.devnull  # a developer's .env must not change what the tests see

from assistant.chain import build_assistant  # noqa: E402
from assistant.embeddings import MiniLMEmbeddings  # noqa: E402
from assistant.settings import PROJECT_ROOT, Settings  # noqa: E402

ESSAY = PROJECT_ROOT / "knowledge" / "russia-crisis-responses.txt"
SUITE = PROJECT_ROOT / "evals" / "russia-crisis" / "suite.jsonl"


@pytest.fixture(scope="session")
def embeddings() -> MiniLMEmbeddings:
    """The shipped all-MiniLM-L6-v2 model, loaded once for the whole run."""
    return MiniLMEmbeddings()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at an empty store and a knowledge folder holding the essay."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(ESSAY, knowledge / ESSAY.name)
    shutil.copy(ESSAY.with_name("russia-crisis-responses.meta.json"), knowledge)
    return Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=knowledge)


@pytest.fixture(scope="session")
def essay_assistant(tmp_path_factory, embeddings):
    """One assistant over the essay, ingested once, shared by read-only tests."""
    root = tmp_path_factory.mktemp("essay")
    settings = Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=PROJECT_ROOT / "knowledge")
    assistant = build_assistant(settings, embeddings=embeddings)
    assistant.ensure_corpus()
    return assistant


CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))


@contextmanager
def chroma_server(path: Path):
    """A real `chroma run` server on a free loopback port, storing under path; yields the port."""
    if not Path(CHROMA).exists():
        pytest.skip("the `chroma` executable that comes with chromadb is missing")
    port = free_port()
    process = subprocess.Popen([CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start (exit code {process.poll()})")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def pytest_collection_modifyitems(config, items) -> None:
    """Minutes-long `soak` tests run only when asked for by marker (`pytest -m soak`, `make soak`)."""
    if "soak" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="a soak test: run with `pytest -m soak` (make soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


def free_port() -> int:
    """A loopback port that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_essay(data_dir: Path, embeddings: MiniLMEmbeddings, **overrides):
    """A real web chat server over the essay on a free loopback port; yields (assistant, url)."""
    from assistant.ui import launch

    settings = Settings.from_env(env={}, data_dir=data_dir, knowledge_dir=PROJECT_ROOT / "knowledge",
                                 port=free_port(), **overrides)
    assistant = build_assistant(settings, embeddings=embeddings)
    assistant.ensure_corpus()
    app, url = launch(assistant, block=False)
    try:
        yield assistant, url
    finally:
        app.close()


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for every browser test (skips, saying how to get it, when absent)."""
    from .browser_kit import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, embeddings):
    """A real web chat over the essay for one test module; yields its URL."""
    with served_essay(tmp_path_factory.mktemp("served") / "data", embeddings) as (_, url):
        yield url
