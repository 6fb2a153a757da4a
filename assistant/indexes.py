"""The search indexes of a collection (lexical, exact vectors) and its chunks' texts and spans, saved beside the
store for each revision of the collection.

Every commit, by any process, gives the collection a new revision, so the saved files of the current revision
are exactly what is committed: a fresh process memory-maps them and answers without opening Chroma. Ingest
saves them for the revision it leaves; the first question after any other change (a removal, a recovery) builds
them from Chroma and saves them."""

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
from .records import ChunkRecords
from .store import Store, StoreError, chunk_from
from .vectors import EXACT_LIMIT, VectorIndex

FORMAT = 3  # bump when `terms` or a saved layout changes, so older indexes are rebuilt
STALE_BUILD_S = 3600  # a temp folder this old is left over from a killed build
RETRY_S = 20.0  # how long a question keeps rebuilding indexes while another process writes
UNEXPLAINED_TRIES = 3  # builds tried before a failure that no writer explains is raised
_IDS = "ids.json"


@dataclass(kw_only=True)
class Indexes:
    """One revision of a collection, indexed: BM25 and the chunk records always, exact vectors up to EXACT_LIMIT
    chunks."""

    key: str
    lexical: LexicalIndex
    vectors: VectorIndex | None
    records: ChunkRecords


def revision_key(space: str, revision: int, created_at: str) -> str:
    """Names one revision of one Chroma collection (and the index format); `created_at` tells a collection apart
    from an older one of the same name whose saved indexes outlived it."""
    return hashlib.sha256(f"{FORMAT}\n{space}\n{revision}\n{created_at}".encode()).hexdigest()[:20]


def current_key(store: Store) -> str:
    """The key of the collection as it is now (one manifest read)."""
    _ = store.revision  # catch up with a rebuild by another process first
    info = store.db.collection(store.settings.collection)
    return revision_key(info.space, info.revision, info.created_at) if info else revision_key(store.space, 0, "")


def index_folder(store: Store, key: str) -> Path:
    """Where the indexes of this revision of this collection are saved."""
    return store.settings.data_dir / "indexes" / store.settings.collection / key


def open_indexes(store: Store, *, patience_s: float = RETRY_S) -> Indexes:
    """The saved indexes of the collection as it is now, else indexes built from every chunk and saved. A build
    that fails while another process writes (Chroma can fail a read of rows being deleted: "Error finding id")
    starts again on the collection as it is then, for up to `patience_s` (a busy writer on a loaded machine can
    take seconds). Chroma can also fail such a read just after a writer's deletes have settled, so a failure no
    writer explains is tried UNEXPLAINED_TRIES times before it is raised."""
    deadline, attempt, unexplained = time.monotonic() + patience_s, 0, 0
    while time.monotonic() < deadline:
        attempt += 1
        key = current_key(store)
        try:
            return _open(store, key)
        except StoreError:
            if not _written_meanwhile(store, key):
                unexplained += 1
                if unexplained >= UNEXPLAINED_TRIES:
                    raise
        time.sleep(min(0.05 * attempt, 0.25))
    return _open(store, current_key(store))


def _open(store: Store, key: str) -> Indexes:
    """The indexes saved under `key`, else built now."""
    folder = index_folder(store, key)
    if (folder / _IDS).is_file():
        try:
            return _load(folder, key)
        except (OSError, ValueError):  # deleted meanwhile by another process, or incomplete: build below
            pass
    return build_indexes(store)


def _written_meanwhile(store: Store, key: str) -> bool:
    """Whether a writer committed since `key` was read, or is writing now."""
    return current_key(store) != key or store.db.pending_count(store.space) > 0


def _load(folder: Path, key: str) -> Indexes:
    """Indexes saved by `_save`."""
    saved = json.loads((folder / _IDS).read_text(encoding="utf-8"))
    ids = saved["ids"]
    vectors = VectorIndex.load(folder, ids) if saved["vectors"] else None
    return Indexes(key=key, lexical=LexicalIndex.load(folder, ids), vectors=vectors,
                   records=ChunkRecords.load(folder, ids))


def build_indexes(store: Store) -> Indexes:
    """Index every committed chunk (read from Chroma page by page), save the result under the revision it was
    read at and delete the collection's older ones."""
    _ = store.revision
    state, committed, docs = store.db.snapshot(store.settings.collection) or ((store.space, 0, ""), set(), set())
    exact = len(committed) <= EXACT_LIMIT
    chunks, blocks = [], []
    include = ["documents", "metadatas", "embeddings"] if exact else ["documents", "metadatas"]
    for page in store.pages(include=include) if committed else ():
        keep = [n for n, chunk_id in enumerate(page["ids"]) if chunk_id in committed]  # not another writer's
        chunks += [chunk_from(page["ids"][n], page["documents"][n], page["metadatas"][n], docs=docs) for n in keep]
        if exact:
            blocks.append(np.asarray(page["embeddings"], dtype=np.float32)[keep])
    ids = [c.chunk_id for c in chunks]
    vectors = VectorIndex(ids, np.vstack(blocks)) if exact and blocks else None
    indexes = Indexes(key=revision_key(*state), lexical=LexicalIndex.build(ids, [c.lexical_text() for c in chunks]),
                      vectors=vectors, records=ChunkRecords.build(chunks))
    _save(indexes, index_folder(store, indexes.key))
    return indexes


def _save(indexes: Indexes, folder: Path) -> None:
    """Write into a temp folder renamed into place (another process sees all or nothing), then prune."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
    try:
        indexes.lexical.save(tmp)
        indexes.records.save(tmp)
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
