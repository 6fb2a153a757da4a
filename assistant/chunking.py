"""Documents -> sentence-aligned, overlapping chunks of about the target size whose spans index the source text.

Consecutive short paragraphs are merged up to the target size (a heading always travels with what follows it),
a chunk prefers to end where a paragraph ends, and a run longer than the target (a sentence with no full stop,
a code block) is cut on a word boundary, so no chunk is longer than the target."""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass

from .models import Chunk, SourceDocument
from .text import paragraph_spans, sentence_spans

CHUNKER = 2  # recorded with each document; bump when chunks or their fields change, so ingest redoes them
HEADING_MAX_CHARS = 100
FILL_BEFORE_PARAGRAPH_BREAK = 1 / 3  # close at a paragraph end once this share of the target is filled
_FINAL_PUNCTUATION = tuple(".!?…;,")
_UNDERLINE = re.compile(r"[-=~^*#+]{3,}")
_SENTENCE_INSIDE = re.compile(r"[.!?]\s+[A-Z]")  # a line holding two sentences
_LEAD_IN_WORDS = 6  # a line ending in ":" with more words than this introduces what follows


@dataclass(frozen=True, kw_only=True)
class Unit:
    """The smallest piece a chunk is built from: a sentence, a slice of an over-long one, or a heading glued
    to the sentence after it. Paragraph numbers count from 1."""

    start: int
    end: int
    first: int
    last: int


def split_sentences(doc: SourceDocument) -> list[tuple[int, int, int]]:
    """Every sentence of the document as (start, end, paragraph number from 1)."""
    return [
        (s, e, number)
        for number, (p_start, p_end) in enumerate(paragraph_spans(doc.text), start=1)
        for s, e in sentence_spans(doc.text, p_start, p_end)
    ]


