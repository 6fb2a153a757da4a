"""The Chroma collection (cosine, embeddings supplied by us) and the manifest saying which chunks are committed."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .manifest import CollectionInfo, Manifest, ManifestDB, StoreError, check_collection_name
from .models import Chunk
from .settings import Settings

ID_BATCH = 5000  # ids per get/delete call, under Chroma's maximum batch size

__all__ = ["ID_BATCH", "SettingsMismatch", "Store", "StoreError", "open_client"]


class SettingsMismatch(StoreError):
    """The collection was built with other chunking or another embedding model than asked for."""


def open_client(settings: Settings):
    """An embedded PersistentClient under the data dir, or an HttpClient when a Chroma host is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                       settings=chroma_settings)
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises several unrelated types here
        where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else settings.chroma_dir
        raise StoreError(f"cannot open Chroma at {where}: {exc}") from None


@dataclass(kw_only=True)
class _Connection:
    """This process's Chroma client for one store location, and the revision of each collection it reflects."""

    client: object
    seen: dict[str, tuple | None] = field(default_factory=dict)


_CONNECTIONS: dict[str, _Connection] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _connection(settings: Settings, *, db: ManifestDB | None = None) -> _Connection:
    """The shared client for this location; with `db`, a fresh one (an embedded client never notices another
    process's writes: its vector index stays as it was loaded)."""
    key = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else str(settings.chroma_dir)
    with _CONNECTIONS_LOCK:
        if key not in _CONNECTIONS or db is not None:
            seen = {} if db is None else {row[0]: tuple(row[1:]) for row in db.rows(
                "SELECT name, space, revision FROM collections")}
            if db is not None:
                from chromadb.api.client import SharedSystemClient

                SharedSystemClient.clear_system_cache()  # so the next client loads every collection from disk
            _CONNECTIONS[key] = _Connection(client=open_client(settings), seen=seen)
        return _CONNECTIONS[key]


def reset_connections() -> None:
    """Forget this process's clients: the next store opens fresh ones (tests that inspect another process's work)."""
    from chromadb.api.client import SharedSystemClient

    with _CONNECTIONS_LOCK:
        _CONNECTIONS.clear()
    SharedSystemClient.clear_system_cache()


