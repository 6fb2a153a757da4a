"""Manifest and Chroma agree: roll back what interrupted writes left, find the first difference, repair it.

A write announces its chunk ids in the manifest before it touches Chroma and commits the documents after,
so whatever moment a writer dies at, its unfinished work is listed and can be undone.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections import Counter

from .store import ID_BATCH, Store

logger = logging.getLogger(__name__)
_CRASHES: Counter = Counter()


def crash_point(step: str) -> None:
    """Test hooks for the crash tests: ASSISTANT_TEST_CRASH_AT=STEP[:N] SIGKILLs this process the N-th time it
    reaches STEP; ASSISTANT_TEST_PAUSE_AT=STEP:SECONDS sleeps the first time (a writer holding the lock a while)."""
    _CRASHES[step] += 1
    paused, _, seconds = os.environ.get("ASSISTANT_TEST_PAUSE_AT", "").partition(":")
    if paused == step and _CRASHES[step] == 1:
        time.sleep(float(seconds or 1))
    name, _, nth = os.environ.get("ASSISTANT_TEST_CRASH_AT", "").partition(":")
    if name == step and _CRASHES[step] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def recover(store: Store) -> list[str]:
    """Undo the unfinished writes of processes that are gone (call with the writer lock held)."""
    from .locking import holder_alive

    dead = {owner for owner in store.db.pending_owners() if not holder_alive(store.settings, owner)}
    if not dead:
        return []
    done, orphaned = [], store.db.orphaned_intents(dead)
    for space, ids in orphaned.items():
        _delete(_chroma(store, space), ids)
        done.append(f"rolled back {len(ids)} chunks an interrupted write left in {space!r}")
    for space in store.db.dead_spaces(dead):
        drop_space(store, space)
        done.append(f"dropped {space!r}, left by an interrupted rebuild")
    store.db.forget_owners(dead, changed=list(orphaned))
    store.committed()
    for line in done:
        logger.warning("recovered: %s", line)
    return done


def differences(store: Store) -> list[str]:
    """Where the manifest and the Chroma collection disagree, first difference first (empty when they agree)."""
    owners = store.db.chunk_owners(store.space)
    stored = set(store.stored_ids())
    in_flight = set(store.db.rows("SELECT chunk_id FROM pending WHERE space = ?", (store.space,)))
    found = []
    missing = sorted(c for c in owners if c not in stored)
    if missing:
        found.append(f"chunk {missing[0]} of document {owners[missing[0]]!r} is in the manifest but not in Chroma "
                     f"({len(missing)} such chunks)")
    extra = sorted(stored - owners.keys() - {row[0] for row in in_flight})
    if extra:
        found.append(f"Chroma holds {len(extra)} chunks that no document in the manifest lists (first: {extra[0]})")
    return found


def repair(store: Store) -> list[str]:
    """Make the manifest and Chroma agree: delete unlisted chunks, drop half-written documents (to re-ingest)."""
    from .locking import writer_lock

    with writer_lock(store.settings, "repair") as outermost:
        fixes = recover(store) if outermost else []
        owners = store.db.chunk_owners(store.space)
        stored = set(store.stored_ids())
        extra = sorted(stored - owners.keys())
        if extra:
            store.delete(extra)
            fixes.append(f"deleted {len(extra)} chunks that no document listed")
        for doc_id in sorted({owners[c] for c in owners if c not in stored}):
            entry = store.manifest.documents[doc_id]
            store.remove(doc_id)
            fixes.append(f"removed half-written document {doc_id!r}: re-ingest {entry['path'] or entry['source']}")
    return fixes


def _chroma(store: Store, space: str):
    """The Chroma collection behind a manifest space, or None when it no longer exists."""
    if space == store.space:
        return store.collection
    try:
        return store.client.get_collection(space, embedding_function=None)
    except Exception:  # chromadb raises NotFoundError or ValueError depending on the client
        return None


def _delete(collection, ids: list[str]) -> None:
    """Delete chunks by id in batches (nothing to do for a collection that is gone)."""
    for i in range(0, len(ids), ID_BATCH) if collection is not None else ():
        collection.delete(ids=ids[i:i + ID_BATCH])


def drop_space(store: Store, space: str) -> None:
    """Delete an unused Chroma collection and its rows."""
    if _chroma(store, space) is not None:
        store.client.delete_collection(space)
    store.db.forget_space(space)
