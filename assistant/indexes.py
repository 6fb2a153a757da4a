"""The search indexes of a collection (lexical, and exact vectors), saved beside the store and keyed by content.

Chunk ids are content hashes, so the sorted set of stored ids names the stored texts (and their vectors): a
saved index stays valid until the collection changes, and a fresh process memory-maps it instead of rebuilding
it from every chunk. Ingest saves the indexes of the content it leaves; the first question after any other
change (a removal, another process) builds and saves them."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lexical import LexicalIndex
from .store import Store
from .vectors import EXACT_LIMIT, VectorIndex

FORMAT = 1  # bump when `terms` or a saved layout changes, so older indexes are rebuilt
STALE_BUILD_S = 3600  # a temp folder this old is left over from a killed build
_IDS = "ids.json"


@dataclass(kw_only=True)
class Indexes:
    """One collection's content, indexed: BM25 always, exact vectors up to EXACT_LIMIT chunks."""

    key: str
    lexical: LexicalIndex
    vectors: VectorIndex | None


def content_key(ids: list[str]) -> str:
    """Names the set of stored chunks and the index format."""
    digest = hashlib.sha256(f"{FORMAT}\n".encode())
    for chunk_id in sorted(ids):
        digest.update(chunk_id.encode() + b"\n")
    return digest.hexdigest()[:20]


def index_folder(store: Store, key: str) -> Path:
    """Where the indexes of this content of this collection are saved."""
    return store.settings.data_dir / "indexes" / store.settings.collection / key


def open_indexes(store: Store) -> Indexes:
    """The saved indexes of the collection as it is now, else indexes built from every chunk and saved."""
    key = content_key(store.chunk_ids())
    folder = index_folder(store, key)
    if (folder / _IDS).is_file():
        try:
            return _load(folder, key)
        except (OSError, ValueError):  # deleted meanwhile by another process: build below
            pass
    return build_indexes(store)


def _load(folder: Path, key: str) -> Indexes:
    """Indexes saved by `_save`."""
    saved = json.loads((folder / _IDS).read_text(encoding="utf-8"))
    ids = saved["ids"]
    vectors = VectorIndex.load(folder, ids) if saved["vectors"] else None
    return Indexes(key=key, lexical=LexicalIndex.load(folder, ids), vectors=vectors)


def build_indexes(store: Store) -> Indexes:
    """Index every stored chunk (read page by page), save the result and delete the collection's older ones."""
    exact = store.count() <= EXACT_LIMIT
    ids, texts, blocks = [], [], []
    for page in store.pages(include=["documents", "embeddings"] if exact else ["documents"]):
        ids += page["ids"]
        texts += page["documents"]
        if exact:
            blocks.append(np.asarray(page["embeddings"], dtype=np.float32))
    vectors = VectorIndex(ids, np.vstack(blocks)) if exact and blocks else None
    indexes = Indexes(key=content_key(ids), lexical=LexicalIndex.build(ids, texts), vectors=vectors)
    _save(indexes, index_folder(store, indexes.key))
    return indexes


def _save(indexes: Indexes, folder: Path) -> None:
    """Write into a temp folder renamed into place (another process sees all or nothing), then prune."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
    try:
        indexes.lexical.save(tmp)
        if indexes.vectors is not None:
            indexes.vectors.save(tmp)
        ids = {"ids": indexes.lexical.ids, "vectors": indexes.vectors is not None}
        (tmp / _IDS).write_text(json.dumps(ids), encoding="utf-8")
        tmp.rename(folder)
    except OSError:  # another process saved the same content first
        shutil.rmtree(tmp, ignore_errors=True)
    for old in folder.parent.iterdir():
        if old != folder and _stale(old):
            shutil.rmtree(old, ignore_errors=True)


def _stale(path: Path) -> bool:
    """An older index, or a temp folder left by a build that was killed."""
    try:
        return not path.name.startswith(".") or time.time() - path.stat().st_mtime > STALE_BUILD_S
    except FileNotFoundError:
        return False
