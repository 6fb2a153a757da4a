"""Ingestion against real Chroma in a temp dir: idempotent, replacing, and safe with bad input."""

import sqlite3
from pathlib import Path

import pytest

from assistant.chunking import CHUNKER, chunk_document
from assistant.cli import _older_chunks
from assistant.documents import load
from assistant.ingest import ingest, remove_document
from assistant.manifest import SCHEMA_VERSION
from assistant.settings import Settings
from assistant.store import Store


def _stored_ids(store: Store) -> set[str]:
    return set(store.collection.get(include=[])["ids"])


def _manifest_ids(store: Store) -> set[str]:
    return {i for entry in store.manifest.documents.values() for i in entry["chunk_ids"]}


def test_ingest_records_titles_spans_and_manifest(settings, embeddings):
    store = Store(settings=settings)
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert report.added == ["russia-crisis-responses"] and not report.errors
    entry = store.manifest.documents["russia-crisis-responses"]
    assert entry["title"].startswith("Russia's Responses to the 2020 Crises")
    assert _stored_ids(store) == set(entry["chunk_ids"]) and report.chunks == len(entry["chunk_ids"])
    text = (settings.knowledge_dir / "russia-crisis-responses.txt").read_text(encoding="utf-8")
    for chunk in store.all_chunks():
        assert text[chunk.start:chunk.end] == chunk.text
    assert "1 added, 0 updated, 0 unchanged, 0 failed" in report.summary()


def test_reingesting_an_unchanged_file_is_a_no_op(settings, embeddings):
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    before, revision = _stored_ids(store), store.revision
    again = ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    assert again.unchanged == ["russia-crisis-responses"] and again.embedded == 0
    assert _stored_ids(store) == before
    assert store.revision == revision


def test_a_changed_file_replaces_exactly_its_old_chunks(settings, embeddings):
    store = Store(settings=settings)
    other = settings.knowledge_dir / "other.md"
    other.write_text("# Other notes\n\nTajikistan held talks about water. Nothing else happened.\n")
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    other_ids = set(store.manifest.documents["other"]["chunk_ids"])
    essay = settings.knowledge_dir / "russia-crisis-responses.txt"
    essay.write_text(essay.read_text().replace("Lukashenko regime", "Lukashenko government"))
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert report.updated == ["russia-crisis-responses"] and report.unchanged == ["other"]
    assert 0 < report.embedded < report.chunks
    assert _stored_ids(store) == _manifest_ids(store)
    assert set(store.manifest.documents["other"]["chunk_ids"]) == other_ids
    texts = " ".join(c.text for c in store.all_chunks())
    assert "Lukashenko government" in texts and "Lukashenko regime" not in texts


@pytest.mark.parametrize(("name", "content", "message"), [
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", "looks like a binary file"),
    ("latin1.txt", "Caf\xe9 cr\xe8me".encode("latin-1"), "not valid UTF-8"),
    ("empty.md", b"  \n\n ", "empty file"),
])
def test_bad_files_get_a_one_line_error_and_the_others_still_ingest(settings, embeddings, name, content, message):
    bad = settings.knowledge_dir / name
    bad.write_bytes(content)
    store = Store(settings=settings)
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert len(report.errors) == 1
    assert message in report.errors[0] and name in report.errors[0] and "\n" not in report.errors[0]
    assert report.added == ["russia-crisis-responses"]


def test_missing_paths_and_folders_without_supported_files(settings, embeddings, tmp_path: Path):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "image.png").write_bytes(b"\x89PNG")
    store = Store(settings=settings)
    report = ingest([tmp_path / "missing.txt", empty], store=store, embeddings=embeddings)
    assert any("missing.txt: no such file or directory" in e for e in report.errors)
    assert any("no supported files" in e and "nothing-here" in e for e in report.errors)
    assert store.count() == 0 and not store.manifest.documents


class FailingStore(Store):
    """A store whose writes fail after the first chunk, as a full disk would."""

    def upsert(self, chunks, vectors, **kwargs):
        super().upsert(chunks[:1], vectors[:1])
        raise OSError("disk full")


def test_a_failed_write_keeps_the_previous_version_of_the_document(settings, embeddings):
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    store = Store(settings=settings)
    before_ids, before_manifest = _stored_ids(store), dict(store.manifest.documents)
    essay = settings.knowledge_dir / "russia-crisis-responses.txt"
    essay.write_text(essay.read_text().replace("Minsk", "the capital"))
    report = ingest([settings.knowledge_dir], store=FailingStore(settings=settings), embeddings=embeddings)
    assert report.errors and "previous version kept" in report.errors[0]
    reopened = Store(settings=settings)
    assert _stored_ids(reopened) == before_ids
    assert reopened.manifest.documents == before_manifest


def test_remove_document_deletes_its_chunks_only(settings, embeddings):
    (settings.knowledge_dir / "other.txt").write_text("Uzbekistan reformed its currency in 2017.")
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    removed = remove_document(store, "russia-crisis-responses")
    assert removed > 0 and list(store.manifest.documents) == ["other"]
    assert _stored_ids(store) == _manifest_ids(store)
    with pytest.raises(KeyError, match="no document"):
        remove_document(store, "russia-crisis-responses")


