"""Named collections, their stored settings, the manifest's agreement with Chroma, and the old JSON manifest."""

from __future__ import annotations

import json

import pytest

from assistant.chain import build_assistant
from assistant.ingest import IngestReport, ingest, write_documents
from assistant.models import SourceDocument
from assistant.service import ChatService
from assistant.store import Store

from . import storetools as st

NOTE = "# Water talks\n\nThe Vakhsh water commission of Tajikistan and Uzbekistan meets twice a year in Dushanbe.\n"


def _json(result) -> list | dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_named_collections_are_separate_listed_and_keep_their_own_chunking(settings, tmp_path):
    notes = tmp_path / "notes"
    st.write_corpus(notes, 3)
    assert st.run_cli(settings, "ingest").returncode == 0
    assert st.run_cli(settings, "--collection", "notes", "ingest", str(notes)).returncode == 0
    small = st.run_cli(settings, "ingest", "--collection", "notes-small", "--chunk-size", "120", "--chunk-overlap",
                       "0", str(notes))
    assert small.returncode == 0, small.stderr
    listed = {c["name"]: c for c in _json(st.run_cli(settings, "collections", "--json"))}
    assert set(listed) == {"knowledge", "notes", "notes-small"}
    assert listed["knowledge"]["documents"] == 1 and listed["notes"]["documents"] == 3
    assert (listed["notes"]["chunk_size"], listed["notes-small"]["chunk_size"]) == (700, 120)
    assert listed["notes-small"]["chunks"] > listed["notes"]["chunks"] >= 3
    assert {c["embedding"] for c in listed.values()} == {"all-MiniLM-L6-v2 (int8 ONNX)"}
    text = st.run_cli(settings, "collections").stdout
    assert "notes-small\t3 documents\t" in text and "chunk size 120, overlap 0" in text
    docs = _json(st.run_cli(settings, "docs", "--json", "--collection", "notes"))
    assert [set(d) for d in docs] == [{"doc_id", "title", "source", "chunks", "ingested_at"}] * 3
    assert [d["title"] for d in docs] == ["Note 0", "Note 1", "Note 2"] and {d["chunks"] for d in docs} == {3}
    question = (notes / "note-01.md").read_text().split("\n\n")[2].split(").")[0] + ")."
    in_notes = _json(st.run_cli(settings, "--collection", "notes-small", "ask", "--json", question))
    assert in_notes["citations"] and {c["title"] for c in in_notes["citations"]} <= {"Note 0", "Note 1", "Note 2"}
    assert in_notes["citations"][0]["title"] == "Note 1"
    in_default = _json(st.run_cli(settings, "ask", "--json", question))
    assert not {c["title"] for c in in_default["citations"]} & {"Note 0", "Note 1", "Note 2"}


def test_other_settings_get_the_rebuild_command_and_rebuild_applies_them(settings):
    assert st.run_cli(settings, "ingest").returncode == 0
    other = st.run_cli(settings, "ingest", "--chunk-size", "300")
    assert other.returncode == 1 and other.stdout == ""
    assert other.stderr == ("error: collection 'knowledge' was built with chunk size 700, overlap 150 and the model "
                            "all-MiniLM-L6-v2 (int8 ONNX); you asked for chunk size 300: run `assistant --collection "
                            "knowledge rebuild --chunk-size 300` to rebuild it (or use the stored settings)\n")
    asked = st.run_cli(settings, "ask", "What happened in Belarus?", ASSISTANT_CHUNK_OVERLAP="100")
    assert asked.returncode == 1 and "you asked for chunk overlap 100" in asked.stderr
    rebuilt = st.run_cli(settings, "rebuild", "--chunk-size", "300", "--chunk-overlap", "50")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "rebuilt 'knowledge': 1 documents" in rebuilt.stdout and "chunk size 300, overlap 50" in rebuilt.stdout
    again = st.run_cli(settings, "ingest")
    assert again.returncode == 0 and "0 added, 0 updated, 1 unchanged" in again.stdout
    doctor = st.run_cli(settings, "doctor")
    assert doctor.returncode == 0 and "ok    agreement 'knowledge': manifest and Chroma agree: 1 documents" in \
        doctor.stdout


def test_vectors_of_another_model_are_never_mixed_in(settings):
    import sqlite3

    assert st.run_cli(settings, "ingest").returncode == 0
    with sqlite3.connect(settings.manifest_path) as db:
        db.execute("UPDATE collections SET embedding = 'some-other-model'")
    for args in (["ask", "What happened in Belarus?"], ["ingest"]):
        refused = st.run_cli(settings, *args)
        assert refused.returncode == 1 and "the model some-other-model; you asked for the model all-MiniLM-L6-v2" \
            in refused.stderr and "run `assistant --collection knowledge rebuild` to rebuild it" in refused.stderr
    assert st.run_cli(settings, "rebuild").returncode == 0
    assert st.run_cli(settings, "ask", "What happened in Belarus?").returncode == 0


def test_only_the_default_collection_is_filled_with_the_knowledge_folder(settings, embeddings):
    named = build_assistant(settings.with_overrides(collection="empty-one"), embeddings=embeddings)
    assert named.ensure_corpus() is None and named.store.count() == 0
    result = st.run_cli(settings.with_overrides(collection="empty-one"), "ask", "What happened in Belarus?")
    assert result.returncode == 1
    assert result.stderr == ("error: collection 'empty-one' has no documents: add some with `assistant --collection "
                             "empty-one ingest PATH`\n")
    default = build_assistant(settings, embeddings=embeddings)
    assert default.ensure_corpus().added == ["russia-crisis-responses"]


