"""Files -> chunks -> vectors -> store: streamed a window at a time, idempotent, per-document all-or-nothing."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .chunking import CHUNKER, chunk_document
from .documents import DocumentError, Skipped, discover, load
from .embeddings import MiniLMEmbeddings
from .indexes import build_indexes
from .integrity import crash_point
from .models import Chunk, SourceDocument
from .store import Store

WINDOW_CHUNKS = 2048  # documents are loaded and chunked this many chunks' worth of text at a time


@dataclass(kw_only=True)
class IngestReport:
    """What an ingest run did, for the summary line and for callers such as the web chat."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: documents added/updated/unchanged/failed, chunks, seconds."""
        skipped = f", {len(self.notes)} skipped" if self.notes else ""
        return (f"ingested: {len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.errors)} failed{skipped}; {self.chunks} chunks ({self.embedded} embedded) in "
                f"{self.seconds:.1f}s")


def ingest(paths: list[Path], *, store: Store, embeddings: MiniLMEmbeddings,
           progress: bool = False) -> IngestReport:
    """Ingest every supported file under `paths`; a bad file is reported and the others still go in.
    Raises StoreBusy when another process is writing to the store."""
    with store.writing("ingest"):
        return _ingest(paths, store=store, embeddings=embeddings, progress=progress)


def _ingest(paths: list[Path], *, store: Store, embeddings: MiniLMEmbeddings, progress: bool) -> IngestReport:
    """Find the files, then stream them through loading, chunking and embedding a window at a time, so memory
    does not grow with the corpus; save the search indexes when anything changed."""
    began, report = time.perf_counter(), IngestReport()
    files, errors = discover(paths, follow_symlinks=store.settings.follow_symlinks)
    report.notes.extend(str(e) for e in errors if isinstance(e, Skipped))
    report.errors.extend(str(e) for e in errors if not isinstance(e, Skipped))
    bar = _progress_bar(enabled=progress)
    for window in windows(files, store, report):
        write_documents(window, store=store, embeddings=embeddings, report=report, bar=bar)
    bar.close()
    if report.added or report.updated:
        build_indexes(store)  # saved now, so the next question does not build them
    report.seconds = time.perf_counter() - began
    return report


def write_documents(docs: list[SourceDocument], *, store: Store, embeddings: MiniLMEmbeddings,
                    report: IngestReport, progress: bool = False, bar=None) -> None:
    """Chunk, skip what is unchanged, then embed and write in batches (call holding the writer lock)."""
    plans = [(doc, chunk_document(doc, size=store.settings.chunk_size, overlap=store.settings.chunk_overlap))
             for doc in docs]
    have = store.existing_ids(list(dict.fromkeys(c.chunk_id for _, chunks in plans for c in chunks)))
    todo = []
    for doc, chunks in plans:
        if _unchanged(store, doc, chunks, have):
            report.unchanged.append(doc.doc_id)
        else:
            todo.append((doc, chunks))
    own = bar is None
    bar = _progress_bar(enabled=progress) if own else bar
    for group in _groups(todo, have, store.settings.ingest_batch):
        _write_group(store, embeddings, group, have, report, bar)
    if own:
        bar.close()
    report.chunks += sum(len(c) for _, c in plans)


def windows(files: list[Path], store: Store, report: IngestReport):
    """The files loaded as documents, yielded in windows of about WINDOW_CHUNKS chunks' worth of text; two files
    with one id are an error (the first one wins)."""
    window, chars = [], 0
    limit = WINDOW_CHUNKS * store.settings.chunk_size
    for path in files:
        doc = _load(path, store, report)
        if doc is None:
            continue
        window.append(doc)
        chars += len(doc.text)
        if chars >= limit:
            yield window
            window, chars = [], 0
    if window:
        yield window


def _load(path: Path, store: Store, report: IngestReport) -> SourceDocument | None:
    """One file as a document, or None with a one-line error in the report."""
    try:
        doc = load(path, root=store.settings.knowledge_dir, max_mb=store.settings.max_file_mb)
    except (DocumentError, OSError) as exc:
        report.errors.append(str(exc) if isinstance(exc, DocumentError) else f"{path}: {exc.strerror}")
        return None
    if doc.doc_id in report.paths:
        report.errors.append(f"{path}: same document id {doc.doc_id!r} as {report.paths[doc.doc_id]}; "
                             "rename one of them")
        return None
    report.paths[doc.doc_id] = str(path.resolve())
    return doc


