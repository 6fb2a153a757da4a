"""Answerers: Runnables that turn {question, passages} into a draft whose sentences carry [n] markers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from langchain_core.runnables import RunnableSerializable
from pydantic import ConfigDict

from .embeddings import MiniLMEmbeddings
from .models import Passage
from .prompts import load_prompt
from .text import collapse, numbers, sentence_spans, terms

_NUMERIC_QUESTION = re.compile(
    r"\b(how many|how much|what (date|year|percentage|share)|which (date|year)|in what year|on what date)\b", re.I)


@dataclass(kw_only=True)
class Draft:
    """An answerer's output before citation validation."""

    question: str
    text: str
    refused: bool
    passages: list[Passage]
    answerer: str
    evidence_score: float = 0.0
    notice: str = ""
    search_query: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A sentence of a retrieved passage, located in its document."""

    text: str
    doc_id: str
    start: int
    end: int
    passage: int


def candidate_sentences(passages: list[Passage]) -> list[Candidate]:
    """Sentences of the passages, each attributed to the best-ranked passage containing it; a sentence
    repeated in overlapping chunks or in copies of a document is kept once."""
    seen, out = set(), []
    for number, passage in enumerate(passages, start=1):
        chunk = passage.chunk
        for s, e in sentence_spans(chunk.text):
            text = collapse(chunk.text[s:e])
            if text.lower() not in seen:
                seen.add(text.lower())
                out.append(Candidate(text=text, doc_id=chunk.doc_id, start=chunk.start + s, end=chunk.start + e,
                                     passage=number))
    return out


class ExtractiveAnswerer(RunnableSerializable[dict, Draft]):
    """Picks the passage sentences that best answer the question; refuses on weak evidence. No LLM."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    embeddings: MiniLMEmbeddings
    idf: Callable[[str], float]
    min_evidence: float = 0.17
    max_sentences: int = 3
    semantic_weight: float = 0.6
    name: str = "extractive"

    def invoke(self, input: dict, config=None, **kwargs) -> Draft:
        """Score, select and compose; or refuse when the best evidence is under the threshold."""
        question, passages = input["question"], input["passages"]
        query = input.get("search_query") or question
        candidates = candidate_sentences(passages)
        scores, coverage = self.score(query, candidates)
        evidence = float(scores.max()) if len(candidates) else 0.0
        draft = Draft(question=question, text="", refused=True, passages=passages, answerer=self.name,
                      evidence_score=evidence, search_query=query)
        if evidence < self.min_evidence:
            draft.text = load_prompt("refusal")
            return draft
        chosen = self.select(candidates, scores, coverage)
        draft.text = compose(chosen)
        draft.refused = False
        return draft

    def score(self, query: str, candidates: list[Candidate]) -> tuple[np.ndarray, list[set[str]]]:
        """Per sentence: weighted mix of cosine similarity and IDF-weighted query-term coverage."""
        if not candidates:
            return np.zeros(0), []
        vectors = self.embeddings.encode_cached([query] + [c.text for c in candidates])
        semantic = vectors[1:] @ vectors[0]
        q_terms = set(terms(query))
        weights = {t: self.idf(t) for t in q_terms}
        total = sum(weights.values()) or 1.0
        covered = [q_terms & set(terms(c.text)) for c in candidates]
        lexical = np.array([sum(weights[t] for t in cov) / total for cov in covered])
        scores = self.semantic_weight * semantic + (1 - self.semantic_weight) * lexical
        if wants_number(query):
            scores = scores * np.array([bool(numbers(c.text)) for c in candidates])
        return scores, covered

    def select(self, candidates: list[Candidate], scores: np.ndarray, coverage: list[set[str]]) -> list[Candidate]:
        """Best sentence first, then sentences close in score or adding uncovered query terms."""
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        best = scores[order[0]]
        chosen, covered = [order[0]], set(coverage[order[0]])
        for i in order[1:]:
            if len(chosen) >= self.max_sentences:
                break
            adds_terms = bool(coverage[i] - covered) and scores[i] >= 0.75 * best
            if scores[i] >= 0.9 * best or adds_terms:
                chosen.append(i)
                covered |= coverage[i]
        picked = [candidates[i] for i in chosen]
        return sorted(picked, key=lambda c: (c.passage, c.start))


def wants_number(question: str) -> bool:
    """Questions whose answer must be a figure or date: a sentence without a numeral cannot answer them."""
    return bool(_NUMERIC_QUESTION.search(question))


def compose(chosen: list[Candidate]) -> str:
    """Sentences in reading order, each followed by the [n] of its passage."""
    return " ".join(f"{c.text} [{c.passage}]" for c in chosen)
