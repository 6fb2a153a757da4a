"""The extractive answerer: a Runnable that turns {question, passages} into a draft of quoted sentences with [n]."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from langchain_core.runnables import RunnableSerializable
from pydantic import ConfigDict

from .embeddings import MiniLMEmbeddings
from .models import Check, Draft, Passage
from .prompts import load_prompt
from .questions import (
    Profile,
    carries_subject,
    elsewhere,
    holds_attribute,
    name_in,
    opens_with_pronoun,
    profile,
    typed_items,
)
from .text import STOPWORDS, collapse, sentence_spans, surroundings, terms

__all__ = ["Candidate", "Draft", "ExtractiveAnswerer", "candidate_sentences", "compose", "prose_pieces"]
_LIST_MARKER = re.compile(r"^(?:[-*+•▪◦‣]|\d{1,3}[.)])\s+")
_END = ".!?:;,\"”’)"


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A sentence of a retrieved passage, located in its document."""

    text: str
    doc_id: str
    start: int
    end: int
    passage: int


def candidate_sentences(passages: list[Passage]) -> list[Candidate]:
    """Sentences of the passages (headings dropped, list markers cut off), each attributed to the best-ranked
    passage containing it; a sentence repeated in overlapping chunks or in copies of a document is kept once."""
    seen, out = set(), []
    for number, passage in enumerate(passages, start=1):
        chunk = passage.chunk
        for s, e in (piece for span in sentence_spans(chunk.text) for piece in prose_pieces(chunk.text, *span)):
            text = collapse(chunk.text[s:e])
            if text.lower() not in seen:
                seen.add(text.lower())
                out.append(Candidate(text=text, doc_id=chunk.doc_id, start=chunk.start + s, end=chunk.start + e,
                                     passage=number))
    return out


