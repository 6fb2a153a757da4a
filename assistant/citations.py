"""Draft -> Answer: parse [n] markers, drop those pointing nowhere, renumber, verify each sentence."""

from __future__ import annotations

from .answer import prose_pieces
from .models import Answer, AnswerSentence, Check, Citation, Draft, Passage
from .prompts import load_prompt
from .support import parse_markers, strip_markers, support_score, supports
from .text import sentence_spans

parse = parse_markers


def verify(draft: Draft, *, strict: bool = False) -> Answer:
    """Validate every citation of a draft and build the typed Answer (or a refusal citing nothing); a partial
    answer keeps the passage it quotes but stays declined."""
    answer = Answer(question=draft.question, text=draft.text, refused=draft.refused, passages=draft.passages,
                    answerer=draft.answerer, search_query=draft.search_query, evidence_score=draft.evidence_score,
                    timings_ms=dict(draft.timings_ms), notice=draft.notice, unmentioned=list(draft.unmentioned),
                    partial=draft.partial, decision=draft.decision, checks=list(draft.checks))
    if draft.refused and not draft.partial:
        return answer
    sentences = [_check(s, cited, draft.passages) for s, cited in parse_markers(draft.text)]
    if strict and not draft.partial:
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
    titles = {p: answer.passages[p - 1].chunk.title for p in order}
    several = len({answer.passages[p - 1].chunk.doc_id for p in order}) > 1
    answer.sentences = [AnswerSentence(text=s.text, citations=tuple(new_id[n] for n in s.citations),
                                       supported=s.supported,
                                       source=titles[s.citations[0]] if several and s.citations else "")
                        for s in sentences]
    answer.text = " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in answer.sentences)
    answer.citations = [_citation(new_id[p], answer.passages[p - 1], answer.sentences) for p in order]
    return answer


def _citation(number: int, passage: Passage, sentences: list[AnswerSentence]) -> Citation:
    """A quoted passage with the spans of its sentences that back the answer, for highlighting."""
    c = passage.chunk
    spans = [piece for a, b in sentence_spans(c.text) for piece in prose_pieces(c.text, a, b)]  # list items apart
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
    """Turn an answer with nothing verifiable into a refusal, recording why."""
    answer.refused, answer.text, answer.citations, answer.sentences = True, load_prompt("refusal"), [], []
    answer.partial, answer.decision, answer.notice = False, "declined", reason
    answer.checks.append(Check(check="citations", passed=False, detail=reason or "the answer was empty"))
    return answer
