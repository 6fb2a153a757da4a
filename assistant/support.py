"""The deterministic, offline support check shared by citation verification and the eval suite.

A sentence is supported by a passage when either
  1. the sentence (whitespace collapsed, citation markers removed) occurs verbatim in the passage, or
  2. at least SUPPORT_RECALL of the sentence's distinct content terms (stop words removed, lightly stemmed)
     occur in the passage, and every number in the sentence occurs in the passage too.
It is lexical on purpose: same inputs, same verdict, no model, and a fabricated entity or figure fails it.
"""

from __future__ import annotations

import re

from .text import collapse, numbers, terms

SUPPORT_RECALL = 0.7
_MARKER = re.compile(r"\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]|【\d+】)")


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
