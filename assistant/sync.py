"""Make a collection mirror a folder (`sync`), or rebuild it from its sources with other settings (`rebuild`)."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .documents import DocumentError, Skipped, discover, document_id, load
from .embeddings import MiniLMEmbeddings
from .ingest import IngestReport, ingest, write_documents
from .integrity import crash_point, drop_space
from .models import SourceDocument
from .store import Store, StoreError


class SyncError(ValueError):
    """A folder that cannot be synced (missing, or holding no supported file); nothing was changed."""


@dataclass(kw_only=True)
class SyncReport:
    """What a sync changed (or, in a dry run, would change), document by document."""

    collection: str
    dry_run: bool = False
    added: list[tuple[str, str]] = field(default_factory=list)
    updated: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        """One line per change: what, document id, source."""
        verbs = ("would add", "would update", "would remove") if self.dry_run else ("added", "updated", "removed")
        return [f"{verb}\t{doc_id}\t{source}" for verb, changes in zip(
            verbs, (self.added, self.updated, self.removed), strict=True) for doc_id, source in changes]

    def summary(self) -> str:
        """Counts per kind of change, and whether anything was written."""
        tail = " (dry run: nothing changed)" if self.dry_run else f"; {self.chunks} chunks in {self.seconds:.1f}s"
        return (f"sync {self.collection!r}: {len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.removed)} removed, {len(self.unchanged)} unchanged, {len(self.errors)} failed{tail}")


def sync(folder: Path, *, store: Store, embeddings: MiniLMEmbeddings | None, dry_run: bool = False,
         progress: bool = False) -> SyncReport:
    """Add new files, re-ingest changed ones (by content hash), remove documents whose file is gone."""
    began = time.perf_counter()
    if dry_run:
        return _plan(folder, store, dry_run=True)[0]
    with store.writing("sync"):
        report, docs, paths = _plan(folder, store, dry_run=False)
        written = IngestReport(paths=paths)
        write_documents(docs, store=store, embeddings=embeddings, report=written, progress=progress)
        report.errors += written.errors
        done = set(written.added + written.updated + written.unchanged)
        report.added = [c for c in report.added if c[0] in done]
        report.updated = [c for c in report.updated if c[0] in done]
        for doc_id, _ in report.removed:
            store.remove(doc_id)
    report.chunks, report.seconds = written.chunks, time.perf_counter() - began
    return report


def _plan(folder: Path, store: Store, *, dry_run: bool) -> tuple[SyncReport, list[SourceDocument], dict[str, str]]:
    """Compare the folder with the collection: the changes, the documents to (re)write and their files."""
    files, errors = discover([folder], follow_symlinks=store.settings.follow_symlinks)
    notes = [str(e) for e in errors if isinstance(e, Skipped)]
    errors = [e for e in errors if not isinstance(e, Skipped)]
    if errors or not folder.is_dir():
        raise SyncError(f"{errors[0] if errors else f'{folder}: not a folder'}; nothing changed")
    report, root = SyncReport(collection=store.settings.collection, dry_run=dry_run, notes=notes), \
        store.settings.knowledge_dir
    present, todo, paths = set(), [], {}
    for path in files:
        present.add(document_id(path, root=root))
        try:
            doc = load(path, root=root)
        except (DocumentError, OSError) as exc:
            report.errors.append(str(exc) if isinstance(exc, DocumentError) else f"{path}: {exc.strerror}")
            continue
        if doc.doc_id in paths:
            report.errors.append(f"{path}: same document id {doc.doc_id!r} as another file; rename one of them")
            continue
        paths[doc.doc_id] = str(path.resolve())
        entry = store.manifest.documents.get(doc.doc_id)
        if entry is not None and entry["sha256"] == doc.sha256:
            report.unchanged.append(doc.doc_id)
            continue
        (report.updated if entry else report.added).append((doc.doc_id, doc.source))
        todo.append(doc)
    report.removed = [(d["doc_id"], d["source"]) for d in store.manifest.summaries() if d["doc_id"] not in present]
    return report, todo, paths


def rebuild(*, store: Store, embeddings: MiniLMEmbeddings, chunk_size: int | None = None,
            chunk_overlap: int | None = None, progress: bool = False) -> IngestReport:
    """Re-chunk and re-embed every document from its source file into a new Chroma collection, then switch
    the collection to it in one transaction (an interrupted rebuild leaves the collection as it was)."""
    name = store.settings.collection
    with store.writing("rebuild"):
        entries = list(store.manifest.documents.values())
        if not entries:
            raise StoreError(f"collection {name!r} has no documents to rebuild")
        gone = [e["path"] or e["source"] for e in entries if not (e["path"] and Path(e["path"]).is_file())]
        if gone:
            raise StoreError(f"cannot rebuild {name!r}: {len(gone)} source files are gone (first: {gone[0]}); "
                             f"restore them or `assistant --collection {name} remove` their documents")
        settings = replace(store.settings, chunk_size=chunk_size or store.settings.chunk_size,
                           chunk_overlap=store.settings.chunk_overlap if chunk_overlap is None else chunk_overlap)
        space = f"{name[:500]}-{secrets.token_hex(4)}"
        store.db.begin_space(space, owner=os.getpid())
        target = Store(settings=settings, space=space, check=False, recover=False)
        report = ingest([Path(e["path"]) for e in entries], store=target, embeddings=embeddings, progress=progress)
        if report.errors:
            drop_space(store, space)
            return report
        old = store.db.swap_space(target.info(), owner=os.getpid())
        crash_point("after-swap")
        store.follow(space, settings)
        drop_space(store, old)
    return report