def prose_pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence span cut into prose at its line breaks: markdown headings, title-like lines and front-matter
    rules are dropped, list markers cut off the front, hard-wrapped lines of one sentence kept together."""
    out = []
    for lo, hi, heading in _pieces(text, start, end):
        stripped = text[lo:hi].strip()
        if not stripped or heading or stripped.startswith("---"):
            continue
        lead = len(text[lo:hi]) - len(text[lo:hi].lstrip())
        marker = _LIST_MARKER.match(stripped)
        out.append((lo + lead + (marker.end() if marker else 0), hi))
    return out


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """Lines of the span as (start, end, is_heading), rejoined where a line simply continues the previous one."""
    lines, cursor = [], start
    for line in text[start:end].split("\n"):
        lines.append((cursor, cursor + len(line)))
        cursor += len(line) + 1
    pieces: list[tuple[int, int, bool]] = []
    for n, (lo, hi) in enumerate(lines):
        line = text[lo:hi].strip()
        following = text[lines[n + 1][0]:lines[n + 1][1]].strip() if n + 1 < len(lines) else None
        begins_line = text[:lo].rstrip(" \t")[-1:] in ("", "\n")  # a heading never starts after a sentence's end
        heading = line.startswith("#") or (begins_line and _title_like(line, following))
        if not pieces or heading or pieces[-1][2] or _LIST_MARKER.match(line):
            pieces.append((lo, hi, heading))
        else:
            pieces[-1] = (pieces[-1][0], hi, False)
    return pieces


def _title_like(line: str, following: str | None) -> bool:
    """A heading in plain text: a short line with no final punctuation, not ending on a function word, followed by
    a line that starts a new sentence (or, as the last line, written in title case)."""
    tokens = line.split()
    if not 0 < len(tokens) <= 12 or line[-1:] in _END or _LIST_MARKER.match(line) or tokens[-1].lower() in STOPWORDS:
        return False
    if following is None:
        return sum(t[:1].isupper() for t in tokens) >= max(1, len(tokens) // 2) and len(tokens) > 1
    return following[:1].isupper() or following[:1].isdigit() or bool(_LIST_MARKER.match(following))


class ExtractiveAnswerer(RunnableSerializable[dict, Draft]):
    """Picks the passage sentences that best answer the question; refuses on weak evidence. No LLM."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    embeddings: MiniLMEmbeddings
    idf: Callable[[str], float]
    min_evidence: float = 0.12
    max_sentences: int = 3
    semantic_weight: float = 0.6
    subject_match: float = 0.6
    name: str = "extractive"

    def invoke(self, input: dict, config=None, **kwargs) -> Draft:
        """Score, select and compose; or refuse when the best evidence is under the threshold."""
        question, passages = input["question"], input["passages"]
        query = input.get("search_query") or question
        candidates = candidate_sentences(passages)
        prof = profile(query, self.idf)
        on_subject = [self.about(prof, c.text, _context(passages[c.passage - 1], c.text)) for c in candidates]
        scores, coverage = self.score(query, candidates, only=on_subject if any(on_subject) else None)
        evidence = float(scores.max()) if len(candidates) else 0.0
        scores = self.prefer_typed(scores, candidates, prof, query)
        draft = Draft(question=question, text=load_prompt("refusal"), refused=True, passages=passages,
                      answerer=self.name, evidence_score=evidence, search_query=query, decision="declined")
        passed = evidence >= self.min_evidence
        draft.checks.append(Check(check="evidence", passed=passed, detail=f"best sentence scores {evidence:.2f}; "
                                  f"the threshold is {self.min_evidence:.2f}"))
        if passed:
            chosen = with_antecedents(self.select(candidates, scores, coverage, on_subject), candidates, scores,
                                      passages, self.max_sentences)
            draft.text = compose(self.cover_subjects(prof, chosen, candidates, scores, passages))
            draft.refused, draft.decision = False, "answered"
        return draft

    def about(self, prof: Profile, sentence: str, context: str) -> bool:
        """Whether a sentence is about the question's subject: it carries it, or it gives the asked attribute in a
        passage naming the subject and names nothing else ("Close to one million people ... live there" for its
        population; not "In Ostrana ... a turnout of 61 percent" under a title naming Valdoria)."""
        if carries_subject(prof, sentence, context, close=self.close):
            return True
        named = set(terms(context))
        return bool(prof.attribute and prof.subjects and holds_attribute(prof.attribute, sentence)
                    and any(name_in(n, named) for n in prof.subjects) and not elsewhere(sentence, prof))

    def close(self, wanted: list[str], sentence: str) -> bool:
        """Whether the sentence holds a word close in meaning to one of the wanted key words."""
        return self.embeddings.close_word(wanted, sentence, self.subject_match)

    def score(self, query: str, candidates: list[Candidate], *,
              only: list[bool] | None = None) -> tuple[np.ndarray, list[set[str]]]:
        """Per sentence: weighted mix of cosine similarity and IDF-weighted query-term coverage. With `only`, the
        sentences it leaves out (those not about the question's subject, which are never quoted when some are)
        score -inf without being embedded: the model is most of a question's time."""
        if not candidates:
            return np.zeros(0), []
        keep = [i for i in range(len(candidates)) if only is None or only[i]]
        vectors = self.embeddings.encode_cached([query] + [candidates[i].text for i in keep])
        semantic = np.full(len(candidates), -np.inf)
        semantic[keep] = vectors[1:] @ vectors[0]
        q_terms = set(terms(query))
        weights = {t: self.idf(t) for t in q_terms}
        total = sum(weights.values()) or 1.0
        covered = [q_terms & set(terms(c.text)) for c in candidates]
        lexical = np.array([sum(weights[t] for t in cov) / total for cov in covered])
        return self.semantic_weight * semantic + (1 - self.semantic_weight) * lexical, covered

    @staticmethod
    def prefer_typed(scores: np.ndarray, candidates: list[Candidate], prof: Profile, query: str) -> np.ndarray:
        """For a question wanting a number, date, name..., sentences holding none rank as if half as close; for one
        asking an attribute ("its population"), sentences giving it come first."""
        if not candidates:
            return scores
        if prof.kind:
            typed = np.array([bool(typed_items(c.text, prof.kind, query)) for c in candidates])
            scores = scores * (0.5 + 0.5 * typed)
        if prof.attribute:  # a sentence giving the asked attribute outranks any that does not
            named = np.array([holds_attribute(prof.attribute, c.text) for c in candidates])
            scores = scores * np.where(named, 1.0, 0.1 if named.any() else 1.0)
        return scores

    def select(self, candidates: list[Candidate], scores: np.ndarray, coverage: list[set[str]],
               on_subject: list[bool]) -> list[Candidate]:
        """Best sentence first, then sentences close in score or adding uncovered query terms; only sentences
        that carry the question's subject, when any does."""
        order = [int(i) for i in np.argsort(-scores, kind="stable")]
        if any(on_subject):
            order = [i for i in order if on_subject[i]]
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


    def cover_subjects(self, prof: Profile, chosen: list[Candidate], candidates: list[Candidate], scores: np.ndarray,
                       passages: list[Passage]) -> list[Candidate]:
        """For a question about several things ("in Belarus and in Kyrgyzstan"), bring in the best sentence naming
        each subject the chosen passages do not mention yet, dropping the weakest others to stay within
        max_sentences."""
        rank = {c: scores[i] for i, c in enumerate(candidates)}
        added: list[Candidate] = []
        for name in prof.subjects:
            context = set(terms(" ".join(_context(passages[c.passage - 1], c.text) for c in chosen + added)))
            holders = [c for c in candidates if name_in(name, set(terms(c.text)))]
            if holders and not name_in(name, context):
                added.append(max(holders, key=rank.__getitem__))
        kept = sorted((c for c in chosen if c not in added), key=rank.__getitem__, reverse=True)
        picked = (added + kept)[:max(self.max_sentences, len(added))]
        return sorted(dict.fromkeys(picked), key=lambda c: (c.passage, c.start))