def chunk_document(doc: SourceDocument, *, size: int = 700, overlap: int = 150) -> list[Chunk]:
    """Pack units into chunks of at most `size` characters, repeating up to `overlap` characters of the
    paragraph a chunk breaks inside; a chunk never crosses a page start, so its page is exact."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValueError(f"chunk size {size} and overlap {overlap}: need 0 <= overlap < size")
    paragraphs = paragraph_spans(doc.text)
    groups: list[list[Unit]] = []
    current: list[Unit] = []
    for unit in units(doc.text, paragraphs, size):
        if current and _page(doc, unit.start) != _page(doc, current[0].start):
            groups.append(current)
            current = []
        elif current and _closes_before(current, unit, paragraphs, size):
            groups.append(current)
            current = _overlap_tail(current, unit, overlap, size)
        current.append(unit)
    if current:
        groups.append(current)
    return _to_chunks(doc, groups, headings(doc.text, paragraphs))


def headings(text: str, paragraphs: list[tuple[int, int]]) -> list[tuple[int, str]]:
    """(start, words) of every heading paragraph, its markup ("## ", an underline) left out."""
    found = []
    for start, end in paragraphs:
        if is_heading(text[start:end]):
            found.append((start, text[start:end].strip().split("\n")[0].lstrip("#").strip()))
    return found


def units(text: str, paragraphs: list[tuple[int, int]], size: int) -> list[Unit]:
    """Sentences cut to at most `size` characters, each heading glued to the unit after it when both fit."""
    out: list[Unit] = []
    pending: list[Unit] = []
    for number, (p_start, p_end) in enumerate(paragraphs, start=1):
        heading = number < len(paragraphs) and is_heading(text[p_start:p_end])
        for s, e in sentence_spans(text, p_start, p_end):
            for start, end in _pieces(text, s, e, size):
                unit = Unit(start=start, end=end, first=number, last=number)
                if heading:
                    pending.append(unit)
                    continue
                out += _glue(pending, unit, size)
                pending = []
    return out + pending


def is_heading(paragraph: str) -> bool:
    """A markdown `#` line, an underlined title, or one short line without final punctuation."""
    lines = paragraph.strip().split("\n")
    if len(lines) == 2 and _UNDERLINE.fullmatch(lines[1].strip()):
        return len(lines[0]) <= HEADING_MAX_CHARS
    line = lines[0].strip()
    if len(lines) > 1 or not line or len(line) > HEADING_MAX_CHARS:
        return False
    if line.startswith("#"):
        return True
    if _SENTENCE_INSIDE.search(line) or (line.endswith(":") and len(line.split()) > _LEAD_IN_WORDS):
        return False  # "No one was named. The inquiries went separate ways:" opens a list; it is no title
    return not line.rstrip("\"'”’)]").endswith(_FINAL_PUNCTUATION)


def _glue(headings: list[Unit], unit: Unit, size: int) -> list[Unit]:
    """The headings that fit joined to the unit they introduce; any that do not fit stay separate."""
    for i, heading in enumerate(headings):
        if unit.end - heading.start <= size:
            return headings[:i] + [Unit(start=heading.start, end=unit.end, first=heading.first, last=unit.last)]
    return headings + [unit]


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A span cut into pieces of at most `size` characters, at a line break or space where there is one."""
    pieces = []
    while end - start > size:
        window = text[start + size // 2:start + size + 1]
        cut = window.rfind("\n")
        cut = cut if cut >= 0 else max(window.rfind(" "), window.rfind("\t"))
        cut = start + size // 2 + cut if cut >= 0 else start + size
        pieces.append((start, len(text[start:cut].rstrip()) + start))
        start = cut + len(text[cut:end]) - len(text[cut:end].lstrip())
    return pieces + ([(start, end)] if end > start else [])


def _closes_before(current: list[Unit], unit: Unit, paragraphs: list[tuple[int, int]], size: int) -> bool:
    """Close the chunk when the unit would overflow it, or at a paragraph end once the chunk is well filled
    and the next paragraph would not fit whole."""
    if unit.end - current[0].start > size:
        return True
    if unit.first == current[-1].last:
        return False
    filled = current[-1].end - current[0].start >= FILL_BEFORE_PARAGRAPH_BREAK * size
    return filled and paragraphs[unit.last - 1][1] - current[0].start > size


def _overlap_tail(current: list[Unit], unit: Unit, overlap: int, size: int) -> list[Unit]:
    """Trailing units of the paragraph the next unit continues, within the overlap budget and the size."""
    tail: list[Unit] = []
    for previous in reversed(current):
        if previous.first != unit.first or previous.last != unit.first:
            break
        if current[-1].end - previous.start > overlap or unit.end - previous.start > size:
            break
        tail.insert(0, previous)
    return tail if len(tail) < len(current) else []


def _to_chunks(doc: SourceDocument, groups: list[list[Unit]], heads: list[tuple[int, str]]) -> list[Chunk]:
    """Materialise chunk records; the id depends on the text alone, so equal texts share one stored copy."""
    chunks = []
    starts = [h[0] for h in heads]
    for index, group in enumerate(groups):
        start, end = group[0].start, group[-1].end
        text = doc.text[start:end]
        chunks.append(Chunk(chunk_id=chunk_id(text), doc_id=doc.doc_id, title=doc.title, source=doc.source,
                            text=text, start=start, end=end, paragraph=group[0].first, index=index,
                            page=_page(doc, start), section=_section(heads, starts, start)))
    return chunks


def _section(heads: list[tuple[int, str]], starts: list[int], start: int) -> str:
    """The heading a chunk's text stands under, when the chunk does not begin with a heading of its own: what
    the text is about though it may never say so ("The October crisis" over paragraphs that say "it")."""
    at = bisect_right(starts, start)
    if at == 0 or starts[at - 1] == start:
        return ""
    return heads[at - 1][1]


def _page(doc: SourceDocument, offset: int) -> int:
    """The page (from 1) holding this offset of the text; 0 when the document has no pages."""
    return bisect_right(doc.page_starts, offset)


def chunk_id(text: str) -> str:
    """Content address of a chunk text: identical texts in one collection are stored (and embedded) once; a new
    chunker version gives new ids, so ingest embeds its chunks afresh instead of keeping older vectors."""
    return "c" + hashlib.sha256(f"{CHUNKER}\n{text}".encode()).hexdigest()[:24]
