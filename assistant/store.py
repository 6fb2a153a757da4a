"""The Chroma collection (cosine, embeddings supplied by us) and the manifest of ingested documents."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .models import Chunk
from .settings import Settings

MANIFEST_VERSION = 1
ID_BATCH = 5000  # ids per get/delete call, under Chroma's maximum batch size


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


class Store:
    """Chunks with their vectors in one Chroma collection; open once and share."""

    def __init__(self, *, settings: Settings, client=None) -> None:
        self.settings = settings
        self.client = client or open_client(settings)
        self.collection = self.client.get_or_create_collection(
            settings.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
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

    def commit(self) -> None:
        """Persist the manifest and mark a new revision."""
        self.manifest.write()
        self._revision += 1

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (for the lexical index), in document order."""
        got = self.collection.get(include=["documents", "metadatas"])
        chunks = [_chunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]
        return sorted(chunks, key=lambda c: (c.doc_id, c.start))

    def query(self, vector, k: int) -> list[tuple[Chunk, float]]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        if k <= 0:
            return []
        got = self.collection.query(query_embeddings=[list(map(float, vector))], n_results=k,
                                    include=["documents", "metadatas", "distances"])
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        return [(_chunk(i, d, m), 1.0 - dist) for i, d, m, dist in rows]

    def count(self) -> int:
        """Number of stored chunks."""
        return self.collection.count()


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
