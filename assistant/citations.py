"""Draft -> Answer: parse [n] markers, drop those pointing nowhere, renumber, verify each sentence."""

from __future__ import annotations

import re

from .answer import Draft
from .models import Answer, AnswerSentence, Citation, Passage
from .prompts import load_prompt
from .support import strip_markers, support_score, supports
from .text import collapse, sentence_spans

_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]|【(\d+)】|\[\^(\d+)\]")


def parse(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into sentences, each with the passage numbers its markers name, in order."""
    blanked = _MARKERS.sub(lambda m: " " * len(m.group(0)), text)
    spans = sentence_spans(blanked)
    markers = [(m.start(), [int(n) for n in re.findall(r"\d+", m.group(0))]) for m in _MARKERS.finditer(text)]
    out = []
    for i, (start, end) in enumerate(spans):
        limit = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        cited = [n for pos, ns in markers if start <= pos < limit for n in ns]
        sentence = re.sub(r"\s+([.,;:!?])", r"\1", collapse(blanked[start:end]))
        out.append((sentence, list(dict.fromkeys(cited))))
    return [(s, c) for s, c in out if s]


def verify(draft: Draft, *, strict: bool = False) -> Answer:
    """Validate every citation of a draft and build the typed Answer (or a refusal citing nothing)."""
    answer = Answer(question=draft.question, text=draft.text, refused=draft.refused, passages=draft.passages,
                    answerer=draft.answerer, search_query=draft.search_query, evidence_score=draft.evidence_score,
                    timings_ms=dict(draft.timings_ms), notice=draft.notice)
    if draft.refused:
        return answer
    sentences = [_check(s, cited, draft.passages) for s, cited in parse(draft.text)]
    if strict:
        sentences = [s for s in sentences if s.supported]
    if not sentences or not any(s.citations for s in sentences):
        return _refusal(answer, "the answer cited none of the passages" if sentences else "")
    return _number(answer, sentences)


def _check(sentence: str, cited: list[int], passages: list[Passage]) -> AnswerSentence:
    """Keep markers that name a passage and test the sentence against the passages it cites."""
    valid = tuple(n for n in cited if 1 <= n <= len(passages))
    texts = [passages[n - 1].chunk.text for n in valid]
    return AnswerSentence(text=strip_markers(sentence), citations=valid, supported=supports(sentence, texts))


def _number(answer: Answer, sentences: list[AnswerSentence]) -> Answer:
    """Renumber cited passages 1..m in order of first citation and rewrite the markers to match."""
    order = list(dict.fromkeys(n for s in sentences for n in s.citations))
    new_id = {passage: i for i, passage in enumerate(order, start=1)}
    answer.sentences = [AnswerSentence(text=s.text, citations=tuple(new_id[n] for n in s.citations),
                                       supported=s.supported) for s in sentences]
    answer.text = " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in answer.sentences)
    answer.citations = [_citation(new_id[p], answer.passages[p - 1], answer.sentences) for p in order]
    return answer


def _citation(number: int, passage: Passage, sentences: list[AnswerSentence]) -> Citation:
    """A quoted passage with the spans of its sentences that back the answer, for highlighting."""
    c = passage.chunk
    spans = sentence_spans(c.text)
    highlights = []
    for sentence in (s for s in sentences if number in s.citations):
        scored = [(support_score(sentence.text, c.text[a:b]), a, b) for a, b in spans]
        best = max(scored, default=None)
        if best and best[0] >= 0.5:
            highlights.append((c.start + best[1], c.start + best[2]))
    return Citation(id=number, doc_id=c.doc_id, source=c.source, title=c.title, start=c.start, end=c.end,
                    text=c.text, paragraph=c.paragraph, score=passage.score, rank=passage.rank,
                    similarity=passage.dense_score or 0.0, page=c.page,
                    sentences=tuple(dict.fromkeys(highlights)))


def _refusal(answer: Answer, reason: str) -> Answer:
    """Turn an answer with nothing verifiable into a refusal."""
    answer.refused, answer.text, answer.citations, answer.sentences = True, load_prompt("refusal"), [], []
    answer.notice = reason
    return answer