def _unchanged(store: Store, doc: SourceDocument, chunks: list[Chunk], have: set[str]) -> bool:
    """Same text, same chunk ids, all still in the collection, chunked by this version: nothing to do. A document
    chunked by an older version (other chunk ids, no section headings) is chunked and embedded again."""
    entry = store.manifest.documents.get(doc.doc_id)
    ids = [c.chunk_id for c in chunks]
    return bool(entry) and entry["sha256"] == doc.sha256 and entry["chunk_ids"] == ids and \
        have.issuperset(ids) and entry.get("chunker") == CHUNKER


def _groups(todo: list[tuple[SourceDocument, list[Chunk]]], have: set[str], batch: int):
    """Documents in groups of about `batch` new chunks, so encoding runs in full batches."""
    group, size = [], 0
    for doc, chunks in todo:
        group.append((doc, chunks))
        size += sum(c.chunk_id not in have for c in chunks)
        if size >= batch:
            yield group
            group, size = [], 0
    if group:
        yield group


def _write_group(store: Store, embeddings: MiniLMEmbeddings, group: list, have: set[str], report: IngestReport,
                 bar) -> None:
    """Embed the group's new chunks, announce them, store them, then commit the group's documents at once."""
    fresh = list({c.chunk_id: c for _, chunks in group for c in chunks if c.chunk_id not in have}.values())
    bar.update(sum(len(chunks) for _, chunks in group) - len(fresh))
    try:
        vectors = embeddings.encode([c.embedded_text() for c in fresh], progress=bar.update)
    except Exception as exc:  # nothing written yet: every document keeps its previous version
        report.errors += [f"{doc.source}: could not embed chunks ({exc}); previous version kept" for doc, _ in group]
        return
    ids = [c.chunk_id for c in fresh]
    store.announce(ids)
    crash_point("after-announce")
    try:
        store.attach([c for _, chunks in group for c in chunks],
                     dict(zip((c.chunk_id for c in fresh), vectors, strict=True)))
    except Exception as exc:  # remove what this write added: every document keeps its previous version
        store.discard(ids)
        report.errors += [f"{doc.source}: could not store chunks ({exc}); previous version kept" for doc, _ in group]
        return
    crash_point("after-upsert")
    _record_documents(store, group, report)
    have.update(ids)  # a later group with the same text adds its document as an owner instead of re-embedding
    report.embedded += len(fresh)


def _record_documents(store: Store, group: list[tuple[SourceDocument, list[Chunk]]], report: IngestReport) -> None:
    """With their chunks stored: commit the documents in one transaction, then drop the chunks they replaced."""
    replaced = store.record([(doc.doc_id, _entry(doc, report.paths.get(doc.doc_id)), [c.chunk_id for c in chunks])
                             for doc, chunks in group])
    for doc, _ in group:
        (report.updated if doc.doc_id in replaced else report.added).append(doc.doc_id)


def _entry(doc: SourceDocument, path: str | None) -> dict:
    """The manifest record of one document (author and pages where the format has them)."""
    return {"title": doc.title, "author": doc.author, "source": doc.source, "path": path,
            "sha256": doc.sha256, "chars": len(doc.text), "pages": len(doc.page_starts) or None,
            "ingested_at": datetime.now(UTC).isoformat(timespec="seconds"), "chunker": CHUNKER}


def remove_document(store: Store, doc_id: str) -> int:
    """Delete a document's chunks and its manifest entry; returns the number of chunks removed."""
    with store.writing("remove"):
        removed = store.remove(doc_id)
    if removed is None:
        raise KeyError(f"no document with id {doc_id!r} in collection {store.settings.collection!r}")
    return removed


def _progress_bar(*, enabled: bool):
    """A tqdm counter of chunks and their rate on stderr for long ingests (files stream, so the total is not known
    up front), silent otherwise."""
    from tqdm import tqdm

    return tqdm(unit="chunk", desc="embedding", file=sys.stderr, disable=not enabled, leave=False)
