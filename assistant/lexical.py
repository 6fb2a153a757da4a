"""The lexical (BM25) index over a collection's chunk texts, saved beside the store and memory-mapped on load.

An index is keyed by the set of stored chunk ids, which are content hashes: the same key means the same texts,
so a saved index stays valid until the collection changes, and a fresh process loads it instead of rebuilding
it from every chunk."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import time
from pathlib import Path

from .models import Chunk
from .store import Store
from .text import terms

FORMAT = 1  # bump when `terms` or the saved layout changes, so older indexes are rebuilt
STALE_BUILD_S = 3600  # a temp folder this old is left over from a killed build
_EMPTY = "\u2205"  # the token of a chunk with no content terms, so every chunk has a row


class LexicalIndex:
    """BM25 scores (bm25s) of every stored chunk, looked up by chunk id; top-k selection stays in numpy."""

    def __init__(self, bm25, ids: list[str]) -> None:
        self._bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, chunks: list[Chunk]) -> LexicalIndex:
        """Index these chunks (one row per id, first text wins)."""
        import bm25s

        texts = {c.chunk_id: c.text for c in chunks}
        if not texts:
            return cls(None, [])
        bm25 = bm25s.BM25()
        bm25.index([terms(t) or [_EMPTY] for t in texts.values()], show_progress=False)
        return cls(bm25, list(texts))

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        """A saved index, its score arrays memory-mapped."""
        import bm25s

        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if ids else None
        return cls(bm25, ids)

    def save(self, folder: Path) -> None:
        """Write the index into a new folder (atomically: a temp folder renamed into place)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".building-"))
        try:
            if self._bm25 is not None:
                self._bm25.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
            tmp.rename(folder)
        except OSError:  # another process saved the same index first
            shutil.rmtree(tmp, ignore_errors=True)

    def __len__(self) -> int:
        return len(self.ids)

    def document_frequency(self, term: str) -> int:
        """How many chunks contain the term."""
        token = self._bm25.vocab_dict.get(term) if self._bm25 is not None else None
        if token is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency; a term absent from the corpus weighs the most."""
        n, df = len(self.ids), self.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def contains(self, term: str) -> bool:
        """Whether any stored chunk contains the term."""
        return self._bm25 is not None and term in self._bm25.vocab_dict

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score) by bm25s' own top-k selection; chunks sharing no term are left out."""
        query_terms = [t for t in terms(query) if self.contains(t)]
        if not query_terms or k <= 0:
            return []
        found = self._bm25.retrieve([query_terms], k=min(k, len(self.ids)), show_progress=False, n_threads=0)
        hits = [(int(i), float(s)) for i, s in zip(found.documents[0], found.scores[0], strict=True) if s > 0]
        return [(self.ids[i], s) for i, s in sorted(hits, key=lambda h: (-h[1], self.ids[h[0]]))]


def index_key(ids: list[str]) -> str:
    """Names the set of stored chunks (their ids are content hashes) and the index format."""
    digest = hashlib.sha256(f"{FORMAT}\n".encode())
    for chunk_id in sorted(ids):
        digest.update(chunk_id.encode() + b"\n")
    return digest.hexdigest()[:20]


def index_folder(store: Store, key: str) -> Path:
    """Where the index of this collection's content is saved."""
    return store.settings.data_dir / "lexical" / store.settings.collection / key


def open_index(store: Store) -> LexicalIndex:
    """The saved index of the collection as it is now, else one built from every chunk and saved (the
    collection's older indexes are then deleted)."""
    folder = index_folder(store, index_key(store.chunk_ids()))
    if (folder / "ids.json").is_file():
        try:
            return LexicalIndex.load(folder)
        except (OSError, ValueError):  # deleted meanwhile by another process: rebuild below
            pass
    chunks = store.all_chunks()
    index = LexicalIndex.build(chunks)
    folder = index_folder(store, index_key([c.chunk_id for c in chunks]))
    index.save(folder)
    for old in folder.parent.iterdir():
        if old != folder and (not old.name.startswith(".") or time.time() - old.stat().st_mtime > STALE_BUILD_S):
            shutil.rmtree(old, ignore_errors=True)
    return index