class Store:
    """Chunks with their vectors in one Chroma collection; open once and share."""

    def __init__(self, *, settings: Settings, client=None, space: str | None = None, check: bool = True,
                 recover: bool = True) -> None:
        name = check_collection_name(settings.collection)
        self.db = ManifestDB(settings.manifest_path, knowledge_dir=settings.knowledge_dir)
        info = self.db.collection(name)
        self.settings, self.mismatch = (settings, None) if space else resolve_settings(settings, info)
        if check and self.mismatch:
            raise SettingsMismatch(self.mismatch)
        self.space = space or (info.space if info else _own_space(self.db, name))
        self._pinned = space is not None
        self._client, self._bound = client, (None, None, None)
        _connection(settings).seen.setdefault(name, self.db.revision(name))
        _ = self.revision
        if recover:
            self.recover()

    @property
    def client(self):
        """The Chroma client: the one given, else this process's shared one for the store's location."""
        return self._client or _connection(self.settings).client

    @property
    def collection(self):
        """This store's Chroma collection (created empty on first use), read through a client that reflects
        every commit so far, by any process."""
        _ = self.revision
        client, bound_client, bound_space, collection = self.client, *self._bound
        if client is not bound_client or self.space != bound_space:
            with reported(self.settings):
                collection = Reported(client.get_or_create_collection(
                    self.space, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None), self.settings)
            self._bound = (client, self.space, collection)
        return collection

    @property
    def manifest(self) -> Manifest:
        """This collection's documents, read live from the manifest database."""
        return Manifest(db=self.db, space=self.space)

    @property
    def revision(self) -> tuple:
        """Changes whenever this process or another one commits to the collection (or rebuilds it); what
        another process did is caught up with first (see `_catch_up`)."""
        current = self.db.revision(self.settings.collection)
        if not self._pinned:
            self._catch_up(current)
        return current or (self.space, 0)

    def reload_manifest(self) -> None:
        """Pick up changes made by other processes (documents are always read live)."""
        _ = self.revision

    def _catch_up(self, current: tuple | None) -> None:
        """After a rebuild, read the new Chroma collection with its chunking; after another process's commit,
        read through a fresh embedded client."""
        if current and current[0] != self.space:
            info = self.db.collection(self.settings.collection)
            self.space = current[0]
            self.settings = replace(self.settings, chunk_size=info.chunk_size, chunk_overlap=info.chunk_overlap)
        from .locking import held_here

        name = self.settings.collection
        if self.settings.chroma_host or self._client is not None:
            return
        if _connection(self.settings).seen.get(name) == current:
            return
        if held_here(self.settings):  # no other process can have committed: the change is this process's own
            _connection(self.settings).seen[name] = current
            return
        _connection(self.settings, db=self.db).seen[name] = current

    def committed(self) -> None:
        """Note this process's own commit, so it is not taken for another process's."""
        _connection(self.settings).seen[self.settings.collection] = self.db.revision(self.settings.collection)

    def follow(self, space: str, settings: Settings) -> None:
        """Read the collection's rebuilt Chroma collection (this process rebuilt it)."""
        self.space, self.settings = space, settings
        self.committed()

    def info(self) -> CollectionInfo:
        """The collection's record as this store writes it: name, Chroma collection, model and chunking."""
        from .embeddings import MODEL_NAME

        return CollectionInfo(name=self.settings.collection, space=self.space, embedding=MODEL_NAME,
                              chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap)

    @contextmanager
    def writing(self, op: str) -> Iterator[None]:
        """Hold the writer lock for `op` (StoreBusy if another process writes); the outermost hold first rolls
        back what crashed writers left."""
        from .integrity import recover
        from .locking import writer_lock

        with writer_lock(self.settings, op) as outermost:
            if outermost:
                _ = self.revision
                recover(self)
            yield

    def recover(self) -> None:
        """On open: roll back interrupted writes, unless a live writer holds the store."""
        from .integrity import recover
        from .locking import StoreBusy, writer_lock

        if not self.db.pending_owners():
            return
        try:
            with writer_lock(self.settings, "recovery", wait=False) as outermost:
                if outermost:
                    recover(self)
        except StoreBusy:
            return

    def announce(self, ids: list[str]) -> None:
        """Record the intent to write these chunks, before writing them to Chroma."""
        self.db.announce(self.space, ids, owner=os.getpid())

    def discard(self, ids: list[str]) -> None:
        """Undo announced chunks that were (maybe partly) written and will not be committed."""
        unused = self.db.unreferenced(self.space, ids)
        self.delete(unused)
        self.db.settle(self.space, ids, owner=os.getpid())

    def record(self, entries: list[tuple[str, dict, list[str]]]) -> set[str]:
        """Commit documents whose chunks are stored, then delete the chunks they replaced; returns the ids of
        documents that were replaced."""
        from .integrity import crash_point

        garbage, replaced = self.db.record(self.space, entries, owner=os.getpid(), collection=self.info())
        self.committed()
        crash_point("after-record")
        self.delete(garbage)
        self.db.settle(self.space, garbage, owner=os.getpid())
        return replaced

    def remove(self, doc_id: str) -> int | None:
        """Forget a document and delete its chunks; the number of chunks, or None if it is not recorded."""
        garbage = self.db.remove(self.space, doc_id, owner=os.getpid(), name=self.settings.collection)
        if garbage is None:
            return None
        self.committed()
        self.delete(garbage)
        self.db.settle(self.space, garbage, owner=os.getpid())
        return len(garbage)

    def stored_ids(self) -> list[str]:
        """Every chunk id in the Chroma collection, paged."""
        ids: list[str] = []
        while True:
            page = self.collection.get(include=[], limit=ID_BATCH, offset=len(ids))["ids"]
            ids.extend(page)
            if len(page) < ID_BATCH:
                return ids

    def existing_ids(self, ids: list[str]) -> set[str]:
        """Which of these chunk ids are already stored."""
        found: set[str] = set()
        for i in range(0, len(ids), ID_BATCH):
            found.update(self.collection.get(ids=ids[i:i + ID_BATCH], include=[])["ids"])
        return found

    def upsert(self, chunks: list[Chunk], vectors) -> None:
        """Write chunks with their vectors, in batches Chroma accepts."""
        batch = self.client.get_max_batch_size()
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            self.collection.upsert(ids=[c.chunk_id for c in part], documents=[c.text for c in part],
                                   embeddings=[list(map(float, v)) for v in vectors[i:i + batch]],
                                   metadatas=[_metadata(c) for c in part])

    def delete(self, ids: list[str]) -> None:
        """Remove chunks by id."""
        for i in range(0, len(ids), ID_BATCH):
            self.collection.delete(ids=ids[i:i + ID_BATCH])

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (for the lexical index), in document order."""
        got = self.collection.get(include=["documents", "metadatas"])
        chunks = [_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                  if d is not None and m is not None]  # deleted while being read
        return sorted(chunks, key=lambda c: (c.doc_id, c.start))

    def query(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        if k <= 0:
            return []
        got = self.collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                    include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        # a chunk deleted while the query ran comes back without its text and metadata: it is gone, skip it
        return [(_chunk(i, d, m), 1.0 - dist) for i, d, m, dist in rows if d is not None and m is not None]

    def count(self) -> int:
        """Number of stored chunks."""
        return self.collection.count()


def resolve_settings(settings: Settings, info: CollectionInfo | None) -> tuple[Settings, str | None]:
    """The collection's stored chunking unless other values were asked for; a one-line message (with the
    rebuild command) when what was asked differs from what the collection was built with."""
    from .embeddings import MODEL_NAME

    if info is None:
        return settings, None
    asked = {k: getattr(settings, k) for k in ("chunk_size", "chunk_overlap") if settings.asked_for(k)}
    differs = {k: v for k, v in asked.items() if v != getattr(info, k)}
    resolved = replace(settings, chunk_size=info.chunk_size, chunk_overlap=info.chunk_overlap)
    if not differs and info.embedding == MODEL_NAME:
        return resolved, None
    wanted = [f"{k.replace('_', ' ')} {v}" for k, v in differs.items()]
    flags = "".join(f" --{k.replace('_', '-')} {v}" for k, v in differs.items())
    return resolved, (f"collection {info.name!r} was built with chunk size {info.chunk_size}, overlap "
                      f"{info.chunk_overlap} and the model {info.embedding}; you asked for "
                      f"{', '.join(wanted) or 'the model ' + MODEL_NAME}: run `assistant --collection {info.name} "
                      f"rebuild{flags}` to rebuild it (or use the stored settings)")


def _own_space(db: ManifestDB, name: str) -> str:
    """A new collection's Chroma collection has its name, unless a rebuilt collection already uses that name."""
    owner = db.space_owner(name)
    if owner not in (None, name):
        raise StoreError(f"collection name {name!r} is taken by collection {owner!r}'s store; choose another name")
    return name


