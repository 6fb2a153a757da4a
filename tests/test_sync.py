"""`assistant sync DIR`: the collection mirrors the folder (by content hash); other collections are untouched."""

from __future__ import annotations

import json

import pytest

from assistant.store import Store
from assistant.sync import SyncError, sync

from . import storetools as st


def _docs(settings, collection: str) -> dict[str, dict]:
    result = st.run_cli(settings, "--collection", collection, "docs", "--json")
    assert result.returncode == 0, result.stderr
    return {d["doc_id"]: d for d in json.loads(result.stdout)}


def test_sync_adds_updates_and_removes_and_leaves_other_collections_alone(settings, tmp_path):
    notes = tmp_path / "notes"
    paths = st.write_corpus(notes, 4)
    assert st.run_cli(settings, "ingest").returncode == 0
    default_before = st.store_state(settings) | {"rows": st.manifest_rows(settings, "SELECT * FROM collections "
                                                                                     "WHERE name = 'knowledge'")}
    first = st.run_cli(settings, "sync", str(notes), "--collection", "notes")
    assert first.returncode == 0, first.stderr
    assert [line.split("\t")[0] for line in first.stdout.splitlines()[:-1]] == ["added"] * 4
    assert "sync 'notes': 4 added, 0 updated, 0 removed, 0 unchanged, 0 failed" in first.stdout
    ids = {p.name: d for d in _docs(settings, "notes") for p in paths if d.startswith(p.stem)}
    paths[1].write_text(paths[1].read_text().replace("the office in", "the embassy in"))
    paths[2].unlink()
    added = st.write_corpus(tmp_path / "more", 1, seed=5, prefix="extra")[0].replace(notes / "extra-00.md")
    dry = st.run_cli(settings, "--collection", "notes", "sync", str(notes), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = sorted(dry.stdout.splitlines()[:-1])
    assert [line.split("\t")[:2] for line in lines] == [
        ["would add", next(d for d in _all_ids(settings, notes) if d.startswith("extra-00"))],
        ["would remove", ids["note-02.md"]], ["would update", ids["note-01.md"]]]
    assert dry.stdout.endswith("1 added, 1 updated, 1 removed, 2 unchanged, 0 failed (dry run: nothing changed)\n")
    notes_settings = settings.with_overrides(collection="notes")
    before = st.store_state(notes_settings)
    assert before["documents"] == set(ids.values())
    real = st.run_cli(settings, "--collection", "notes", "sync", str(notes))
    assert real.returncode == 0, real.stderr
    assert "sync 'notes': 1 added, 1 updated, 1 removed, 2 unchanged, 0 failed;" in real.stdout
    after = _docs(settings, "notes")
    assert set(after) == set(st.expected_chunks(notes, notes_settings)) and added.exists()
    state = st.store_state(notes_settings)
    assert state["listed"] == state["stored"] == {c for ids in st.expected_chunks(notes, notes_settings).values()
                                                  for c in ids}
    store = st.open_store(notes_settings)
    texts = " ".join(store.collection.get(include=["documents"])["documents"])
    assert "the embassy in" in texts and texts.count("(note 1.0.0)") == 1
    answer = json.loads(st.run_cli(settings, "--collection", "notes", "ask", "--json",
                                   paths[1].read_text().split("\n\n")[1].split(").")[0] + ").").stdout)
    assert answer["citations"][0]["doc_id"] == ids["note-01.md"] and "the embassy in" in answer["citations"][0]["text"]
    assert st.store_state(settings) | {"rows": st.manifest_rows(settings, "SELECT * FROM collections WHERE name = "
                                                                          "'knowledge'")} == default_before
    unchanged = st.run_cli(settings, "--collection", "notes", "sync", str(notes))
    assert unchanged.stdout == "sync 'notes': 0 added, 0 updated, 0 removed, 4 unchanged, 0 failed; 0 chunks in " \
        f"{unchanged.stdout.split(' chunks in ')[1]}"


def _all_ids(settings, folder) -> list[str]:
    return list(st.expected_chunks(folder, settings))


def test_sync_of_a_missing_or_empty_folder_changes_nothing(settings, tmp_path, embeddings):
    notes = tmp_path / "notes"
    st.write_corpus(notes, 2)
    store = Store(settings=settings.with_overrides(collection="notes"))
    assert len(sync(notes, store=store, embeddings=embeddings).added) == 2
    missing = st.run_cli(settings, "--collection", "notes", "sync", str(tmp_path / "gone"))
    assert missing.returncode == 1
    assert missing.stderr == f"error: {tmp_path / 'gone'}: no such file or directory; nothing changed\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "picture.png").write_bytes(b"\x89PNG")
    refused = st.run_cli(settings, "--collection", "notes", "sync", str(empty))
    assert refused.returncode == 1 and "no supported files" in refused.stderr and "nothing changed" in refused.stderr
    with pytest.raises(SyncError, match="no supported files .*; nothing changed"):
        sync(empty, store=store, embeddings=embeddings, dry_run=True)
    assert len(store.manifest.documents) == 2


def test_an_unreadable_file_is_reported_and_its_document_kept(settings, tmp_path, embeddings):
    notes = tmp_path / "notes"
    paths = st.write_corpus(notes, 3)
    store = Store(settings=settings.with_overrides(collection="notes"))
    sync(notes, store=store, embeddings=embeddings)
    paths[0].write_bytes(b"\x00\x01binary now")
    paths[1].write_text(paths[1].read_text() + "\nA new closing line about Astana.\n")
    report = sync(notes, store=store, embeddings=embeddings)
    assert len(report.errors) == 1 and paths[0].name in report.errors[0] and "binary" in report.errors[0]
    assert [doc_id for doc_id, _ in report.updated] == [d for d in store.manifest.documents if d.startswith("note-01")]
    assert report.removed == [] and len(store.manifest.documents) == 3
    result = st.run_cli(settings, "--collection", "notes", "sync", str(notes))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "note-00.md" in result.stderr
