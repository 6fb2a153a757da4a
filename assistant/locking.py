"""The busy rule: one writer at a time per data dir (embedded Chroma is not process-safe), re-entrant in a process.

With a Chroma server every process writes at once; each holds a lock file of its own while writing so others
can tell a live writer's unfinished work from a crashed one's.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .manifest import StoreError, read_only_note
from .settings import Settings

WRITER_LOCK = "writer.lock"


class StoreBusy(StoreError):
    """Another process is writing to this store."""


@dataclass(kw_only=True)
class _ProcessLock:
    """The file lock as this process holds it: threads queue on `guard`, the file is locked once."""

    path: Path
    guard: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO | None = None


_LOCKS: dict[Path, _ProcessLock] = {}
_REGISTRY = threading.Lock()


def lock_path(settings: Settings, pid: int | None = None) -> Path:
    """One lock per data dir (embedded), or one per writing process (Chroma server)."""
    if settings.chroma_host:
        return settings.data_dir / "writers" / f"{pid or os.getpid()}.lock"
    return settings.data_dir / WRITER_LOCK


@contextmanager
def writer_lock(settings: Settings, op: str, *, wait: bool = True) -> Iterator[bool]:
    """Hold the writer lock; yields True for the outermost hold. Raises StoreBusy at once if another process
    holds it (or, with wait=False, another thread of this one)."""
    lock = _process_lock(lock_path(settings))
    if not lock.guard.acquire(blocking=wait):
        raise StoreBusy("the store is busy (another write in this process)")
    try:
        if lock.depth == 0:
            lock.handle = _lock_file(lock.path, op)
        lock.depth += 1
        try:
            yield lock.depth == 1
        finally:
            lock.depth -= 1
            if lock.depth == 0:
                _unlock_file(lock, remove=bool(settings.chroma_host))
    finally:
        lock.guard.release()


def held_here(settings: Settings) -> bool:
    """Whether this process holds the data dir's writer lock (then no other process can be writing)."""
    lock = _LOCKS.get(lock_path(settings))
    return lock is not None and lock.depth > 0


def holder_alive(settings: Settings, pid: int) -> bool:
    """Whether a writing process is still at work (called while holding the writer lock)."""
    if not settings.chroma_host or pid == os.getpid():
        return False  # embedded: the lock we hold excludes every other writer; ours are the outermost hold's
    try:
        handle = open(lock_path(settings, pid))  # noqa: SIM115 (closed below on every path)
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _process_lock(path: Path) -> _ProcessLock:
    """This process's single record of the lock file."""
    with _REGISTRY:
        return _LOCKS.setdefault(path, _ProcessLock(path=path))


def _lock_file(path: Path, op: str) -> IO:
    """Take the file lock without waiting and write who holds it; StoreBusy names the holder."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (kept open while the lock is held)
    except OSError as exc:
        raise StoreError(f"{path}: cannot take the writer lock ({exc.strerror}){read_only_note(path.parent)}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another writer"
        handle.close()
        raise StoreBusy(f"the store is busy ({holder}); try again when it has finished") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{op} by pid {os.getpid()}")
    handle.flush()
    return handle


def _unlock_file(lock: _ProcessLock, *, remove: bool) -> None:
    """Release the file lock; a per-process lock file is removed once no write is unfinished."""
    if remove:
        lock.path.unlink(missing_ok=True)
    fcntl.flock(lock.handle, fcntl.LOCK_UN)
    lock.handle.close()
    lock.handle = None
