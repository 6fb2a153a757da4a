"""The Chroma collection (cosine, embeddings supplied by us) and the manifest saying which chunks are committed."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from .manifest import CollectionInfo, Manifest, ManifestDB, StoreError, check_collection_name
from .models import Chunk
from .settings import Settings

ID_BATCH = 5000  # ids per get/delete call, under Chroma's maximum batch size
PAGE = 5000  # records per bulk read: one get() of everything fails past 32,766 records (SQLite variables)
# HNSW, which answers dense queries past vectors.EXACT_LIMIT chunks, tuned for recall (Chroma's defaults: M 16,
# ef_construction 100, ef_search 100). A question lies far from most stored chunks, and a narrow beam misses its
# neighbours: on 9,400 chunks of documentation plus the essay, ef_search 50 / 200 / 1000 found 69% / 96% / 100%
# of the exact top 20 for the essay's questions, at about 2 ms a query. Records added since the graph was last
# saved are re-inserted by each process that opens the store, in an order that can differ between processes:
# saving every 100 records (default 1000) keeps that part small.
HNSW = {"max_neighbors": 32, "ef_construction": 200, "ef_search": 1000, "sync_threshold": 100, "num_threads": 1}
UNINDEXED = {"string": ("title", "source", "owners"), "int": ("start", "end", "paragraph", "index", "page")}

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
    """This process's Chroma client for one store location (opened on first use: a question answered from the
    saved indexes never imports chromadb), and the revision of each collection it reflects."""

    settings: Settings
    seen: dict[str, tuple | None] = field(default_factory=dict)
    fresh: bool = False  # another process committed: Chroma's cached system must be dropped before opening
    _client: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def client(self):
        """The client, opened now if this is its first use."""
        with self._lock:
            if self._client is None:
                if self.fresh:
                    from chromadb.api.client import SharedSystemClient

                    SharedSystemClient.clear_system_cache()  # so the client loads every collection from disk
                self._client = open_client(self.settings)
            return self._client


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
            _CONNECTIONS[key] = _Connection(settings=settings, seen=seen, fresh=db is not None)
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
                collection = Reported(_open_collection(client, self.space), self.settings)
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

        docs = self.manifest.documents
        before = {doc_id: docs[doc_id]["chunk_ids"] for doc_id, _, _ in entries if doc_id in docs}
        garbage, replaced = self.db.record(self.space, entries, owner=os.getpid(), collection=self.info())
        self.committed()
        crash_point("after-record")
        self.delete(garbage)
        self.db.settle(self.space, garbage, owner=os.getpid())
        detached = [self.detach(doc_id, set(before.get(doc_id, ())) - set(ids) - set(garbage))
                    for doc_id, _, ids in entries]  # old chunks of the document that other documents still have
        if any(detached):
            self._touched()
        return replaced

    def remove(self, doc_id: str) -> int | None:
        """Forget a document and delete its chunks; the number of chunks, or None if it is not recorded."""
        entry = self.manifest.documents.get(doc_id)
        garbage = self.db.remove(self.space, doc_id, owner=os.getpid(), name=self.settings.collection)
        if garbage is None or entry is None:
            return None
        self.committed()
        self.delete(garbage)
        self.db.settle(self.space, garbage, owner=os.getpid())
        if self.detach(doc_id, set(entry["chunk_ids"]) - set(garbage)):  # shared with documents that stay
            self._touched()
        return len(entry["chunk_ids"])

    def _touched(self) -> None:
        """A new revision after metadata changed past a commit, so indexes saved in between are not reused."""
        self.db.bump(self.settings.collection, self.space)
        self.committed()

    def stored_ids(self) -> list[str]:
        """Every chunk id in the Chroma collection, read page by page."""
        return [i for page in self.pages(include=[]) for i in page["ids"]]

    def chunk_ids(self) -> list[str]:
        """Every stored chunk id, sorted."""
        return sorted(self.stored_ids())

    def pages(self, *, include: list[str]) -> Iterator[dict]:
        """The whole collection as successive get() results of at most PAGE records (rows deleted while being
        read, which come back without text or metadata, left out)."""
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            offset += len(page["ids"])
            yield _present(page, include)

    def existing_ids(self, ids: list[str]) -> set[str]:
        """Which of these chunk ids are already stored."""
        found: set[str] = set()
        for i in range(0, len(ids), ID_BATCH):
            found.update(self.collection.get(ids=ids[i:i + ID_BATCH], include=[])["ids"])
        return found

    def upsert(self, chunks: list[Chunk], vectors, *, metadatas: list[dict] | None = None) -> None:
        """Write chunks with their vectors, in batches Chroma accepts."""
        batch = self.client.get_max_batch_size()
        metadatas = metadatas or [with_owners(None, [c]) for c in chunks]
        for i in range(0, len(chunks), batch):
            part = chunks[i:i + batch]
            self.collection.upsert(ids=[c.chunk_id for c in part], documents=[c.text for c in part],
                                   embeddings=[list(map(float, v)) for v in vectors[i:i + batch]],
                                   metadatas=metadatas[i:i + batch])

    def attach(self, chunks: list[Chunk], vectors: dict) -> None:
        """Store each distinct chunk text once: new texts with their vector (`vectors[chunk_id]`), texts already
        stored gain these documents' spans as owners (replacing any older spans of the same documents)."""
        by_id: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            by_id.setdefault(chunk.chunk_id, []).append(chunk)
        known = self._owner_metadata([i for i in by_id if i not in vectors])
        fresh = [i for i in by_id if i in vectors]
        if fresh:
            self.upsert([by_id[i][0] for i in fresh], [vectors[i] for i in fresh],
                        metadatas=[with_owners(None, by_id[i]) for i in fresh])
        self._update_metadata({i: with_owners(known.get(i), by_id[i]) for i in by_id if i not in vectors})

    def detach(self, doc_id: str, ids) -> int:
        """Take the document off the owners of these chunks, which other documents still have; how many changed."""
        metas = self._owner_metadata(sorted(set(ids)))
        kept = {i: without_owner(m, doc_id) for i, m in metas.items()}
        changed = {i: m for i, m in kept.items() if m is not None}
        self._update_metadata(changed)
        return len(changed)

    def _owner_metadata(self, ids: list[str]) -> dict[str, dict]:
        """Stored metadata of these chunks, by id (absent ids left out)."""
        found: dict[str, dict] = {}
        for i in range(0, len(ids), ID_BATCH):
            got = self.collection.get(ids=ids[i:i + ID_BATCH], include=["metadatas"])
            found.update((j, m) for j, m in zip(got["ids"], got["metadatas"], strict=True) if m is not None)
        return found

    def _update_metadata(self, metas: dict[str, dict]) -> None:
        """Rewrite the metadata (not the vectors) of stored chunks, in batches Chroma accepts; an update merges
        keys, so a chunk back to one owner gets `owners: None`, which deletes the key."""
        ids, batch = list(metas), self.client.get_max_batch_size()
        for i in range(0, len(ids), batch):
            self.collection.update(ids=ids[i:i + batch],
                                   metadatas=[{"owners": None} | metas[j] for j in ids[i:i + batch]])

    def delete(self, ids: list[str]) -> None:
        """Remove chunks by id."""
        for i in range(0, len(ids), ID_BATCH):
            self.collection.delete(ids=ids[i:i + ID_BATCH])

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk, in document order; read page by page."""
        chunks = [_chunk(i, d, m) for page in self.pages(include=["documents", "metadatas"])
                  for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: (c.doc_id, c.start))

    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """The stored chunks with these ids (absent or just deleted ones left out), in batches Chroma accepts."""
        found: dict[str, Chunk] = {}
        for i in range(0, len(ids), ID_BATCH):
            got = self.collection.get(ids=ids[i:i + ID_BATCH], include=["documents", "metadatas"])
            found.update((j, _chunk(j, d, m)) for j, d, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                                 strict=True) if d is not None and m is not None)
        return found

    def query(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance), ties broken by id so order is stable."""
        if k <= 0:
            return []
        got = self.collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                    include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        # a chunk deleted while the query ran comes back without its text and metadata: it is gone, skip it
        ranked = [(_chunk(i, d, m), 1.0 - dist) for i, d, m, dist in rows if d is not None and m is not None]
        return sorted(ranked, key=lambda pair: (-round(pair[1], 6), pair[0].chunk_id))

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


