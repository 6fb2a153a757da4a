"""The store's read side at scale: shared chunk texts stored once, paged reads, a saved lexical index, and
approximate (HNSW) search that finds what exact search finds, the same way in every process."""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant import indexes as indexes_module
from assistant import store as store_module
from assistant.indexes import open_indexes
from assistant.ingest import ingest, remove_document
from assistant.retrieval import HybridRetriever
from assistant.settings import PROJECT_ROOT, Settings
from assistant.store import Store, owners_of
from assistant.text import terms
from assistant.vectors import VectorIndex

from .hashed_embeddings import HashedEmbeddings

SHARED = ("Installation notes. Download the archive, unpack it into a folder of your choice and run the setup "
          "script from that folder; it asks for nothing and writes a log file next to itself.")


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_identical_chunk_texts_are_stored_once_and_every_source_is_kept(settings, embeddings):
    folder = settings.knowledge_dir
    _write(folder, "a.md", f"# Alpha\n\nAlpha is a tool for sorting seeds by size.\n\n{SHARED}\n")
    _write(folder, "b.md", f"# Beta\n\nBeta measures rainfall in the hills above the town.\n\n{SHARED}\n")
    _write(folder, "a-copy.md", (folder / "a.md").read_text())
    store = Store(settings=settings)
    ingest([folder], store=store, embeddings=embeddings)
    ids = {d: set(e["chunk_ids"]) for d, e in store.manifest.documents.items()}
    assert ids["a"] == ids["a-copy"]
    stored = set(store.chunk_ids())
    assert stored == set().union(*ids.values()) and len(stored) < sum(len(v) for v in ids.values())
    shared_id = next(iter(ids["a"] & ids["a-copy"]))
    meta = store.collection.get(ids=[shared_id], include=["metadatas"])["metadatas"][0]
    assert {o["doc_id"] for o in owners_of(meta)} == {"a", "a-copy"}
    remove_document(store, "a")
    chunk = store.get_chunks([shared_id])[shared_id]
    assert chunk.doc_id == "a-copy"
    assert (folder / "a-copy.md").read_text()[chunk.start:chunk.end] == chunk.text
    remove_document(store, "a-copy")
    assert not store.get_chunks([shared_id])
    assert set(store.chunk_ids()) == ids["b"] | ids["russia-crisis-responses"]


