"""The manifest: each collection's settings, documents and chunk ids, in one SQLite file per data dir.

Every write is one small transaction (constant work per batch, whatever the store's size). Chunks about to be
written to Chroma are first recorded as pending intents, so an interrupted write can be rolled back.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA_VERSION = 2  # 2: documents.chunker
_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY, space TEXT NOT NULL UNIQUE, embedding TEXT NOT NULL, chunk_size INTEGER NOT NULL,
    chunk_overlap INTEGER NOT NULL, created_at TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS documents (
    space TEXT NOT NULL, doc_id TEXT NOT NULL, title TEXT NOT NULL, author TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL, path TEXT, sha256 TEXT NOT NULL, chars INTEGER NOT NULL, pages INTEGER,
    ingested_at TEXT NOT NULL, chunker INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (space, doc_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks (
    space TEXT NOT NULL, doc_id TEXT NOT NULL, position INTEGER NOT NULL, chunk_id TEXT NOT NULL,
    PRIMARY KEY (space, doc_id, position)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_by_id ON chunks (space, chunk_id);
CREATE TABLE IF NOT EXISTS pending (
    space TEXT NOT NULL, chunk_id TEXT NOT NULL, owner INTEGER NOT NULL,
    PRIMARY KEY (space, chunk_id, owner)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_spaces (space TEXT PRIMARY KEY, owner INTEGER NOT NULL) WITHOUT ROWID;
"""
_DOC_COLUMNS = ("title", "author", "source", "path", "sha256", "chars", "pages", "ingested_at", "chunker")
_EMPTY = {"author": "", "chunker": 0}  # what a missing value of a NOT NULL column is stored as
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")


class StoreError(RuntimeError):
    """The vector store cannot be opened or used; the message says why in one line."""


def check_collection_name(name: str) -> str:
    """Chroma's naming rule, checked up front so a bad name is one clear line."""
    if not _NAME.match(name or "") or ".." in name:
        raise StoreError(f"collection name {name!r} is not valid: use 3-512 characters of letters, digits, '.', "
                         "'_' and '-', starting and ending with a letter or digit")
    return name


def read_only_note(folder: Path) -> str:
    """Why a store cannot be opened, when the reason is a read-only file system."""
    import os

    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return ""
    return f"; {folder} is on a read-only file system: the store needs a writable data dir" if read_only else ""


def now() -> str:
    """A UTC timestamp to the second, as the manifest stores them."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, kw_only=True)
class CollectionInfo:
    """A collection's settings (fixed when it is built) and, when listed, its size."""

    name: str
    space: str
    embedding: str
    chunk_size: int
    chunk_overlap: int
    created_at: str = ""
    revision: int = 0
    documents: int = 0
    chunks: int = 0

    def to_json(self) -> dict:
        """The `assistant collections --json` record."""
        return {k: v for k, v in asdict(self).items() if k not in ("space", "revision")}


