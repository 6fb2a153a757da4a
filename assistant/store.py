"""The Chroma collection (cosine, embeddings supplied by us) and the manifest of ingested documents."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .models import Chunk
from .settings import Settings

MANIFEST_VERSION = 1
ID_BATCH = 5000  # ids per get/delete call, under Chroma's maximum batch size
PAGE = 5000  # records per bulk read: one get() of everything fails past 32,766 records (SQLite variables)
# HNSW, which answers dense queries past vectors.EXACT_LIMIT chunks, tuned for recall (Chroma's defaults: M 16,
# ef_construction 100, ef_search 100). A question lies far from most stored chunks, and a narrow beam misses its
# neighbours: on 9,400 chunks of documentation plus the essay, ef_search 50 / 200 / 1000 found 69% / 96% / 100%
# of the exact top 20 for the essay's questions, at about 2 ms a query. Records added since the graph was last
# saved are re-inserted by each process that opens the store, in an order that can differ between processes:
# saving every 100 records (default 1000) keeps that part small.
HNSW = {"max_neighbors": 32, "ef_construction": 200, "ef_search": 1000, "sync_threshold": 100, "num_threads": 1}
UNINDEXED = {"string": ("title", "source", "owners"), "int": ("start", "end", "paragraph", "index")}


class StoreError(RuntimeError):
    """The vector store cannot be opened or used; the message says why in one line."""


@dataclass(kw_only=True)
class Manifest:
    """What is stored: per document its hash, title, source and chunk ids, plus the chunking used."""

    path: Path
    documents: dict[str, dict] = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Load the manifest, or an empty one for a new store."""
        if not path.exists():
            return cls(path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise StoreError(f"{path}: manifest is not valid JSON; delete the data dir and re-ingest") from None
        return cls(path=path, documents=data.get("documents", {}), config=data.get("config", {}))

    def write(self) -> None:
        """Atomically replace the manifest file (write a temp file, then rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": MANIFEST_VERSION, "config": self.config, "documents": self.documents}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".manifest-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


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


class Store:
    """Chunks with their vectors in one Chroma collection; open once and share."""

    def __init__(self, *, settings: Settings, client=None) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.collection = self.client.get_or_create_collection(settings.collection, schema=collection_schema(),
                                                               embedding_function=None)
        self.manifest = Manifest.read(settings.manifest_path)
        self._revision = 0

    @property
    def revision(self) -> tuple:
        """Changes whenever this process or another one rewrote the manifest."""
        try:
            stat = self.settings.manifest_path.stat()
            return self._revision, stat.st_mtime_ns, stat.st_size
        except FileNotFoundError:
            return self._revision, 0, 0

    def reload_manifest(self) -> None:
        """Pick up documents ingested by another process."""
        self.manifest = Manifest.read(self.settings.manifest_path)

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

    def detach(self, doc_id: str, ids: Iterable[str]) -> None:
        """Take the document off these chunks' owners; a chunk no other document has is deleted."""
        metas = self._owner_metadata(sorted(set(ids)))
        kept = {i: without_owner(m, doc_id) for i, m in metas.items()}
        self.delete([i for i, m in kept.items() if m is None])
        self._update_metadata({i: m for i, m in kept.items() if m is not None})

    def _owner_metadata(self, ids: list[str]) -> dict[str, dict]:
        """Stored metadata of these chunks, by id (absent ids left out)."""
        found: dict[str, dict] = {}
        for i in range(0, len(ids), ID_BATCH):
            got = self.collection.get(ids=ids[i:i + ID_BATCH], include=["metadatas"])
            found.update(zip(got["ids"], got["metadatas"], strict=True))
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

    def commit(self) -> None:
        """Persist the manifest and mark a new revision."""
        self.manifest.write()
        self._revision += 1

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (for the lexical index), in document order; read page by page."""
        chunks = [_chunk(i, d, m) for page in self.pages(include=["documents", "metadatas"])
                  for i, d, m in zip(page["ids"], page["documents"], page["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: (c.doc_id, c.start))

    def chunk_ids(self) -> list[str]:
        """Every stored chunk id, sorted; read page by page."""
        return sorted(i for page in self.pages(include=[]) for i in page["ids"])

    def pages(self, *, include: list[str]) -> Iterator[dict]:
        """The whole collection as successive get() results of at most PAGE records."""
        offset = 0
        while True:
            page = self.collection.get(include=include, limit=PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        """The stored chunks with these ids (absent ones left out), in batches Chroma accepts."""
        found: dict[str, Chunk] = {}
        for i in range(0, len(ids), ID_BATCH):
            got = self.collection.get(ids=ids[i:i + ID_BATCH], include=["documents", "metadatas"])
            for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                found[chunk_id] = _chunk(chunk_id, text, meta)
        return found

    def query(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance), ties broken by id so order is stable."""
        if k <= 0:
            return []
        got = self.collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                    include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        ranked = [(_chunk(i, d, m), 1.0 - dist) for i, d, m, dist in rows]
        return sorted(ranked, key=lambda pair: (-round(pair[1], 6), pair[0].chunk_id))

    def count(self) -> int:
        """Number of stored chunks."""
        return self.collection.count()


# Shared chunks: one record per distinct text in a collection. Its metadata names every (document, span) that
# has the text ("owners", a JSON list) and, as plain fields, the first owner by (doc_id, start): the span a
# citation shows. Removing a document drops its owner entries; the record goes when no owner is left.
_OWNER_FIELDS = ("doc_id", "title", "source", "start", "end", "paragraph", "index")


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
    """Every (doc_id, title, source, start, end, paragraph, index) recorded for a stored chunk."""
    if not meta:
        return []
    if meta.get("owners"):
        return json.loads(meta["owners"])
    return [[meta.get(f, 0) for f in _OWNER_FIELDS]]


def _owners_to_metadata(owners: list[list]) -> dict:
    """Chroma metadata: the first owner as plain fields, and all owners as JSON when there are several."""
    owners = sorted({json.dumps(o): o for o in owners}.values(), key=lambda o: (o[0], o[3]))
    meta = dict(zip(_OWNER_FIELDS, owners[0], strict=True))
    return meta | {"owners": json.dumps(owners, ensure_ascii=False)} if len(owners) > 1 else meta


def owners_of(meta: dict) -> list[dict]:
    """Every (document, span) that has a stored chunk's text, first owner first."""
    return [dict(zip(_OWNER_FIELDS, o, strict=True)) for o in _owners(meta)]


def _chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    """Rebuild a Chunk from what Chroma returns."""
    return Chunk(chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta["title"], source=meta["source"],
                 text=text, start=int(meta["start"]), end=int(meta["end"]),
                 paragraph=int(meta.get("paragraph", 0)), index=int(meta.get("index", 0)))
