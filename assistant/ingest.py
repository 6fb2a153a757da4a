"""Files -> chunks -> vectors -> store: idempotent, per-document all-or-nothing, with a summary."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .chunking import chunk_document
from .documents import DocumentError, discover, load
from .embeddings import MODEL_NAME, MiniLMEmbeddings
from .indexes import build_indexes
from .models import Chunk, SourceDocument
from .store import Store

ENCODE_GROUP = 256


@dataclass(kw_only=True)
class IngestReport:
    """What an ingest run did, for the summary line and for callers such as the web chat."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: documents added/updated/unchanged/failed, chunks, seconds."""
        return (f"ingested: {len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.errors)} failed; {self.chunks} chunks ({self.embedded} embedded) in {self.seconds:.1f}s")


def ingest(paths: list[Path], *, store: Store, embeddings: MiniLMEmbeddings,
           progress: bool = False) -> IngestReport:
    """Ingest every supported file under `paths`; a bad file is reported and the others still go in. Files
    stream through reading, chunking and embedding a group at a time, so memory does not grow with the corpus."""
    began, report = time.perf_counter(), IngestReport()
    files, errors = discover(paths)
    report.errors.extend(str(e) for e in errors)
    bar = _progress_bar(enabled=progress and len(files) > 1)
    for group, have in _planned_groups(files, store, report):
        _write_group(store, embeddings, group, have, report, bar)
    bar.close()
    if report.added or report.updated:
        build_indexes(store)  # save the search indexes now, so the next question does not build them
    report.seconds = time.perf_counter() - began
    return report


def _planned_groups(files: list[Path], store: Store, report: IngestReport):
    """(documents to write, chunk ids already stored) about ENCODE_GROUP chunks at a time; unchanged documents
    and unreadable files go straight into the report."""
    window: list[tuple[SourceDocument, list[Chunk]]] = []
    for path in files:
        doc = _load(path, store, report)
        if doc is not None:
            window.append((doc, chunk_document(doc, size=store.settings.chunk_size,
                                               overlap=store.settings.chunk_overlap)))
        if window and (sum(len(c) for _, c in window) >= ENCODE_GROUP or path == files[-1]):
            have = store.existing_ids(list(dict.fromkeys(c.chunk_id for _, chunks in window for c in chunks)))
            report.chunks += sum(len(c) for _, c in window)
            same = [_unchanged(store, doc, chunks, have) for doc, chunks in window]
            report.unchanged += [doc.doc_id for (doc, _), skip in zip(window, same, strict=True) if skip]
            todo = [planned for planned, skip in zip(window, same, strict=True) if not skip]
            window = []
            if todo:
                yield todo, have


def _load(path: Path, store: Store, report: IngestReport) -> SourceDocument | None:
    """One file as a document, or None with a one-line error in the report."""
    try:
        return load(path, root=store.settings.knowledge_dir)
    except (DocumentError, OSError) as exc:
        report.errors.append(str(exc) if isinstance(exc, DocumentError) else f"{path}: {exc.strerror}")
        return None


def _unchanged(store: Store, doc: SourceDocument, chunks: list[Chunk], have: set[str]) -> bool:
    """Same text, same chunk ids, all still in the collection: nothing to do."""
    entry = store.manifest.documents.get(doc.doc_id)
    ids = [c.chunk_id for c in chunks]
    return bool(entry) and entry["sha256"] == doc.sha256 and entry["chunk_ids"] == ids and have.issuperset(ids)


def _write_group(store: Store, embeddings: MiniLMEmbeddings, group: list, have: set[str], report: IngestReport,
                 bar) -> None:
    """Embed and store the group's new chunks in one pass each, then record each document."""
    fresh = list({c.chunk_id: c for _, chunks in group for c in chunks if c.chunk_id not in have}.values())
    bar.update(sum(len(chunks) for _, chunks in group) - len(fresh))
    try:
        vectors = embeddings.encode([c.text for c in fresh], progress=bar.update)
    except Exception as exc:  # nothing written yet: every document keeps its previous version
        report.errors += [f"{doc.source}: could not embed chunks ({exc}); previous version kept" for doc, _ in group]
        return
    old_ids = {i for doc, _ in group for i in store.manifest.documents.get(doc.doc_id, {}).get("chunk_ids", [])}
    try:
        store.attach([c for _, chunks in group for c in chunks],
                     dict(zip((c.chunk_id for c in fresh), vectors, strict=True)))
    except Exception as exc:  # remove what this write added: every document keeps its previous version
        store.delete([c.chunk_id for c in fresh if c.chunk_id not in old_ids])
        report.errors += [f"{doc.source}: could not store chunks ({exc}); previous version kept" for doc, _ in group]
        return
    for doc, chunks in group:
        _record_document(store, doc, chunks, report)
    report.embedded += len(fresh)


def _record_document(store: Store, doc: SourceDocument, chunks: list[Chunk], report: IngestReport) -> None:
    """With the new chunks stored: drop the document's old chunks, then record it in the manifest."""
    previous = store.manifest.documents.get(doc.doc_id)
    keep = {c.chunk_id for c in chunks}
    store.detach(doc.doc_id, sorted(set(previous["chunk_ids"] if previous else ()) - keep))
    store.manifest.documents[doc.doc_id] = _entry(doc, chunks)
    store.manifest.config = {"chunk_size": store.settings.chunk_size,
                             "chunk_overlap": store.settings.chunk_overlap, "embedding": MODEL_NAME}
    store.commit()
    (report.updated if previous else report.added).append(doc.doc_id)


def _entry(doc: SourceDocument, chunks: list[Chunk]) -> dict:
    """The manifest record of one document."""
    return {"title": doc.title, "source": doc.source, "sha256": doc.sha256, "chars": len(doc.text),
            "chunk_ids": [c.chunk_id for c in chunks],
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds")}


def remove_document(store: Store, doc_id: str) -> int:
    """Delete a document's chunks and its manifest entry; returns the number of chunks removed."""
    entry = store.manifest.documents.get(doc_id)
    if entry is None:
        raise KeyError(f"no document with id {doc_id!r} in collection {store.settings.collection!r}")
    store.detach(doc_id, entry["chunk_ids"])
    del store.manifest.documents[doc_id]
    store.commit()
    return len(entry["chunk_ids"])


def _progress_bar(*, enabled: bool):
    """A tqdm counter of chunks on stderr for long ingests (the total is unknown while files stream), silent
    otherwise."""
    from tqdm import tqdm

    return tqdm(unit="chunk", desc="embedding", file=sys.stderr, disable=not enabled, leave=False)
