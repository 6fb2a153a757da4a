"""The stored chunks' texts and spans, saved with the search indexes: a question reads its passages from this
file (memory-mapped, one JSON line a chunk) and never opens Chroma, whose import and start-up cost more than the
rest of a cold question."""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import numpy as np

from .models import Chunk

_LINES, _OFFSETS = "chunks.jsonl", "chunk-offsets.npy"
_FIELDS = ("chunk_id", "doc_id", "title", "source", "text", "start", "end", "paragraph", "index", "page", "section")


class ChunkRecords:
    """Chunks by id: line `n` of the file holds the chunk in row `n` of the search indexes."""

    def __init__(self, ids: list[str], data: bytes | mmap.mmap, offsets: np.ndarray) -> None:
        self.ids = ids
        self._data, self._offsets = data, offsets
        self._rows: dict[str, int] | None = None

    @classmethod
    def build(cls, chunks: list[Chunk]) -> ChunkRecords:
        """Records of these chunks, in this order."""
        lines = [json.dumps([getattr(c, f) for f in _FIELDS], ensure_ascii=False).encode() + b"\n" for c in chunks]
        offsets = np.zeros(len(lines) + 1, dtype=np.int64)
        np.cumsum([len(line) for line in lines], out=offsets[1:])
        return cls([c.chunk_id for c in chunks], b"".join(lines), offsets)

    @classmethod
    def load(cls, folder: Path, ids: list[str]) -> ChunkRecords:
        """Records saved by `save`, memory-mapped (ValueError when the folder holds none)."""
        offsets = np.load(folder / _OFFSETS, mmap_mode="r")
        if len(offsets) != len(ids) + 1:
            raise ValueError(f"{folder} holds {len(offsets) - 1} chunk records for {len(ids)} indexed chunks")
        with open(folder / _LINES, "rb") as file:
            data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if offsets[-1] else b""
        return cls(ids, data, offsets)

    def save(self, folder: Path) -> None:
        """Write the lines and their offsets into the folder."""
        (folder / _LINES).write_bytes(bytes(self._data[:int(self._offsets[-1])]))
        np.save(folder / _OFFSETS, np.asarray(self._offsets, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, ids: list[str]) -> dict[str, Chunk]:
        """The chunks with these ids (ids not recorded left out)."""
        if self._rows is None:
            self._rows = {chunk_id: row for row, chunk_id in enumerate(self.ids)}
        found = {}
        for chunk_id in ids:
            row = self._rows.get(chunk_id)
            if row is not None:
                line = self._data[int(self._offsets[row]):int(self._offsets[row + 1])]
                found[chunk_id] = Chunk(**dict(zip(_FIELDS, json.loads(line), strict=True)))
        return found
