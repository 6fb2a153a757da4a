"""A cheap, deterministic stand-in for the embedding model, for tests that need tens of thousands of vectors."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from assistant.embeddings import MiniLMEmbeddings
from assistant.text import terms

DIMENSIONS = 384


class HashedEmbeddings(MiniLMEmbeddings):
    """Signed hashed bag of content terms, L2-normalised: texts sharing terms get similar vectors, instantly."""

    def __init__(self, *, dimensions: int = DIMENSIONS) -> None:  # no model: only what `encode*` uses
        self.dimensions = dimensions
        self.batch_size = 512
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = 4096
        self._cache_lock = threading.Lock()

    def encode(self, texts: list[str], *, progress: Callable[[int], None] | None = None) -> np.ndarray:
        """All texts in one pass (the model's batching buys nothing here)."""
        out = self._encode_batch(texts)
        if progress:
            progress(len(texts))
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """One row per text: +-1 per term in a hashed dimension."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text) or ["\u2205"]:
                h = int.from_bytes(hashlib.blake2b(term.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimensions] += 1.0 if (h >> 32) & 1 else -1.0
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
