"""Example questions for the chat, derived from what is stored: document titles and their headings.

Nothing here knows the corpus: a document with headings gets "What does <title> say about <heading>?",
one without gets the names its title shares with its text (or the names its text mentions most), and one with
none of these "What is <title> about?". A lone document is "the document": its title is on screen already.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .models import Chunk
from .text import STOPWORDS, entities, words

MAX_EXAMPLES = 4
TITLE_CHARS = 48
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")
_MARKDOWN_HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_HEADING_WORDS = 12
_HEADING_CHARS = 80


def short_title(title: str) -> str:
    """A title short enough for a question: the part before a subtitle, else cut on a word boundary."""
    head = re.split(r"\s*[:—|]\s+|\s+[-–]\s+", title.strip(), maxsplit=1)[0]
    title = head if len(head) >= 12 else title.strip()
    if len(title) <= TITLE_CHARS:
        return title
    return title[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def is_heading(block: str) -> bool:
    """One short line, starting like a name and ending without sentence punctuation: how headings look."""
    line = block.strip()
    if not line or "\n" in line or "|" in line or len(line) > _HEADING_CHARS or len(line.split()) > _HEADING_WORDS:
        return False
    return (line[0].isupper() or line[0].isdigit()) and line[-1] not in ".,;:!?"


def headings(chunks: Iterable[Chunk]) -> list[str]:
    """Section headings in reading order: markdown '#' lines, and short title-like paragraphs."""
    found: list[str] = []
    for chunk in chunks:
        found += [m.group(1) for m in _MARKDOWN_HEADING.finditer(chunk.text)]
        found += [b.strip() for b in _BLOCK_BREAK.split(chunk.text) if not b.lstrip().startswith("#") and is_heading(b)]
    return list(dict.fromkeys(h.strip() for h in found if h.strip()))


def title_topics(title: str, chunks: list[Chunk]) -> list[str]:
    """Names in the title that the document's text mentions too, most mentioned first."""
    text = " ".join(c.text for c in chunks)
    names = [n for n in entities(title) if not set(words(n)) <= STOPWORDS]
    counts = {n: text.count(n) for n in dict.fromkeys(names)}
    return [n for n, count in sorted(counts.items(), key=lambda kv: -kv[1]) if count]


def text_topics(chunks: list[Chunk], limit: int = 3) -> list[str]:
    """The names a document's text mentions most (at least twice)."""
    counts: dict[str, int] = {}
    for chunk in chunks:
        for name in entities(chunk.text):
            counts[name] = counts.get(name, 0) + 1
    ranked = sorted((n for n, c in counts.items() if c >= 2), key=lambda n: -counts[n])
    return ranked[:limit]


def document_questions(title: str, chunks: list[Chunk], *, only: bool = False) -> list[str]:
    """Questions about one document, best first (called "the document" when it is the only one): its headings,
    else the names its title shares with its text, else the names its text mentions most, else what it is about."""
    name = "the document" if only else f"“{short_title(title)}”"
    topics = ([h for h in headings(chunks) if h.casefold() != title.casefold()] or title_topics(title, chunks)
              or text_topics(chunks))
    if not topics:
        return [f"What is {name} about?"]
    return [f"What does {name} say about {topic}?" for topic in topics]


def example_questions(documents: list[dict], chunks: list[Chunk], limit: int = MAX_EXAMPLES) -> list[str]:
    """Up to `limit` questions, taking turns across documents (most recently added first)."""
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in sorted(chunks, key=lambda c: (c.doc_id, c.start)):
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    recent = sorted(documents, key=lambda d: d.get("ingested_at", ""), reverse=True)
    queues = [document_questions(d["title"], by_doc.get(d["doc_id"], []), only=len(recent) == 1) for d in recent]
    out: list[str] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        out += [q[turn] for q in queues if turn < len(q)]
    return list(dict.fromkeys(out))[:limit]
