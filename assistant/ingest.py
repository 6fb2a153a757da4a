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
    """Ingest every supported file under `paths`; a bad file is reported and the others still go in."""
    began, report = time.perf_counter(), IngestReport()
    files, errors = discover(paths)
    report.errors.extend(str(e) for e in errors)
    docs = []
    for path in files:
        try:
            docs.append(load(path, root=store.settings.knowledge_dir, max_mb=store.settings.max_file_mb))
        except (DocumentError, OSError) as exc:
            report.errors.append(str(exc) if isinstance(exc, DocumentError) else f"{path}: {exc.strerror}")
    plans = [(doc, chunk_document(doc, size=store.settings.chunk_size, overlap=store.settings.chunk_overlap))
             for doc in docs]
    have = store.existing_ids([c.chunk_id for _, chunks in plans for c in chunks])
    todo = []
    for doc, chunks in plans:
        if _unchanged(store, doc, chunks, have):
            report.unchanged.append(doc.doc_id)
        else:
            todo.append((doc, chunks))
    bar = _progress_bar(sum(len(c) for _, c in todo), enabled=progress)
    for group in _groups(todo, have):
        _write_group(store, embeddings, group, have, report, bar)
    bar.close()
    report.chunks = sum(len(c) for _, c in plans)
    report.seconds = time.perf_counter() - began
    return report


def _unchanged(store: Store, doc: SourceDocument, chunks: list[Chunk], have: set[str]) -> bool:
    """Same text, same chunk ids, all still in the collection: nothing to do."""
    entry = store.manifest.documents.get(doc.doc_id)
    ids = [c.chunk_id for c in chunks]
    return bool(entry) and entry["sha256"] == doc.sha256 and entry["chunk_ids"] == ids and have.issuperset(ids)


def _groups(todo: list[tuple[SourceDocument, list[Chunk]]], have: set[str]):
    """Documents in groups of about ENCODE_GROUP new chunks, so encoding runs in full batches."""
    group, size = [], 0
    for doc, chunks in todo:
        group.append((doc, chunks))
        size += sum(c.chunk_id not in have for c in chunks)
        if size >= ENCODE_GROUP:
            yield group
            group, size = [], 0
    if group:
        yield group


def _write_group(store: Store, embeddings: MiniLMEmbeddings, group: list, have: set[str], report: IngestReport,
                 bar) -> None:
    """Embed and store the group's new chunks in one pass each, then record each document."""
    fresh = [c for _, chunks in group for c in chunks if c.chunk_id not in have]
    bar.update(sum(len(chunks) for _, chunks in group) - len(fresh))
    try:
        vectors = embeddings.encode([c.text for c in fresh], progress=bar.update)
    except Exception as exc:  # nothing written yet: every document keeps its previous version
        report.errors += [f"{doc.source}: could not embed chunks ({exc}); previous version kept" for doc, _ in group]
        return
    old_ids = {i for doc, _ in group for i in store.manifest.documents.get(doc.doc_id, {}).get("chunk_ids", [])}
    try:
        store.upsert(fresh, vectors)
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
    store.delete(sorted(set(previous["chunk_ids"] if previous else ()) - keep))
    store.manifest.documents[doc.doc_id] = _entry(doc, chunks)
    store.manifest.config = {"chunk_size": store.settings.chunk_size,
                             "chunk_overlap": store.settings.chunk_overlap, "embedding": MODEL_NAME}
    store.commit()
    (report.updated if previous else report.added).append(doc.doc_id)


def _entry(doc: SourceDocument, chunks: list[Chunk]) -> dict:
    """The manifest record of one document."""
    entry = {"title": doc.title, "source": doc.source, "sha256": doc.sha256, "chars": len(doc.text),
             "chunk_ids": [c.chunk_id for c in chunks],
             "ingested_at": datetime.now(UTC).isoformat(timespec="seconds")}
    if doc.author:
        entry["author"] = doc.author
    if doc.page_starts:
        entry["pages"] = len(doc.page_starts)
    return entry


def remove_document(store: Store, doc_id: str) -> int:
    """Delete a document's chunks and its manifest entry; returns the number of chunks removed."""
    entry = store.manifest.documents.get(doc_id)
    if entry is None:
        raise KeyError(f"no document with id {doc_id!r} in collection {store.settings.collection!r}")
    store.delete(entry["chunk_ids"])
    del store.manifest.documents[doc_id]
    store.commit()
    return len(entry["chunk_ids"])


def _progress_bar(total: int, *, enabled: bool):
    """A tqdm bar on stderr for long ingests, silent otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr,
                disable=not enabled or total < 16, leave=False)
