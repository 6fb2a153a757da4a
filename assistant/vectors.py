"""Exact cosine search over every stored vector: one float32 matrix, saved in a folder and memory-mapped.

Chroma's HNSW graph is approximate, and a store opened by another process can rebuild the graph's newest part
in another order, so the same question could get other passages there. Up to EXACT_LIMIT chunks a full scan
costs a few milliseconds and ranks the same way in every process; past it the retriever queries HNSW."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXACT_LIMIT = 250_000  # chunks: a 384-dimension float32 matrix of ~370 MB, a scan of well under 100 ms
_FILE = "vectors.npy"


class VectorIndex:
    """Unit vectors of every stored chunk, rows in the order of `ids`."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        self.ids = ids
        self.matrix = matrix

    @classmethod
    def load(cls, folder: Path, ids: list[str]) -> VectorIndex:
        """An index saved by `save`, memory-mapped."""
        return cls(ids, np.load(folder / _FILE, mmap_mode="r"))

    def save(self, folder: Path) -> None:
        """Write the matrix into the folder."""
        np.save(folder / _FILE, np.ascontiguousarray(self.matrix, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, vector, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, cosine similarity), best first, ties broken by id."""
        if k <= 0 or not self.ids:
            return []
        scores = self.matrix @ np.asarray(vector, dtype=np.float32)
        k = min(k, len(self.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = np.union1d(top, np.flatnonzero(scores == scores[top].min()))  # every tie at the edge, then by id
        return sorted(((self.ids[i], float(scores[i])) for i in top), key=lambda h: (-h[1], h[0]))[:k]