def test_other_chunking_is_refused_and_rebuild_rechunks_every_document(settings, embeddings):
    from assistant.store import SettingsMismatch
    from assistant.sync import rebuild

    (settings.knowledge_dir / "other.txt").write_text("Uzbekistan reformed its currency in 2017. " * 20)
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    default_count = store.count()
    smaller = settings.with_overrides(chunk_size=300, chunk_overlap=50)
    with pytest.raises(SettingsMismatch, match=r"built with chunk size 700, overlap 150 .* you asked for chunk size "
                                               r"300, chunk overlap 50: run `assistant --collection knowledge "
                                               r"rebuild --chunk-size 300 --chunk-overlap 50`"):
        Store(settings=smaller)
    report = rebuild(store=Store(settings=smaller, check=False), embeddings=embeddings, chunk_size=300,
                     chunk_overlap=50)
    assert sorted(report.added) == ["other", "russia-crisis-responses"] and not report.errors
    store2 = Store(settings=smaller)
    assert (store2.settings.chunk_size, store2.settings.chunk_overlap) == (300, 50)
    assert _stored_ids(store2) == _manifest_ids(store2) and store2.count() > default_count
    essay = load(settings.knowledge_dir / "russia-crisis-responses.txt", root=settings.knowledge_dir)
    expected = [c.chunk_id for c in chunk_document(essay, size=300, overlap=50)]
    assert store2.manifest.documents["russia-crisis-responses"]["chunk_ids"] == expected
    assert store2.space != "knowledge" and "knowledge" not in {c.name for c in store2.client.list_collections()}


def _small_corpus(tmp_path: Path) -> Settings:
    """Two short notes in their own knowledge folder (quick to embed)."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "harbour.md").write_text("# Harbour\n\n## Cranes\n\nThe harbour bought two cranes in 1998.\n")
    (folder / "railway.md").write_text("# Railway\n\nThe railway reached the harbour in 1911. It closed in 1970.\n")
    return Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=folder)


def test_documents_chunked_by_an_older_chunker_are_redone_once(tmp_path, embeddings):
    settings = _small_corpus(tmp_path)
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    with sqlite3.connect(settings.manifest_path) as db:
        db.execute("UPDATE documents SET chunker = 0 WHERE doc_id = 'harbour'")
    db.close()
    store = Store(settings=settings)
    assert store.manifest.documents["harbour"]["chunker"] == 0
    assert "1 cut by an older chunker (run `assistant ingest`" in _older_chunks(store)  # what doctor says
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert report.updated == ["harbour"] and report.unchanged == ["railway"] and not report.errors
    assert {d: e["chunker"] for d, e in Store(settings=settings).manifest.documents.items()} == {
        "harbour": CHUNKER, "railway": CHUNKER}
    again = ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    assert sorted(again.unchanged) == ["harbour", "railway"] and not again.updated and again.embedded == 0
    assert _older_chunks(Store(settings=settings)) == ""


_DOCUMENTS_V1 = """CREATE TABLE documents (
    space TEXT NOT NULL, doc_id TEXT NOT NULL, title TEXT NOT NULL, author TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL, path TEXT, sha256 TEXT NOT NULL, chars INTEGER NOT NULL, pages INTEGER,
    ingested_at TEXT NOT NULL, PRIMARY KEY (space, doc_id)) WITHOUT ROWID"""


def test_a_version_1_manifest_opens_with_its_rows_and_gets_the_chunker_column(tmp_path, embeddings):
    settings = _small_corpus(tmp_path)
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    before = {d: {k: v for k, v in e.items() if k != "chunker"}
              for d, e in Store(settings=settings).manifest.documents.items()}
    columns = "space, doc_id, title, author, source, path, sha256, chars, pages, ingested_at"
    with sqlite3.connect(settings.manifest_path) as db:  # the documents table as schema version 1 wrote it
        db.execute("ALTER TABLE documents RENAME TO documents_v2")
        db.execute(_DOCUMENTS_V1)
        db.execute(f"INSERT INTO documents ({columns}) SELECT {columns} FROM documents_v2")
        db.execute("DROP TABLE documents_v2")
        db.execute("PRAGMA user_version = 1")
    db.close()
    with sqlite3.connect(settings.manifest_path) as db:
        assert "chunker" not in {row[1] for row in db.execute("PRAGMA table_info(documents)")}
    db.close()
    store = Store(settings=settings)
    documents = store.manifest.documents
    assert {d: e["chunker"] for d, e in documents.items()} == {"harbour": 0, "railway": 0}
    assert {d: {k: v for k, v in e.items() if k != "chunker"} for d, e in documents.items()} == before
    assert store.db.rows("PRAGMA user_version")[0][0] == SCHEMA_VERSION
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert sorted(report.updated) == ["harbour", "railway"] and report.embedded == 0
