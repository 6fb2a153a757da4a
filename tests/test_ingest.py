"""Ingestion against real Chroma in a temp dir: idempotent, replacing, and safe with bad input."""

from pathlib import Path

import pytest

from assistant.chunking import chunk_document
from assistant.documents import load
from assistant.ingest import ingest, remove_document
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