def _metadata(chunk: Chunk) -> dict:
    """Chunk fields stored next to the text in Chroma."""
    return {"doc_id": chunk.doc_id, "title": chunk.title, "source": chunk.source, "start": chunk.start,
            "end": chunk.end, "paragraph": chunk.paragraph, "index": chunk.index, "page": chunk.page}


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    """Rebuild a Chunk from what Chroma returns."""
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta["title"], source=meta["source"],
                 text=text, start=int(meta["start"]), end=int(meta["end"]),
                 paragraph=int(meta.get("paragraph", 0)), index=int(meta.get("index", 0)),
                 page=int(meta.get("page", 0)))


class Reported:
    """A Chroma collection whose failures (a server gone, a full or read-only disk) are one-line StoreErrors that
    name the store, so every caller reports them the same way."""

    def __init__(self, collection, settings: Settings) -> None:
        self._collection, self._settings = collection, settings

    def __getattr__(self, name: str):
        value = getattr(self._collection, name)
        if not callable(value):
            return value

        def call(*args, **kwargs):
            with reported(self._settings):
                return value(*args, **kwargs)

        return call


@contextmanager
def reported(settings: Settings) -> Iterator[None]:
    """Turn any failure of a Chroma call into a StoreError saying which store failed and why."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:  # chromadb and httpx raise many unrelated types
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        if settings.chroma_host:
            where = f"the Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            down = isinstance(exc, ConnectionError | TimeoutError) or type(exc).__module__.startswith("httpx")
            raise StoreError(f"{where} is not answering ({reason})" if down else f"{where} failed: {reason}") from None
        _forget(settings)
        raise StoreError(f"Chroma at {settings.chroma_dir} failed: {reason}") from None


def _forget(settings: Settings) -> None:
    """After the embedded Chroma failed (a full disk, say), open it afresh on next use: its engine can be left
    stuck (a later delete never returns)."""
    from chromadb.api.client import SharedSystemClient

    with _CONNECTIONS_LOCK:
        _CONNECTIONS.pop(str(settings.chroma_dir), None)
    SharedSystemClient.clear_system_cache()
