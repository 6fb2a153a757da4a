"""The deterministic, offline support check shared by citation verification and the eval suite.

A sentence is supported by a passage when either
  1. the sentence (whitespace collapsed, citation markers removed) occurs verbatim in the passage, or
  2. at least SUPPORT_RECALL of the sentence's distinct content terms (stop words removed, lightly stemmed)
     occur in the passage, and every number in the sentence occurs in the passage too.
It is lexical on purpose: same inputs, same verdict, no model, and a fabricated entity or figure fails it.
"""

from __future__ import annotations

import re

from .text import collapse, numbers, sentence_spans, terms

SUPPORT_RECALL = 0.7
_MARKER = re.compile(r"\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]|【\d+】)")
_CLAUSE_END = ".!?;:…\"”’)"
_MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]|【(\d+)】|\[\^(\d+)\]")


def parse_markers(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into sentences, each with the passage numbers its markers name, in order."""
    blanked = _MARKERS.sub(lambda m: " " * len(m.group(0)), text)
    spans = [piece for span in sentence_spans(blanked) for piece in _after_markers(text, blanked, *span)]
    markers = [(m.start(), [int(n) for n in re.findall(r"\d+", m.group(0))]) for m in _MARKERS.finditer(text)]
    out = []
    for i, (start, end) in enumerate(spans):
        limit = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        cited = [n for pos, ns in markers if start <= pos < limit for n in ns]
        sentence = re.sub(r"\s+([.,;:!?])", r"\1", collapse(blanked[start:end]))
        out.append((sentence, list(dict.fromkeys(cited))))
    return [(s, c) for s, c in out if s]


def _after_markers(text: str, blanked: str, start: int, end: int) -> list[tuple[int, int]]:
    """A span cut after each marker that follows the end of a clause (". [1]", "; [2]"): what comes next is another
    quoted piece even when it starts in lower case, as a list item does ("workers at the plant;")."""
    pieces, cursor = [], start
    for m in _MARKERS.finditer(text, start, end):
        before, after = blanked[cursor:m.start()].rstrip(), blanked[m.end():end]
        if before[-1:] in _CLAUSE_END and after.strip():
            pieces.append((cursor, len(before) + cursor))
            cursor = m.end() + len(after) - len(after.lstrip())
    pieces.append((cursor, end))
    return [(s, e) for s, e in pieces if blanked[s:e].strip()]


def strip_markers(sentence: str) -> str:
    """The sentence without its [n] citation markers."""
    return collapse(_MARKER.sub("", sentence))


def support_score(sentence: str, passage: str) -> float:
    """Share of the sentence's content terms found in the passage (1.0 for a verbatim quote)."""
    claim = strip_markers(sentence)
    if not claim:
        return 0.0
    if claim.lower() in collapse(passage).lower():
        return 1.0
    claim_terms = set(terms(claim))
    if not claim_terms:
        return 0.0
    if not numbers(claim) <= numbers(passage):
        return 0.0
    return len(claim_terms & set(terms(passage))) / len(claim_terms)


def supports(sentence: str, passages: list[str]) -> bool:
    """Whether the passages, read together, support the sentence."""
    return bool(passages) and support_score(sentence, "\n".join(passages)) >= SUPPORT_RECALL


def attribute(text: str, passages: list[str]) -> str:
    """Give every sentence without a marker the [n] of the passage that best supports it (if any does), so a
    model that writes no markers can still be checked; sentences nothing supports stay unmarked (flagged later)."""
    out = []
    for sentence, cited in parse_markers(text):
        if not cited and passages:
            scores = [support_score(sentence, p) for p in passages]
            best = max(range(len(scores)), key=scores.__getitem__)
            cited = [best + 1] if scores[best] >= SUPPORT_RECALL else []
        out.append(sentence + "".join(f" [{n}]" for n in cited))
    return " ".join(out)
