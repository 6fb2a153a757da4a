"""Eval metrics on small hand-made cases whose scores are known."""

import pytest

from assistant import metrics
from assistant.support import strip_markers, support_score, supports

P1 = "Moscow supplied both Armenia and Azerbaijan with large quantities of arms."
P2 = "Russia failed to provide sufficient backing to the Lukashenko regime."
P3 = "The weather in Lisbon was sunny."


def test_recall_and_reciprocal_rank():
    evidence = ["large quantities of arms", "sufficient backing to the\nLukashenko regime"]
    assert metrics.recall_at_k([P3, P1], evidence) == 0.5
    assert metrics.recall_at_k([P1, P3, P2], evidence) == 1.0
    assert metrics.reciprocal_rank([P3, P3, P2], evidence) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank([P3], evidence) == 0.0
    assert metrics.recall_at_k([P3], []) == 1.0


def test_support_check_verbatim_paraphrase_and_invented_numbers():
    assert support_score("Moscow supplied both Armenia and Azerbaijan with large quantities of arms. [1]", P1) == 1.0
    assert supports("Russia supplied Armenia and Azerbaijan with arms.", [P1])
    assert not supports("Moscow supplied Armenia with 300 tanks.", [P1])
    assert not supports("Lisbon had sunny weather and Moscow supplied arms to Azerbaijan.", [P2])
    assert not supports("Anything at all.", [])
    assert strip_markers("A claim [1] with [2, 3] markers 【4】.") == "A claim with markers."


def test_groundedness_and_alce_citation_recall():
    sentences = [("Moscow supplied Armenia and Azerbaijan with arms.", [P1]),
                 ("Russia failed to back the Lukashenko regime sufficiently.", [P3]),
                 ("Lukashenko got insufficient backing from Russia.", [])]
    assert metrics.groundedness(sentences) == pytest.approx(1 / 3)
    assert metrics.citation_recall(sentences) == pytest.approx(1 / 3)
    assert metrics.groundedness([]) == 0.0


def test_alce_citation_precision_counts_irrelevant_citations():
    # sentence 1 cites P1 (supports) and P3 (irrelevant: alone no, and P1 suffices without it) -> 1 of 2
    # sentence 2 cites P2 (supports) -> 1 of 1; total 2 of 3
    sentences = [("Moscow supplied Armenia and Azerbaijan with arms.", [P1, P3]),
                 ("Russia failed to back the Lukashenko regime sufficiently.", [P2])]
    assert metrics.citation_precision(sentences) == pytest.approx(2 / 3)
    # a sentence no citation supports: none of its citations is relevant
    assert metrics.citation_precision([("Something about Lisbon tanks.", [P1])]) == 0.0
    assert metrics.citation_precision([("No citations here.", [])]) == 0.0


def test_token_f1():
    assert metrics.token_f1("The Kremlin backed Lukashenko [1].", "Kremlin backed Lukashenko") == 1.0
    assert metrics.token_f1("Kremlin backed Lukashenko strongly", "Kremlin backed Lukashenko") == pytest.approx(
        2 * 0.75 * 1.0 / 1.75)
    assert metrics.token_f1("", "anything") == 0.0
    assert metrics.token_f1("cats", "dogs") == 0.0


def test_refusal_precision_recall_are_never_nan():
    refused = [True, True, False, False]
    answerable = [False, True, False, True]
    scores = metrics.refusal_scores(refused, answerable)
    assert scores == {"refusal_precision": 0.5, "refusal_recall": 0.5, "refusal_accuracy": 0.5}
    assert metrics.refusal_scores([False, False], [True, False])["refusal_precision"] == 0.0
    assert metrics.refusal_scores([False], [True]) == {"refusal_precision": 1.0, "refusal_recall": 1.0,
                                                        "refusal_accuracy": 1.0}


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert metrics.percentile(values, 50) == 50.0
    assert metrics.percentile(values, 95) == 95.0
    assert metrics.percentile([], 50) == 0.0