def test_an_edited_document_moves_the_spans_of_the_chunks_it_kept(settings, embeddings):
    path = settings.knowledge_dir / "russia-crisis-responses.txt"
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    path.write_text("A new opening line about the region.\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    report = ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    assert report.updated == ["russia-crisis-responses"] and report.embedded < report.chunks
    text = path.read_text(encoding="utf-8")
    for chunk in store.all_chunks():
        assert text[chunk.start:chunk.end] == chunk.text


def test_bulk_reads_are_paged(settings, embeddings, monkeypatch):
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    everything = store.all_chunks()
    monkeypatch.setattr(store_module, "PAGE", 2)
    pages = list(store.pages(include=[]))
    assert len(pages) == (len(everything) + 1) // 2 and all(len(p["ids"]) <= 2 for p in pages)
    assert [c.chunk_id for c in store.all_chunks()] == [c.chunk_id for c in everything]
    assert store.chunk_ids() == sorted(c.chunk_id for c in everything)


def test_the_search_indexes_are_saved_with_the_store_and_loaded_until_the_collection_changes(settings, embeddings,
                                                                                           monkeypatch):
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    folder = settings.data_dir / "indexes" / settings.collection
    saved = list(folder.iterdir())
    assert len(saved) == 1

    def no_build(store):
        raise AssertionError("rebuilt indexes that were saved")

    monkeypatch.setattr(indexes_module, "build_indexes", no_build)
    loaded = open_indexes(Store(settings=settings))
    assert len(loaded.lexical) == len(loaded.vectors) == store.count()
    assert loaded.lexical.contains(terms("remittances")[0])
    assert loaded.lexical.search("remittances", 3)[0][0] in store.chunk_ids()
    assert isinstance(loaded.vectors.matrix, np.memmap)
    first = loaded.lexical.ids[0]
    assert loaded.records.get([first]) == store.get_chunks([first])  # the chunk records match what Chroma holds
    monkeypatch.undo()
    _write(settings.knowledge_dir, "extra.md", "Tajikistan held talks about water rights with its neighbours.")
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    after = list(folder.iterdir())
    assert len(after) == 1 and after != saved and open_indexes(store).lexical.contains(terms("Tajikistan")[0])
    remove_document(store, "extra")
    rebuilt = open_indexes(store)  # a new revision: built from Chroma, the older folder deleted
    assert rebuilt.key not in (loaded.key, after[0].name) and list(folder.iterdir()) == [folder / rebuilt.key]
    assert not rebuilt.lexical.contains(terms("Tajikistan")[0]) and len(rebuilt.lexical) == len(loaded.lexical)


def test_a_question_on_saved_indexes_never_opens_chroma(settings, embeddings):
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    script = ("import json, sys; from click.testing import CliRunner; from assistant.cli import cli; "
              f"out = CliRunner().invoke(cli, ['--data-dir', {str(settings.data_dir)!r}, '--knowledge-dir', "
              f"{str(settings.knowledge_dir)!r}, 'ask', '--json', 'What did Russia do in Belarus?']); "
              "print(json.dumps([out.exit_code, 'chromadb' in sys.modules, json.loads(out.output)['citations']]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=120)
    code, imported, citations = json.loads(done.stdout.strip().splitlines()[-1])
    assert code == 0 and citations and not imported


def test_a_shared_chunk_shows_a_remaining_owner_once_the_first_is_removed(settings, embeddings):
    folder = settings.knowledge_dir
    _write(folder, "a.md", f"# Alpha\n\nAlpha is a tool for sorting seeds by size.\n\n{SHARED}\n")
    _write(folder, "b.md", (folder / "a.md").read_text())  # every chunk shared
    store = Store(settings=settings)
    ingest([folder], store=store, embeddings=embeddings)
    retriever = HybridRetriever(store=store, embeddings=embeddings)
    question = "Where is the setup script run from?"
    assert [p.chunk.doc_id for p in retriever.passages(question, 2) if SHARED in p.chunk.text] == ["a"]
    remove_document(store, "a")
    fresh = HybridRetriever(store=Store(settings=settings), embeddings=embeddings)
    for reader in (fresh, retriever):
        assert [p.chunk.doc_id for p in reader.passages(question, 2) if SHARED in p.chunk.text] == ["b"]


class _ReadRacingAWriter(Store):
    """A store whose first full read fails the way Chroma fails reading rows being deleted, with (or without)
    another process's commit landing meanwhile."""

    failures, commits = 1, True

    def pages(self, *, include):
        if self.failures:
            self.failures -= 1
            if self.commits:
                self.db.bump(self.settings.collection, self.space)
            raise store_module.StoreError("Chroma at the store failed: Error executing plan: Error finding id")
        return super().pages(include=include)


def test_an_index_build_that_meets_a_writer_starts_again_and_a_failure_that_persists_is_raised(settings, embeddings):
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    racing = _ReadRacingAWriter(settings=settings)
    racing.db.bump(settings.collection, racing.space)  # a new revision: its indexes must be built from Chroma
    assert len(open_indexes(racing).lexical) == racing.count() and racing.failures == 0
    racing.failures, racing.commits = 5, True  # a busy writer: every build meets another commit, then one succeeds
    racing.db.bump(settings.collection, racing.space)
    assert len(open_indexes(racing).lexical) == racing.count() and racing.failures == 0
    transient = _ReadRacingAWriter(settings=settings)
    transient.commits = False  # no writer explains it: tried again a few times
    transient.db.bump(settings.collection, transient.space)
    assert len(open_indexes(transient).lexical) == transient.count() and transient.failures == 0
    broken = _ReadRacingAWriter(settings=settings)
    broken.failures, broken.commits = 100, False
    broken.db.bump(settings.collection, broken.space)
    with pytest.raises(store_module.StoreError, match="Error finding id"):
        open_indexes(broken)


def test_chunk_records_name_a_committed_owner_of_a_shared_text():
    meta = store_module.with_owners(None, [_owned("a-new", 0), _owned("b", 40)])
    assert store_module.chunk_from("id", SHARED, meta).doc_id == "a-new"
    chunk = store_module.chunk_from("id", SHARED, meta, docs={"b"})  # "a-new" is still being written
    assert (chunk.doc_id, chunk.start) == ("b", 40)


def _owned(doc_id: str, start: int):
    from assistant.models import Chunk

    return Chunk(chunk_id="id", doc_id=doc_id, title=doc_id, source=f"{doc_id}.md", text=SHARED, start=start,
                 end=start + len(SHARED), paragraph=1, index=0)


def _corpus_with_copies(folder: Path, documents: int) -> None:
    """Generated notes where a third of the files are verbatim copies of others (as vendored licences and
    READMEs are), so a third of the chunks repeat another chunk's text."""
    rng = random.Random(11)
    vocabulary = [f"{a}{b}" for a in ("tor", "mel", "sar", "vin", "qua", "lem", "dox", "fir") for b in
                  ("ank", "ost", "ide", "ura", "emb", "oil", "ax", "ent")]
    for d in range(documents):
        paragraphs = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(8, 30))).capitalize() + "."
                      for _ in range(rng.randint(10, 30))]
        _write(folder, f"note-{d:03d}.md", "\n\n".join(paragraphs) + "\n")
    for d in range(documents // 2):
        _write(folder, f"copy-{d:03d}.md", (folder / f"note-{d:03d}.md").read_text())


def test_dense_search_is_exact_repeats_across_processes_and_hnsw_finds_what_it_finds(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _corpus_with_copies(corpus, 160)
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=corpus)
    store = Store(settings=settings)
    hashed = HashedEmbeddings()
    report = ingest([corpus], store=store, embeddings=hashed)
    assert store.count() < 0.75 * report.chunks  # the copies' chunks are stored once
    ids, vectors = [], []
    for page in store.pages(include=["embeddings"]):
        ids += page["ids"]
        vectors.append(np.asarray(page["embeddings"], dtype=np.float32))
    matrix = np.vstack(vectors)
    sample = random.Random(3).sample(range(len(ids)), 200)
    exact = np.argsort(-(matrix[sample] @ matrix.T), axis=1, kind="stable")[:, :10]
    approximate = [[c.chunk_id for c, _ in store.query(matrix[i], 10)] for i in sample]
    assert np.mean([a[0] == ids[i] for a, i in zip(approximate, sample, strict=True)]) == 1.0
    overlap = [len(set(a) & {ids[j] for j in e}) / 10 for a, e in zip(approximate, exact, strict=True)]
    assert np.mean(overlap) >= 0.97

    retriever = HybridRetriever(store=store, embeddings=hashed)
    queries = [" ".join(ids[i][1:6] for i in sample[:3])] + [c.text[:80] for c in store.all_chunks()[:20]]
    dense = [[c.chunk_id for c, _ in retriever.dense(q, 10)] for q in queries]
    for query, found in zip(queries, dense, strict=True):
        scores = matrix @ hashed.encode([query])[0]
        assert found == [i for _, i in sorted(zip(-scores, ids, strict=True))[:10]]
    other_process = subprocess.run(
        [sys.executable, "-c", _DENSE_IN_A_NEW_PROCESS, str(settings.data_dir), json.dumps(queries)],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT, timeout=120)
    assert json.loads(other_process.stdout) == dense


_DENSE_IN_A_NEW_PROCESS = """
import json, sys
from pathlib import Path
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.store import Store
from tests.hashed_embeddings import HashedEmbeddings
store = Store(settings=Settings.from_env(env={}, data_dir=Path(sys.argv[1])))
retriever = HybridRetriever(store=store, embeddings=HashedEmbeddings())
print(json.dumps([[c.chunk_id for c, _ in retriever.dense(q, 10)] for q in json.loads(sys.argv[2])]))
"""


@pytest.mark.parametrize("k", [1, 5, 50])
def test_bm25_top_k_matches_a_full_sort_of_the_scores(settings, embeddings, k):
    store = Store(settings=settings)
    _write(settings.knowledge_dir, "extra.md", "Belarus and Russia signed a treaty.\n\nRussia sent envoys to Minsk.")
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    index = open_indexes(store).lexical
    query = "Russia Belarus Minsk crisis response"
    scores = index._bm25.get_scores([t for t in terms(query) if index.contains(t)])
    expected = sorted(((index.ids[i], float(s)) for i, s in enumerate(scores) if s > 0), key=lambda h: (-h[1], h[0]))
    found = index.search(query, k)
    assert [i for i, _ in found] == [i for i, _ in expected[:k]] and len(found) == min(k, len(expected))
    assert [s for _, s in found] == pytest.approx([s for _, s in expected[:k]])


@pytest.mark.parametrize("k", [1, 4, 5, 30, 200])
def test_exact_search_cuts_a_tie_at_the_kth_score_by_id_and_returns_at_most_k(k):
    rng = random.Random(5)
    scores = [0.9, 0.8, 0.7] + [0.5] * 60 + [rng.uniform(-0.4, 0.4) for _ in range(40)]
    ids = [f"c{n:04d}" for n in rng.sample(range(1000), len(scores))]  # id order unrelated to row order
    matrix = np.zeros((len(scores), 4), dtype=np.float32)
    matrix[:, 0] = scores  # against the query (1, 0, 0, 0) every score is exact, so the 60 ties are exact
    matrix[:, 1] = np.sqrt(1 - np.square(matrix[:, 0]))
    found = VectorIndex(ids, matrix).search(np.array([1, 0, 0, 0], dtype=np.float32), k)
    expected = sorted(zip(ids, np.float32(scores).tolist(), strict=True), key=lambda h: (-h[1], h[0]))[:k]
    assert found == expected and len(found) == min(k, len(ids))
    tied = sorted(i for i, s in zip(ids, scores, strict=True) if s == 0.5)
    if 3 < k < 63:
        assert [i for i, _ in found[3:]] == tied[:k - 3]
