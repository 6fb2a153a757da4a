"""Typed records that travel between the stages: source -> chunks -> store -> retrieval -> answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, kw_only=True)
class SourceDocument:
    """A normalised source text with its stable identity."""

    doc_id: str
    title: str
    source: str
    text: str
    sha256: str
    author: str = ""
    page_starts: tuple[int, ...] = ()  # offset in `text` where each page starts (PDF), empty when unpaged


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """A run of whole sentences of one document, with its span in the normalised text."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    paragraph: int
    index: int
    page: int = 0  # page of the chunk's start, from 1; 0 when the source has no pages


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A retrieved chunk with how it was found."""

    chunk: Chunk
    score: float
    rank: int
    dense_score: float | None = None
    lexical_score: float | None = None


@dataclass(frozen=True, kw_only=True)
class Citation:
    """A numbered, quoted passage that backs one or more answer sentences."""

    id: int
    doc_id: str
    source: str
    title: str
    start: int
    end: int
    text: str
    paragraph: int = 0
    score: float = 0.0
    similarity: float = 0.0
    rank: int = 0
    sentences: tuple[tuple[int, int], ...] = ()
    page: int = 0

    def to_json(self) -> dict:
        """Public JSON shape used by the CLI and the web chat ("page" only when the source has pages)."""
        return {
            "id": self.id, "source": self.source, "title": self.title, "doc_id": self.doc_id,
            "start": self.start, "end": self.end, "text": self.text, "paragraph": self.paragraph,
            "score": round(self.score, 4), "similarity": round(self.similarity, 4), "rank": self.rank,
            "highlights": [list(span) for span in self.sentences],
        } | ({"page": self.page} if self.page > 0 else {})


@dataclass(frozen=True, kw_only=True)
class AnswerSentence:
    """One sentence of an answer, the passages it cites and whether they support it."""

    text: str
    citations: tuple[int, ...]
    supported: bool


@dataclass(kw_only=True)
class Answer:
    """The answer to one question: text with [n] markers, or a refusal citing nothing."""

    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    answerer: str = "extractive"
    search_query: str = ""
    evidence_score: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str = ""
    unmentioned: list[str] = field(default_factory=list)

    @property
    def verified_sentences(self) -> int:
        """How many answer sentences the support check confirmed."""
        return sum(1 for s in self.sentences if s.supported)

    def to_json(self) -> dict:
        """The `assistant ask --json` object."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "answerer": self.answerer,
            "search_query": self.search_query or self.question,
            "evidence_score": round(self.evidence_score, 4),
            "sentences": [asdict(s) | {"citations": list(s.citations)} for s in self.sentences],
            "verified_sentences": self.verified_sentences,
            "notice": self.notice,
            "unmentioned": self.unmentioned,
        }
