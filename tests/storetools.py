"""Helpers for the collection, sync and crash tests: a generated corpus, the CLI as a subprocess, store state."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assistant.chunking import chunk_document
from assistant.documents import load
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store, reset_connections

PLACES = ["Minsk", "Baku", "Yerevan", "Bishkek", "Almaty", "Tashkent", "Dushanbe", "Tbilisi", "Chisinau", "Kyiv"]
TOPICS = ["grain exports", "gas transit", "border talks", "water sharing", "rail links", "election monitors",
          "customs rules", "migrant labour", "bank loans", "power lines"]
VERBS = ["expanded", "suspended", "renegotiated", "reviewed", "doubled", "capped", "audited", "delayed"]


def write_corpus(folder: Path, count: int, *, seed: int = 8, prefix: str = "note") -> list[Path]:
    """`count` small markdown notes of three paragraphs each, too long to merge: three chunks each (the heading
    travels with the first)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        paragraphs = [" ".join(f"In {1990 + rng.randrange(35)} the office in {rng.choice(PLACES)} "
                               f"{rng.choice(VERBS)} its {rng.choice(TOPICS)} ({prefix} {i}.{p}.{s})."
                               for s in range(6)) for p in range(3)]
        path = folder / f"{prefix}-{i:02d}.md"
        path.write_text(f"# {prefix.title()} {i}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def expected_chunks(folder: Path, settings: Settings) -> dict[str, list[str]]:
    """doc_id -> chunk ids a complete ingest of the folder must record."""
    docs = [load(p, root=settings.knowledge_dir) for p in sorted(folder.glob("*.md"))]
    return {d.doc_id: [c.chunk_id for c in chunk_document(d, size=settings.chunk_size,
                                                            overlap=settings.chunk_overlap)] for d in docs}


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess using these settings' data and knowledge dirs."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_COLLECTION": settings.collection,
           "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir), "ASSISTANT_ENV_FILE": os.devnull}
    if settings.chroma_host:
        env |= {"ASSISTANT_CHROMA_HOST": settings.chroma_host, "ASSISTANT_CHROMA_PORT": str(settings.chroma_port)}
    return env | extra


def run_cli(settings: Settings, *args: str, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    """`python -m assistant ARGS` run to completion, from the project root."""
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True,
                          env=cli_env(settings, **extra), timeout=timeout, cwd=PROJECT_ROOT)


def start_cli(settings: Settings, *args: str, **extra: str) -> subprocess.Popen:
    """`python -m assistant ARGS` started in the background."""
    return subprocess.Popen([sys.executable, "-m", "assistant", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(settings, **extra), cwd=PROJECT_ROOT)


def manifest_rows(settings: Settings, sql: str) -> list[tuple]:
    """A read of the manifest database as another process sees it (empty before it exists)."""
    if not settings.manifest_path.exists():
        return []
    db = sqlite3.connect(settings.manifest_path, timeout=30)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return []
    finally:
        db.close()


def wait_for(condition, *, timeout: float = 120, process: subprocess.Popen | None = None) -> None:
    """Poll until the condition holds (or the process ends)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition() or (process is not None and process.poll() is not None):
            return
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def store_state(settings: Settings) -> dict[str, set[str]]:
    """Manifest and Chroma as a fresh process sees them, without rolling anything back."""
    reset_connections()
    store = Store(settings=settings, check=False, recover=False)
    try:
        return {"documents": set(store.db.doc_ids(store.space)), "listed": set(store.db.chunk_owners(store.space)),
                "stored": set(store.stored_ids()),
                "pending": {r[0] for r in store.db.rows("SELECT chunk_id FROM pending")}}
    finally:
        store.db.close()


def stored_texts(settings: Settings, ids: list[str]) -> list[str]:
    """The text Chroma holds for these chunk ids (read by a fresh client, nothing rolled back)."""
    reset_connections()
    store = Store(settings=settings, check=False, recover=False)
    try:
        return store.collection.get(ids=ids, include=["documents"])["documents"]
    finally:
        store.db.close()


def open_store(settings: Settings) -> Store:
    """A store opened as every command opens it (rolling back what a crashed writer left)."""
    reset_connections()
    return Store(settings=settings)