def _open_collection(client, space: str):
    """The Chroma collection, created with the schema below when new (an older store keeps its configuration)."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(space, embedding_function=None)
    except (NotFoundError, ValueError):
        return client.get_or_create_collection(space, schema=collection_schema(), embedding_function=None)


def collection_schema():
    """A new collection's indexes: cosine HNSW tuned for recall, and no index Chroma would otherwise keep for
    what we never filter on (full text: BM25 lives in lexical.py; spans, titles, owners), so writes are cheaper."""
    from chromadb.api.types import (
        FtsIndexConfig,
        HnswIndexConfig,
        IntInvertedIndexConfig,
        Schema,
        StringInvertedIndexConfig,
        VectorIndexConfig,
    )

    schema = Schema().create_index(VectorIndexConfig(space="cosine", embedding_function=None,
                                                     hnsw=HnswIndexConfig(**HNSW)))
    schema.delete_index(FtsIndexConfig(), key="#document")
    for key in UNINDEXED["string"]:
        schema.delete_index(StringInvertedIndexConfig(), key=key)
    for key in UNINDEXED["int"]:
        schema.delete_index(IntInvertedIndexConfig(), key=key)
    return schema


def _present(page: dict, include: list[str]) -> dict:
    """A get() page without the rows deleted while it was read (they come back without text or metadata)."""
    keys = [k for k in ("documents", "metadatas") if k in include]
    keep = [n for n in range(len(page["ids"])) if all(page[k][n] is not None for k in keys)]
    if len(keep) == len(page["ids"]):
        return page
    return {"ids": [page["ids"][n] for n in keep]} | {
        k: [page[k][n] for n in keep] for k in ("documents", "metadatas", "embeddings") if k in include}


# Shared chunks: one record per distinct text in a collection. Its metadata names every (document, span) that
# has the text ("owners", a JSON list) and, as plain fields, the first owner by (doc_id, start): the span a
# citation shows. Removing a document drops its owner entries; the record goes when no document references it.
_OWNER_FIELDS = ("doc_id", "title", "source", "start", "end", "paragraph", "index", "page", "section")


_DEFAULTS = ["", "", "", 0, 0, 0, 0, 0, ""]  # what a record written before a field existed holds for it


def with_owners(meta: dict | None, chunks: list[Chunk]) -> dict:
    """Metadata listing the owners already recorded plus these chunks (their documents' older spans replaced)."""
    docs = {c.doc_id for c in chunks}
    owners = [o for o in _owners(meta) if o[0] not in docs]
    owners += [[getattr(c, f) for f in _OWNER_FIELDS] for c in chunks]
    return _owners_to_metadata(owners)


def without_owner(meta: dict, doc_id: str) -> dict | None:
    """Metadata with the document's spans removed, or None when no other document has the text."""
    owners = [o for o in _owners(meta) if o[0] != doc_id]
    return _owners_to_metadata(owners) if owners else None


def _owners(meta: dict | None) -> list[list]:
    """Every (doc_id, title, source, start, end, paragraph, index, page) recorded for a stored chunk."""
    if not meta:
        return []
    if meta.get("owners"):
        return [o + _DEFAULTS[len(o):] for o in json.loads(meta["owners"])]
    return [[meta.get(f, d) for f, d in zip(_OWNER_FIELDS, _DEFAULTS, strict=True)]]


def _owners_to_metadata(owners: list[list]) -> dict:
    """Chroma metadata: the first owner as plain fields, and all owners as JSON when there are several."""
    owners = sorted({json.dumps(o): o for o in owners}.values(), key=lambda o: (o[0], o[3]))
    meta = dict(zip(_OWNER_FIELDS, owners[0], strict=True))
    return meta | {"owners": json.dumps(owners, ensure_ascii=False)} if len(owners) > 1 else meta


def owners_of(meta: dict) -> list[dict]:
    """Every (document, span) that has a stored chunk's text, first owner first."""
    return [dict(zip(_OWNER_FIELDS, o, strict=True)) for o in _owners(meta)]


def chunk_from(chunk_id: str, text: str, meta: dict, *, docs: set[str] | None = None) -> Chunk:
    """Rebuild a Chunk from what Chroma returns; with `docs` (the committed documents), the span shown is that of
    the first owner among them, not of a document another process is still writing."""
    if docs is not None and meta["doc_id"] not in docs:
        meta = next((o for o in owners_of(meta) if o["doc_id"] in docs), meta)
    return _chunk(chunk_id, text, meta)


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    """Rebuild a Chunk from what Chroma returns."""
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta["title"], source=meta["source"],
                 text=text, start=int(meta["start"]), end=int(meta["end"]),
                 paragraph=int(meta.get("paragraph", 0)), index=int(meta.get("index", 0)),
                 page=int(meta.get("page", 0)), section=str(meta.get("section") or ""))


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
