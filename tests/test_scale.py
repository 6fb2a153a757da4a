"""A store past SQLite's 32,766-variable limit (over 40,000 chunks) still answers, lists, removes and indexes.

The vectors come from a cheap hashed embedding (16 dimensions) so the store builds in seconds; every command
runs its real code path through the CLI. Extend `test_a_store_of_over_40000_chunks_answers_lists_and_removes`
(or add tests on the `big_store` fixture) for commands such as sync and doctor."""

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant import chain, embeddings
from assistant.cli import cli
from assistant.indexes import open_indexes
from assistant.ingest import ingest
from assistant.settings import Settings
from assistant.store import Store

from .hashed_embeddings import HashedEmbeddings

DOCUMENTS, ENTRIES = 40, 1010
DIMENSIONS = 16
CHUNKING = {"chunk_size": 60, "chunk_overlap": 0}
BOILERPLATE = ["Seal checked by the customs officer.", "Copy filed with the port authority."]
RARE = "Quillfeather logged a humpback whale beside pier nine."


def _ledgers(folder: Path) -> None:
    """Ledger files whose lines become one chunk each; every ledger shares two boilerplate lines."""
    rng = random.Random(5)
    goods = ["grain", "timber", "wool", "salt", "iron", "cloth", "wine", "oil", "hides", "tin", "copper", "amber"]
    for d in range(DOCUMENTS):
        lines = [f"Entry {d}-{n}: {' '.join(rng.sample(goods, 4))}." for n in range(ENTRIES)] + BOILERPLATE
        if d == 7:
            lines.insert(500, RARE)
        (folder / f"ledger-{d:02d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Settings:
    """Over 40,000 chunks ingested with the hashed embedding; the settings to reach them."""
    root = tmp_path_factory.mktemp("big")
    corpus = root / "ledgers"
    corpus.mkdir()
    _ledgers(corpus)
    settings = Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=corpus, **CHUNKING)
    report = ingest([corpus], store=Store(settings=settings), embeddings=HashedEmbeddings(dimensions=DIMENSIONS))
    assert not report.errors and len(report.added) == DOCUMENTS
    return settings


def _run(settings: Settings, monkeypatch, *args: str):
    """The CLI in this process, with the hashed embedding in place of the model."""
    monkeypatch.setattr(chain, "MiniLMEmbeddings", lambda: HashedEmbeddings(dimensions=DIMENSIONS))
    monkeypatch.setattr(embeddings, "MiniLMEmbeddings", lambda: HashedEmbeddings(dimensions=DIMENSIONS))
    env = {"ASSISTANT_CHUNK_SIZE": str(CHUNKING["chunk_size"]), "ASSISTANT_CHUNK_OVERLAP": "0"}
    base = ["--data-dir", str(settings.data_dir), "--knowledge-dir", str(settings.knowledge_dir)]
    return CliRunner().invoke(cli, base + list(args), env=env, catch_exceptions=False)


@pytest.mark.slow
def test_a_store_of_over_40000_chunks_answers_lists_and_removes(big_store, monkeypatch):
    store = Store(settings=big_store)
    count = store.count()
    assert count > 40_000
    indexes = open_indexes(store)  # built from every chunk by the ingest
    assert len(indexes.lexical) == len(indexes.vectors) == count == len(store.chunk_ids())

    asked = _run(big_store, monkeypatch, "ask", "--json", "What did Quillfeather log beside the pier?")
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output)
    assert not answer["refused"] and any(RARE in c["text"] for c in answer["citations"])
    assert answer["citations"][0]["source"].endswith("ledger-07.txt")

    listing = _run(big_store, monkeypatch, "docs")
    assert listing.exit_code == 0 and len(listing.output.strip().splitlines()) == DOCUMENTS

    removed = _run(big_store, monkeypatch, "remove", "ledger-07")
    assert removed.exit_code == 0 and "removed ledger-07" in removed.output
    after = Store(settings=big_store)
    assert after.count() == count - ENTRIES - 1  # its own lines and the rare one; the shared lines stay
    shared = [c for c in after.all_chunks() if c.text in BOILERPLATE]
    assert len(shared) == len(BOILERPLATE) and all(c.doc_id != "ledger-07" for c in shared)
    again = json.loads(_run(big_store, monkeypatch, "ask", "--json", "What did Quillfeather log?").output)
    assert all(RARE not in c["text"] for c in again["citations"])
    assert len(open_indexes(after).lexical) == count - ENTRIES - 1  # rebuilt from every chunk for the new content


@pytest.mark.slow
def test_a_store_of_over_40000_chunks_syncs_and_passes_the_doctor(big_store, monkeypatch):
    checked = _run(big_store, monkeypatch, "doctor")
    assert checked.exit_code == 0 and "FAIL" not in checked.output, checked.output
    (big_store.knowledge_dir / "ledger-39.txt").unlink()
    (big_store.knowledge_dir / "ledger-40.txt").write_text(f"{RARE}\n\nNew amber entry.\n", encoding="utf-8")
    synced = _run(big_store, monkeypatch, "sync", str(big_store.knowledge_dir))
    assert synced.exit_code == 0, synced.output
    assert "added\tledger-40" in synced.output and "removed\tledger-39" in synced.output, synced.output
    assert "ledger-40" in _run(big_store, monkeypatch, "docs").output
    after = _run(big_store, monkeypatch, "doctor")
    assert after.exit_code == 0 and "FAIL" not in after.output, after.output