def with_antecedents(chosen: list[Candidate], candidates: list[Candidate], scores: np.ndarray,
                     passages: list[Passage], limit: int) -> list[Candidate]:
    """A sentence opening with a pronoun ("They are the Aleut ...") is quoted with the sentence before it in its
    paragraph, which says what the pronoun stands for: brought in for the best sentence (the weakest other one
    making room), otherwise (or when its passage starts with it) the pronoun sentence is left out."""
    rank = {c: scores[i] for i, c in enumerate(candidates)}
    best = max(chosen, key=rank.__getitem__)
    kept = list(chosen)
    for c in chosen:
        before = _antecedent(c, candidates, passages)
        if not opens_with_pronoun(c.text) or before in kept or (before is None and c is best):
            continue
        if c is best:
            others = sorted((o for o in kept if o is not best), key=rank.__getitem__)
            kept = [o for o in kept if len(kept) < limit or o is not others[0]] if others else kept
            kept.append(before)
        else:
            kept.remove(c)
    return sorted(kept, key=lambda c: (c.passage, c.start))


def _antecedent(sentence: Candidate, candidates: list[Candidate], passages: list[Passage]) -> Candidate | None:
    """The sentence right before this one in the same paragraph of its document, if its passage shows both (the
    candidate may be credited to another passage holding the same sentence)."""
    chunk = passages[sentence.passage - 1].chunk
    earlier = [c for c in candidates if c.doc_id == sentence.doc_id and chunk.start <= c.start and
               c.end <= sentence.start]
    if not earlier:
        return None
    before = max(earlier, key=lambda c: c.start)
    between = chunk.text[before.end - chunk.start:sentence.start - chunk.start]
    return None if "\n\n" in between or between.strip() else before


def compose(chosen: list[Candidate]) -> str:
    """Sentences in reading order, each followed by the [n] of its passage."""
    return " ".join(f"{c.text} [{c.passage}]" for c in chosen)


def _context(passage: Passage, sentence: str) -> str:
    """What a sentence is about: its document's title and the paragraph (with headings) it stands in."""
    return f"{passage.chunk.title}\n{surroundings(passage.chunk.text, sentence)}"
