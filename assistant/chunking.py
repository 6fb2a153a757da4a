"""Documents -> sentence-aligned, overlapping chunks whose spans index the normalised source text."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right

from .models import Chunk, SourceDocument
from .text import paragraph_spans, sentence_spans

_SPACES = re.compile(r"\s*")


def split_sentences(doc: SourceDocument) -> list[tuple[int, int, int]]:
    """Every sentence of the document as (start, end, paragraph number from 1)."""
    return [
        (s, e, number)
        for number, (p_start, p_end) in enumerate(paragraph_spans(doc.text), start=1)
        for s, e in sentence_spans(doc.text, p_start, p_end)
    ]


def chunk_document(doc: SourceDocument, *, size: int = 700, overlap: int = 150) -> list[Chunk]:
    """Group whole sentences of one paragraph up to `size` characters, repeating up to `overlap` characters."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValueError(f"chunk size {size} and overlap {overlap}: need 0 <= overlap < size")
    groups, current = [], []
    for sentence in _capped(doc.text, split_sentences(doc), size):
        if current and _too_long(current, sentence, size):
            groups.append(current)
            current = _overlap_tail(current, overlap, sentence[2])
        current = current + [sentence]
    if current:
        groups.append(current)
    return _to_chunks(doc, groups)


def _capped(text: str, sentences: list[tuple[int, int, int]], size: int) -> list[tuple[int, int, int]]:
    """Sentences longer than `size` cut into pieces of at most `size` characters, at the last space when there is
    one (a run of text with no full stop must not become one enormous chunk)."""
    out = []
    for start, end, paragraph in sentences:
        while end - start > size:
            cut = text.rfind(" ", start + 1, start + size + 1)
            cut = cut if cut > start else start + size
            out.append((start, start + len(text[start:cut].rstrip()), paragraph))
            start = _SPACES.match(text, cut, end).end()
        if end > start:
            out.append((start, end, paragraph))
    return out


def _too_long(current: list[tuple[int, int, int]], sentence: tuple[int, int, int], size: int) -> bool:
    """Close the chunk when the sentence would overflow it or starts a new paragraph."""
    return sentence[1] - current[0][0] > size or sentence[2] != current[-1][2]


def _overlap_tail(current: list[tuple[int, int, int]], overlap: int, paragraph: int) -> list:
    """Trailing sentences of the same paragraph that fit in the overlap budget."""
    tail: list[tuple[int, int, int]] = []
    for sentence in reversed(current):
        if sentence[2] != paragraph or current[-1][1] - sentence[0] > overlap:
            break
        tail.insert(0, sentence)
    return tail if len(tail) < len(current) else []


def _to_chunks(doc: SourceDocument, groups: list[list[tuple[int, int, int]]]) -> list[Chunk]:
    """Materialise chunk records with content-derived ids (same text, same id)."""
    chunks, seen = [], set()
    for index, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        text = doc.text[start:end]
        chunk_id = _chunk_id(doc.doc_id, text, seen)
        chunks.append(Chunk(chunk_id=chunk_id, doc_id=doc.doc_id, title=doc.title, source=doc.source,
                            text=text, start=start, end=end, paragraph=group[0][2], index=index,
                            page=bisect_right(doc.page_starts, start)))
    return chunks


def _chunk_id(doc_id: str, text: str, seen: set[str]) -> str:
    """Hash of the document id and chunk text, disambiguated when the same text repeats."""
    digest = hashlib.sha256(f"{doc_id}\n{text}".encode()).hexdigest()[:20]
    chunk_id, n = f"{doc_id}:{digest}", 1
    while chunk_id in seen:
        n += 1
        chunk_id = f"{doc_id}:{digest}-{n}"
    seen.add(chunk_id)
    return chunk_id
