"""Pure metric functions for the eval suite; each is deterministic and defined for every input (no NaN)."""

from __future__ import annotations

import math
import re
import string
from collections import Counter

from .support import supports
from .text import collapse


def contains(passage: str, evidence: str) -> bool:
    """An evidence string counts as retrieved when a passage contains it (whitespace/case-insensitive)."""
    return collapse(evidence).lower() in collapse(passage).lower()


def recall_at_k(passages: list[str], evidence: list[str]) -> float:
    """Share of evidence strings found in the top-k passages (1.0 when there is no evidence to find)."""
    if not evidence:
        return 1.0
    return sum(any(contains(p, e) for p in passages) for e in evidence) / len(evidence)


def reciprocal_rank(passages: list[str], evidence: list[str]) -> float:
    """1/rank of the first passage containing any evidence string; 0.0 when none does."""
    for rank, passage in enumerate(passages, start=1):
        if any(contains(passage, e) for e in evidence):
            return 1.0 / rank
    return 0.0


def groundedness(sentences: list[tuple[str, list[str]]]) -> float:
    """Share of answer sentences supported by the passages they cite; 0.0 for an empty answer."""
    if not sentences:
        return 0.0
    return sum(supports(s, cited) for s, cited in sentences) / len(sentences)


def citation_recall(sentences: list[tuple[str, list[str]]]) -> float:
    """ALCE citation recall: a sentence counts when it cites something and its citations jointly support it."""
    if not sentences:
        return 0.0
    return sum(bool(cited) and supports(s, cited) for s, cited in sentences) / len(sentences)


def citation_precision(sentences: list[tuple[str, list[str]]]) -> float:
    """ALCE citation precision: a citation is irrelevant when it does not support its sentence alone
    and the sentence's other citations support it without it. 0.0 when nothing is cited."""
    total = relevant = 0
    for sentence, cited in sentences:
        joint = supports(sentence, cited)
        for i, passage in enumerate(cited):
            total += 1
            rest = cited[:i] + cited[i + 1:]
            alone = supports(sentence, [passage])
            relevant += joint and (alone or not supports(sentence, rest))
    return relevant / total if total else 0.0


def _answer_tokens(text: str) -> list[str]:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, no [n] markers."""
    text = re.sub(r"\[\d+\]", " ", text.lower())
    text = "".join(ch for ch in text if ch not in string.punctuation + "“”‘’—–")
    return [t for t in text.split() if t not in {"a", "an", "the"}]


def token_f1(prediction: str, reference: str) -> float:
    """Token-overlap F1 between an answer and the reference answer."""
    pred, ref = _answer_tokens(prediction), _answer_tokens(reference)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def refusal_scores(refused: list[bool], answerable: list[bool]) -> dict[str, float]:
    """Precision/recall of refusing, the positive class being 'the sources do not cover it'.
    With no refusals made, precision is 1.0 only if there was nothing to refuse; likewise recall."""
    tp = sum(r and not a for r, a in zip(refused, answerable, strict=True))
    made, due = sum(refused), sum(not a for a in answerable)
    precision = tp / made if made else float(due == 0)
    recall = tp / due if due else float(made == 0)
    correct = sum(r == (not a) for r, a in zip(refused, answerable, strict=True))
    return {"refusal_precision": precision, "refusal_recall": recall,
            "refusal_accuracy": correct / len(refused) if refused else 1.0}


def answer_rate(refused: list[bool], answerable: list[bool]) -> float:
    """Share of answerable questions that were answered (1.0 when none was answerable)."""
    due = [r for r, a in zip(refused, answerable, strict=True) if a]
    return sum(not r for r in due) / len(due) if due else 1.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]
