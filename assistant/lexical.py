"""The lexical (BM25, bm25s) index over a collection's chunk texts; saved in a folder, memory-mapped on load."""

from __future__ import annotations

import bisect
import math
from pathlib import Path

from .text import same_stem, terms

_EMPTY = "\u2205"  # the token of a chunk with no content terms, so every chunk has a row


class LexicalIndex:
    """BM25 scores of every stored chunk, in the order of `ids`; top-k selection is bm25s' own (numpy)."""

    def __init__(self, bm25, ids: list[str]) -> None:
        self._bm25 = bm25
        self.ids = ids
        self._vocabulary: list[str] | None = None
        self._parts: frozenset[str] | None = None

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        """Index these texts, one row per id."""
        import bm25s

        if not ids:
            return cls(None, [])
        bm25 = bm25s.BM25()
        bm25.index([terms(t) or [_EMPTY] for t in texts], show_progress=False)
        return cls(bm25, ids)

    @classmethod
    def load(cls, folder: Path, ids: list[str]) -> LexicalIndex:
        """An index saved by `save`, its score arrays memory-mapped."""
        import bm25s

        return cls(bm25s.BM25.load(str(folder), mmap=True, show_progress=False) if ids else None, ids)

    def save(self, folder: Path) -> None:
        """Write the bm25s files into the folder."""
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)

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

    def has_term(self, term: str) -> bool:
        """Whether any stored chunk contains exactly this term."""
        return self._bm25 is not None and term in self._bm25.vocab_dict

    def contains(self, term: str) -> bool:
        """Whether any stored chunk contains the term, a word of the same stem ("Asian" for "Asia"), a hyphenated
        word of which it is a part ("Nagorno-Karabakh" for "Karabakh") or, for a hyphenated term, each of its parts
        ("Arktika class" for "Arktika-class")."""
        if self._bm25 is None or self.has_term(term):
            return self._bm25 is not None
        if "-" in term.strip("-"):
            return all(self.contains(part) for part in term.split("-") if part)
        if self._vocabulary is None:
            self._vocabulary = sorted(str(word) for word in self._bm25.vocab_dict)
            self._parts = frozenset(part for word in self._vocabulary if "-" in word for part in word.split("-"))
        low = bisect.bisect_left(self._vocabulary, term[:4])
        high = bisect.bisect_left(self._vocabulary, term[:4] + "\uffff")
        return term in self._parts or any(same_stem(term, word) for word in self._vocabulary[low:high])

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k (chunk id, BM25 score), best first (ties by id); chunks sharing no term are left out."""
        query_terms = [t for t in terms(query) if self.has_term(t)]
        if not query_terms or k <= 0:
            return []
        found = self._bm25.retrieve([query_terms], k=min(k, len(self.ids)), show_progress=False, n_threads=0)
        hits = [(self.ids[int(i)], float(s)) for i, s in zip(found.documents[0], found.scores[0], strict=True) if s > 0]
        return sorted(hits, key=lambda h: (-h[1], h[0]))