class ManifestDB:
    """One SQLite file (WAL) shared by every process using the data dir; one connection per instance."""

    def __init__(self, path: Path, *, knowledge_dir: Path | None = None) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 60000")
            self._create_schema()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise StoreError(f"{path}: cannot open the manifest ({exc}){read_only_note(path.parent)}") from None
        import_legacy(self, knowledge_dir=knowledge_dir)

    def _create_schema(self) -> None:
        """Tables on first use; WAL so readers never wait for a writer."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        self._wal()
        with self.transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            if "chunker" not in {row[1] for row in db.execute("PRAGMA table_info(documents)")}:
                db.execute("ALTER TABLE documents ADD COLUMN chunker INTEGER NOT NULL DEFAULT 0")  # from version 1
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _wal(self, *, tries: int = 100) -> None:
        """Switch a new file to WAL. The switch needs the file to itself and SQLite does not wait for that (no busy
        handler), so two processes opening a fresh data dir at once retry instead of failing "database is locked"."""
        for attempt in range(tries):
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == tries - 1:
                    raise
                time.sleep(0.05)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so concurrent writers queue, never deadlock; a
        full or read-only disk is a one-line StoreError and the transaction leaves nothing behind."""
        with self._lock, self._failing_as("write"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        """A read outside any transaction: it sees everything committed so far, by any process."""
        with self._lock, self._failing_as("read"):
            return self._db.execute(sql, args).fetchall()

    def snapshot(self, name: str) -> tuple[tuple, set[str], set[str]] | None:
        """A collection's (space, revision, created_at) with its committed chunk ids and document ids, read in one
        transaction so they describe the same commit; None when there is no such collection."""
        with self._lock, self._failing_as("read"):
            self._db.execute("BEGIN")
            try:
                got = self._db.execute("SELECT space, revision, created_at FROM collections WHERE name = ?",
                                       (name,)).fetchone()
                if got is None:
                    return None
                ids = {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks WHERE space = ?", (got[0],))}
                docs = {r[0] for r in self._db.execute("SELECT doc_id FROM documents WHERE space = ?", (got[0],))}
                return tuple(got), ids, docs
            finally:
                self._db.execute("COMMIT")

    @contextmanager
    def _failing_as(self, verb: str) -> Iterator[None]:
        """SQLite's errors (disk full, read-only file system, damaged file) as one-line StoreErrors."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: cannot {verb} the manifest ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot {verb} the manifest, the file is damaged ({exc})") from None

    def close(self) -> None:
        """Close the connection (tests and short-lived helpers)."""
        with self._lock:
            self._db.close()

    # collections

    def collection(self, name: str) -> CollectionInfo | None:
        """A collection's settings, or None before its first document."""
        got = self.rows("SELECT name, space, embedding, chunk_size, chunk_overlap, created_at, revision "
                        "FROM collections WHERE name = ?", (name,))
        return _collection(got[0]) if got else None

    def collections(self) -> list[CollectionInfo]:
        """Every collection with its number of documents and of distinct stored chunks (a text several documents
        share is stored once)."""
        got = self.rows("SELECT name, space, embedding, chunk_size, chunk_overlap, created_at, revision, "
                        "(SELECT COUNT(*) FROM documents d WHERE d.space = c.space), (SELECT COUNT(DISTINCT chunk_id) "
                        "FROM chunks k WHERE k.space = c.space) FROM collections c ORDER BY name")
        return [_collection(row[:7], documents=row[7], chunks=row[8]) for row in got]

    def bump(self, name: str, space: str) -> None:
        """A new revision of the collection: its stored metadata changed after the commit (see Store.detach)."""
        with self.transaction() as db:
            _bump(db, name, space)

    def revision(self, name: str) -> tuple[str, int] | None:
        """(space, revision) of a collection: changes with every commit by any process."""
        got = self.rows("SELECT space, revision FROM collections WHERE name = ?", (name,))
        return got[0] if got else None

    def space_owner(self, space: str) -> str | None:
        """The collection whose Chroma collection this is, if any."""
        got = self.rows("SELECT name FROM collections WHERE space = ?", (space,))
        return got[0][0] if got else None

    # documents

    def count_documents(self, space: str) -> int:
        """Number of documents (one indexed count)."""
        return self.rows("SELECT COUNT(*) FROM documents WHERE space = ?", (space,))[0][0]

    def has_document(self, space: str, doc_id: str) -> bool:
        """Whether the document is recorded."""
        return bool(self.rows("SELECT 1 FROM documents WHERE space = ? AND doc_id = ?", (space, doc_id)))

    def doc_ids(self, space: str) -> list[str]:
        """Every document id, sorted."""
        return [r[0] for r in self.rows("SELECT doc_id FROM documents WHERE space = ? ORDER BY doc_id", (space,))]

    def document(self, space: str, doc_id: str) -> dict | None:
        """One document's entry with its chunk ids in order, or None."""
        got = self.rows(f"SELECT {', '.join(_DOC_COLUMNS)} FROM documents WHERE space = ? AND doc_id = ?",
                        (space, doc_id))
        if not got:
            return None
        ids = self.rows("SELECT chunk_id FROM chunks WHERE space = ? AND doc_id = ? ORDER BY position",
                        (space, doc_id))
        return dict(zip(_DOC_COLUMNS, got[0], strict=True)) | {"chunk_ids": [r[0] for r in ids]}

    def documents(self, space: str) -> dict[str, dict]:
        """Every document's entry with its chunk ids, in two queries."""
        docs = {r[0]: dict(zip(_DOC_COLUMNS, r[1:], strict=True)) | {"chunk_ids": []} for r in self.rows(
            f"SELECT doc_id, {', '.join(_DOC_COLUMNS)} FROM documents WHERE space = ? ORDER BY doc_id", (space,))}
        for doc_id, chunk_id in self.rows("SELECT doc_id, chunk_id FROM chunks WHERE space = ? "
                                          "ORDER BY doc_id, position", (space,)):
            docs[doc_id]["chunk_ids"].append(chunk_id)
        return docs

    def summaries(self, space: str) -> list[dict]:
        """Every document's entry with its number of chunks (no chunk ids), sorted by id."""
        got = self.rows(f"SELECT doc_id, {', '.join(_DOC_COLUMNS)}, (SELECT COUNT(*) FROM chunks k WHERE "
                        "k.space = d.space AND k.doc_id = d.doc_id) FROM documents d WHERE space = ? ORDER BY doc_id",
                        (space,))
        return [{"doc_id": r[0], **dict(zip(_DOC_COLUMNS, r[1:-1], strict=True)), "chunks": r[-1]} for r in got]

    def chunk_owners(self, space: str) -> dict[str, str]:
        """chunk id -> document id for every recorded chunk (for the agreement check)."""
        return dict(self.rows("SELECT chunk_id, doc_id FROM chunks WHERE space = ?", (space,)))

    def unreferenced(self, space: str, ids: list[str]) -> list[str]:
        """Those of `ids` that no recorded document uses."""
        with self._lock, self._failing_as("read"):
            return [i for i in ids if not self._db.execute(
                "SELECT 1 FROM chunks WHERE space = ? AND chunk_id = ? LIMIT 1", (space, i)).fetchone()]

    # writes

    def announce(self, space: str, ids: list[str], *, owner: int) -> None:
        """Record the intent to write these chunks to Chroma, before writing them."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO pending (space, chunk_id, owner) VALUES (?, ?, ?)",
                           [(space, i, owner) for i in ids])

    def settle(self, space: str, ids: list[str], *, owner: int) -> None:
        """Forget intents that are done: the chunks are recorded, or deleted from Chroma."""
        with self.transaction() as db:
            db.executemany("DELETE FROM pending WHERE space = ? AND chunk_id = ? AND owner = ?",
                           [(space, i, owner) for i in ids])

    def record(self, space: str, entries: list[tuple[str, dict, list[str]]], *, owner: int,
               collection: CollectionInfo) -> tuple[list[str], set[str]]:
        """Commit documents whose chunks are stored, in one transaction. Returns the chunk ids they no longer
        use (kept as intents until deleted from Chroma) and which documents were replaced."""
        with self.transaction() as db:
            _ensure_collection(db, collection)
            old, replaced = set(), set()
            for doc_id, entry, chunk_ids in entries:
                previous = _delete_document(db, space, doc_id)
                if previous is not None:
                    replaced.add(doc_id)
                    old.update(previous)
                _insert_document(db, space, doc_id, entry, chunk_ids)
            db.executemany("DELETE FROM pending WHERE space = ? AND chunk_id = ? AND owner = ?",
                           [(space, i, owner) for _, _, ids in entries for i in ids])
            garbage = _hold_unreferenced(db, space, sorted(old), owner)
            _bump(db, collection.name, space)
        return garbage, replaced

    def remove(self, space: str, doc_id: str, *, owner: int, name: str) -> list[str] | None:
        """Forget a document in one transaction; returns its chunk ids (kept as intents until deleted)."""
        with self.transaction() as db:
            previous = _delete_document(db, space, doc_id)
            if previous is None:
                return None
            garbage = _hold_unreferenced(db, space, previous, owner)
            _bump(db, name, space)
        return garbage

    # interrupted writes and rebuilds

    def pending_owners(self) -> set[int]:
        """Processes with unfinished writes (live or dead)."""
        got = self.rows("SELECT owner FROM pending UNION SELECT owner FROM pending_spaces")
        return {r[0] for r in got}

    def pending_count(self, space: str) -> int:
        """Chunks announced in this Chroma collection and not yet settled."""
        return self.rows("SELECT COUNT(*) FROM pending WHERE space = ?", (space,))[0][0]

    def orphaned_intents(self, dead: set[int]) -> dict[str, list[str]]:
        """Per Chroma collection: chunks dead writers announced that no document and no live writer uses."""
        marks = ",".join("?" * len(dead))
        got = self.rows(f"SELECT DISTINCT p.space, p.chunk_id FROM pending p WHERE p.owner IN ({marks}) "
                        "AND NOT EXISTS (SELECT 1 FROM chunks k WHERE k.space = p.space AND k.chunk_id = p.chunk_id) "
                        f"AND NOT EXISTS (SELECT 1 FROM pending q WHERE q.space = p.space AND q.chunk_id = p.chunk_id "
                        f"AND q.owner NOT IN ({marks}))", (*dead, *dead))
        out: dict[str, list[str]] = {}
        for space, chunk_id in got:
            out.setdefault(space, []).append(chunk_id)
        return out

    def forget_owners(self, dead: set[int], *, changed: list[str]) -> None:
        """Drop the intents of writers whose work has been rolled back; a new revision of each collection whose
        Chroma collection changed, so other processes read it afresh."""
        with self.transaction() as db:
            db.executemany("DELETE FROM pending WHERE owner = ?", [(o,) for o in dead])
            db.executemany("UPDATE collections SET revision = revision + 1 WHERE space = ?", [(s,) for s in changed])

    def begin_space(self, space: str, *, owner: int) -> None:
        """Mark a Chroma collection being built (by rebuild) so a crash leaves it to be dropped."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO pending_spaces (space, owner) VALUES (?, ?)", (space, owner))

    def swap_space(self, collection: CollectionInfo, *, owner: int) -> str:
        """Point the collection at its rebuilt Chroma collection and settings; returns the old one (to drop)."""
        with self.transaction() as db:
            old = db.execute("SELECT space FROM collections WHERE name = ?", (collection.name,)).fetchone()[0]
            db.execute("UPDATE collections SET space = ?, embedding = ?, chunk_size = ?, chunk_overlap = ?, "
                       "revision = revision + 1 WHERE name = ?", (collection.space, collection.embedding,
                                                                   collection.chunk_size, collection.chunk_overlap,
                                                                   collection.name))
            db.execute("DELETE FROM pending_spaces WHERE space = ?", (collection.space,))
            db.execute("INSERT OR REPLACE INTO pending_spaces (space, owner) VALUES (?, ?)", (old, owner))
        return old

    def dead_spaces(self, dead: set[int]) -> list[str]:
        """Chroma collections of interrupted or finished rebuilds that no collection uses."""
        marks = ",".join("?" * len(dead))
        return [r[0] for r in self.rows(f"SELECT space FROM pending_spaces WHERE owner IN ({marks}) AND space NOT IN "
                                        "(SELECT space FROM collections)", tuple(dead))]

    def forget_space(self, space: str) -> None:
        """Drop every row of a Chroma collection that has been deleted."""
        with self.transaction() as db:
            for table in ("documents", "chunks", "pending", "pending_spaces"):
                db.execute(f"DELETE FROM {table} WHERE space = ?", (space,))


class DocumentsView(Mapping):
    """doc_id -> entry for one collection, read live from SQLite: len() and `in` are single indexed queries."""

    def __init__(self, db: ManifestDB, space: str) -> None:
        self._db, self._space = db, space

    def __getitem__(self, doc_id: str) -> dict:
        entry = self._db.document(self._space, doc_id)
        if entry is None:
            raise KeyError(doc_id)
        return entry

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self._db.has_document(self._space, doc_id)

    def __iter__(self) -> Iterator[str]:
        return iter(self._db.doc_ids(self._space))

    def __len__(self) -> int:
        return self._db.count_documents(self._space)

    def items(self):
        """All entries in two queries, not one per document."""
        return self._db.documents(self._space).items()


@dataclass(frozen=True, kw_only=True)
class Manifest:
    """One collection's part of the manifest, shaped as callers know it: `documents` maps doc_id -> entry."""

    db: ManifestDB
    space: str

    @property
    def documents(self) -> DocumentsView:
        """The collection's documents (title, source, sha256, chunk_ids, ingested_at, ...)."""
        return DocumentsView(self.db, self.space)

    def summaries(self) -> list[dict]:
        """Documents with their chunk counts, for listings."""
        return self.db.summaries(self.space)


def _collection(row: tuple, **counts) -> CollectionInfo:
    """A collections row as a record."""
    name, space, embedding, size, overlap, created, revision = row
    return CollectionInfo(name=name, space=space, embedding=embedding, chunk_size=size, chunk_overlap=overlap,
                          created_at=created, revision=revision, **counts)


def _ensure_collection(db: sqlite3.Connection, c: CollectionInfo) -> None:
    """Create the collection's row with its settings on its first document (a no-op afterwards)."""
    db.execute("INSERT OR IGNORE INTO collections (name, space, embedding, chunk_size, chunk_overlap, created_at) "
               "VALUES (?, ?, ?, ?, ?, ?)", (c.name, c.space, c.embedding, c.chunk_size, c.chunk_overlap, now()))


def _delete_document(db: sqlite3.Connection, space: str, doc_id: str) -> list[str] | None:
    """Delete a document's rows; its chunk ids, or None when it was not recorded."""
    if not db.execute("SELECT 1 FROM documents WHERE space = ? AND doc_id = ?", (space, doc_id)).fetchone():
        return None
    ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE space = ? AND doc_id = ?", (space, doc_id))]
    db.execute("DELETE FROM chunks WHERE space = ? AND doc_id = ?", (space, doc_id))
    db.execute("DELETE FROM documents WHERE space = ? AND doc_id = ?", (space, doc_id))
    return ids


def _insert_document(db: sqlite3.Connection, space: str, doc_id: str, entry: dict, chunk_ids: list[str]) -> None:
    """Insert a document's row and its chunk rows."""
    db.execute(f"INSERT INTO documents (space, doc_id, {', '.join(_DOC_COLUMNS)}) "
               f"VALUES (?, ?{', ?' * len(_DOC_COLUMNS)})",
               (space, doc_id, *(entry.get(c) or _EMPTY.get(c) for c in _DOC_COLUMNS)))
    db.executemany("INSERT INTO chunks (space, doc_id, position, chunk_id) VALUES (?, ?, ?, ?)",
                   [(space, doc_id, n, chunk_id) for n, chunk_id in enumerate(chunk_ids)])


def _hold_unreferenced(db: sqlite3.Connection, space: str, ids: list[str], owner: int) -> list[str]:
    """Of these chunk ids, those no document uses now, recorded as intents (to delete) in the same transaction."""
    garbage = [i for i in ids if not db.execute(
        "SELECT 1 FROM chunks WHERE space = ? AND chunk_id = ? LIMIT 1", (space, i)).fetchone()]
    db.executemany("INSERT OR IGNORE INTO pending (space, chunk_id, owner) VALUES (?, ?, ?)",
                   [(space, i, owner) for i in garbage])
    return garbage


def _bump(db: sqlite3.Connection, name: str, space: str) -> None:
    """A new revision of the collection, so readers in every process see the change."""
    db.execute("UPDATE collections SET revision = revision + 1 WHERE name = ? AND space = ?", (name, space))


def import_legacy(db: ManifestDB, *, knowledge_dir: Path | None) -> None:
    """Import each `manifest-<collection>.json` of the old format once, then rename it `*.json.imported`."""
    for legacy in sorted(db.path.parent.glob("manifest-*.json")):
        name = legacy.stem.removeprefix("manifest-")
        try:
            data = json.loads(legacy.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            print(f"warning: {legacy}: not imported into {db.path.name} ({exc})", file=sys.stderr)
            continue
        documents = data.get("documents", {})
        with db.transaction() as tx:
            done = tx.execute("SELECT 1 FROM collections WHERE name = ? OR space = ?", (name, name)).fetchone()
            if not done and documents:
                _import_collection(tx, name, data.get("config", {}), documents, knowledge_dir)
        try:
            legacy.rename(legacy.with_name(legacy.name + ".imported"))
        except FileNotFoundError:  # another process imported it at the same moment
            continue
        if not done:
            print(f"imported {legacy.name} ({len(documents)} documents) into {db.path}", file=sys.stderr)


def _import_collection(db: sqlite3.Connection, name: str, config: dict, documents: dict,
                       knowledge_dir: Path | None) -> None:
    """One old-format manifest as rows (its Chroma collection had the collection's name)."""
    _ensure_collection(db, CollectionInfo(name=name, space=name, embedding=config.get("embedding", "unknown"),
                                          chunk_size=config.get("chunk_size", 700),
                                          chunk_overlap=config.get("chunk_overlap", 150)))
    for doc_id, entry in documents.items():
        path = _legacy_path(entry.get("source", ""), knowledge_dir)
        _insert_document(db, name, doc_id, entry | {"path": path}, entry.get("chunk_ids", []))


def _legacy_path(source: str, knowledge_dir: Path | None) -> str | None:
    """The old manifest kept a display path only: find the file it names, if it is still there."""
    bases = ([knowledge_dir.resolve().parent] if knowledge_dir else []) + [Path.cwd()]
    for candidate in [Path(source)] + [base / source for base in bases]:
        if source and candidate.is_absolute() and candidate.is_file():
            return str(candidate)
    return None