def test_docs_json_carries_pages_and_author_where_the_format_has_them(settings, embeddings):
    store = Store(settings=settings)
    doc = SourceDocument(doc_id="report", title="Report", source="report.pdf", text=NOTE, sha256="0" * 64,
                         page_starts=(0, 40, 80), author="A. Author")
    with store.writing("ingest"):
        write_documents([doc], store=store, embeddings=embeddings, report=IngestReport())
    [entry] = _json(st.run_cli(settings, "docs", "--json"))
    assert entry["pages"] == 3 and entry["author"] == "A. Author" and entry["chunks"] == 1


def test_the_web_service_answers_lists_uploads_and_removes_per_collection(settings, embeddings, tmp_path):
    service = ChatService(assistant=build_assistant(settings, embeddings=embeddings))
    service.assistant.ensure_corpus()
    upload = tmp_path / "water.md"
    upload.write_text(NOTE)
    done, errors = service.add_files([upload], collection="water")
    assert errors == [] and done == ["water.md: added (1 chunks)"]
    assert (settings.uploads_dir / "water" / "water.md").is_file()
    names = {c["name"]: c for c in service.collections()}
    assert set(names) == {"knowledge", "water"} and names["water"]["documents"] == 1
    answer = service.ask("Where does the water commission meet?", collection="water")
    assert not answer.refused and answer.citations[0].title == "Water talks"
    default = service.ask("Where does the water commission meet?")
    assert all(c.title != "Water talks" for c in default.citations)
    [doc] = service.documents(collection="water")
    assert service.documents() != [doc]
    assert service.remove(doc["doc_id"], collection="water") == f"removed {doc['doc_id']} (1 chunks)"
    assert service.documents(collection="water") == [] and not (settings.uploads_dir / "water" / "water.md").exists()
    with pytest.raises(KeyError, match="no collection named 'nope'"):
        service.ask("Anything?", collection="nope")


def test_an_old_json_manifest_is_imported_once(settings, embeddings):
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    entry = store.manifest.documents["russia-crisis-responses"]
    legacy = {"version": 1, "config": {"chunk_size": 700, "chunk_overlap": 150,
                                       "embedding": "all-MiniLM-L6-v2 (int8 ONNX)"},
              "documents": {"russia-crisis-responses": {k: entry[k] for k in ("title", "source", "sha256", "chars",
                                                                              "chunk_ids", "ingested_at")}}}
    store.db.close()
    for suffix in ("", "-wal", "-shm"):
        settings.manifest_path.with_name(settings.manifest_path.name + suffix).unlink(missing_ok=True)
    (settings.data_dir / "manifest-knowledge.json").write_text(json.dumps(legacy))
    first = st.run_cli(settings, "docs")
    assert first.stderr.startswith("imported manifest-knowledge.json (1 documents) into ")
    assert first.stdout.startswith("russia-crisis-responses\tRussia's Responses")
    second = st.run_cli(settings, "docs")
    assert second.stderr == "" and second.stdout == first.stdout
    assert (settings.data_dir / "manifest-knowledge.json.imported").is_file()
    assert st.run_cli(settings, "doctor").returncode == 0
    rebuilt = st.run_cli(settings, "rebuild", "--chunk-size", "400", "--chunk-overlap", "80")
    assert rebuilt.returncode == 0, rebuilt.stderr


def test_doctor_names_the_first_difference_and_repair_fixes_it(settings, embeddings, tmp_path):
    notes = tmp_path / "notes"
    st.write_corpus(notes, 3)
    store = Store(settings=settings)
    ingest([settings.knowledge_dir, notes], store=store, embeddings=embeddings)
    doc_id = sorted(store.manifest.documents)[0]
    half = store.manifest.documents[doc_id]
    store.collection.delete(ids=half["chunk_ids"][1:2])
    vector = embeddings.embed_query("ghost")
    store.collection.upsert(ids=["ghost:1", "ghost:2"], documents=["Ghost one.", "Ghost two."],
                            embeddings=[vector, vector], metadatas=[{"doc_id": "ghost"}] * 2)
    broken = st.run_cli(settings, "doctor")
    assert broken.returncode == 1
    assert (f"FAIL  agreement 'knowledge': chunk {half['chunk_ids'][1]} of document '{doc_id}' is in the manifest "
            "but not in Chroma (1 such chunks); run `assistant --collection knowledge doctor --repair`"
            ) in broken.stdout
    repaired = st.run_cli(settings, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert "deleted 2 chunks that no document listed" in repaired.stdout
    assert f"removed half-written document '{doc_id}': re-ingest {half['path']}" in repaired.stdout
    assert st.run_cli(settings, "doctor").returncode == 0
    assert doc_id not in st.run_cli(settings, "docs").stdout
    again = st.run_cli(settings, "ingest", str(notes))
    assert again.returncode == 0 and "1 added" in again.stdout
    state = st.store_state(settings)
    assert state["stored"] == state["listed"] and len(state["documents"]) == 4


def test_only_chroma_orphans_are_reported_as_such(settings, embeddings):
    store = Store(settings=settings)
    ingest([settings.knowledge_dir], store=store, embeddings=embeddings)
    vector = embeddings.embed_query("ghost")
    store.collection.upsert(ids=["ghost:1"], documents=["Ghost."], embeddings=[vector], metadatas=[{"doc_id": "g"}])
    result = st.run_cli(settings, "doctor")
    assert result.returncode == 1
    assert ("FAIL  agreement 'knowledge': Chroma holds 1 chunks that no document in the manifest lists (first: "
            "ghost:1)") in result.stdout
