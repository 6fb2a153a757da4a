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
    section: str = ""  # the heading the chunk stands under when it does not begin with one

    def embedded_text(self) -> str:
        """What the vector index embeds: the text under its document title and section heading, so a passage that
        never names its subject ("the October crisis", "it") is still near a question that does."""
        return "\n".join(part for part in (self.title, self.section, self.text) if part)

    def lexical_text(self) -> str:
        """What the lexical index reads: the text under its section heading (not the title, whose words in every
        chunk of a document drown the words that tell its chunks apart)."""
        return "\n".join(part for part in (self.section, self.text) if part)


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A retrieved chunk with how it was found."""

    chunk: Chunk
    score: float
    rank: int
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None

    def trace(self) -> dict:
        """How this passage was found, for the retrieval trace in `--json` and the web chat."""
        c = self.chunk
        return {"rank": self.rank, "doc_id": c.doc_id, "title": c.title, "start": c.start, "end": c.end,
                "score": round(self.score, 5), "dense_score": _round(self.dense_score), "dense_rank": self.dense_rank,
                "lexical_score": _round(self.lexical_score), "lexical_rank": self.lexical_rank}


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
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Check:
    """One answerability check: which one, whether it passed, on which terms, and why (one line)."""

    check: str
    passed: bool
    terms: tuple[str, ...] = ()
    detail: str = ""

    def to_json(self) -> dict:
        """JSON shape shown in `--json` and the web chat's answer details."""
        return {"check": self.check, "passed": self.passed, "terms": list(self.terms), "detail": self.detail}


@dataclass(kw_only=True)
class Draft:
    """An answerer's output, checked for answerability, before citation validation turns it into an Answer."""

    question: str
    text: str
    refused: bool
    passages: list[Passage]
    answerer: str
    evidence_score: float = 0.0
    notice: str = ""
    search_query: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    partial: bool = False
    decision: str = "answered"
    checks: list[Check] = field(default_factory=list)
    unmentioned: list[str] = field(default_factory=list)


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
    partial: bool = False
    decision: str = "answered"
    checks: list[Check] = field(default_factory=list)
    collection: str = ""

    @property
    def verified_sentences(self) -> int:
        """How many answer sentences the support check confirmed (none for a declined or partial answer)."""
        return 0 if self.refused else sum(1 for s in self.sentences if s.supported)

    @property
    def answerability(self) -> dict:
        """The decision and every check behind it, so a user can see why something was declined."""
        return {"decision": self.decision, "partial": self.partial, "reasons": [c.to_json() for c in self.checks]}

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
            "partial": self.partial,
            "answerability": self.answerability,
            "collection": self.collection,
            "retrieval": {"search_query": self.search_query or self.question,
                          "passages": [p.trace() for p in self.passages]},
        }


def _round(value: float | None) -> float | None:
    """Four decimals, keeping None."""
    return None if value is None else round(value, 4)
