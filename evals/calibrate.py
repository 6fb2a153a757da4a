"""Calibrate the extractive answerer's refusal threshold (ASSISTANT_MIN_EVIDENCE) on an eval suite.

For every question it records the evidence score (the best sentence score) once, then sweeps thresholds and
prints refusal precision/recall/accuracy at each; the chosen threshold maximises accuracy, ties going to the
lower threshold (answering is preferred when the two are equally good). Usage:
    python evals/calibrate.py [SUITE] [--weight 0.6]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from assistant.chain import build_assistant
from assistant.evaluate import DEFAULT_SUITE, load_suite
from assistant.metrics import refusal_scores
from assistant.settings import Settings


def evidence_scores(suite_path: Path, weight: float) -> list[tuple[float, bool, str]]:
    """(evidence score, answerable, id) per question, with refusal switched off."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, data_dir=Path(tmp), min_evidence=-1.0)
        assistant = build_assistant(settings)
        assistant.answerer.semantic_weight = weight
        assistant.ensure_corpus()
        suite = load_suite(suite_path)
        return [(assistant.ask(q.question).evidence_score, q.answerable, q.id) for q in suite.questions]


def sweep(scores: list[tuple[float, bool, str]]) -> list[tuple[float, dict]]:
    """Refusal scores for each candidate threshold between 0.20 and 0.70."""
    answerable = [a for _, a, _ in scores]
    rows = []
    for step in range(20, 71):
        threshold = step / 100
        rows.append((threshold, refusal_scores([s < threshold for s, _, _ in scores], answerable)))
    return rows


def main() -> None:
    """Print the per-question scores, the sweep and the best threshold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", type=Path, default=DEFAULT_SUITE)
    parser.add_argument("--weight", type=float, default=0.6, help="semantic weight of the sentence score")
    args = parser.parse_args()
    scores = evidence_scores(args.suite, args.weight)
    for score, answerable, qid in sorted(scores):
        print(f"{score:.3f}  {'answerable  ' if answerable else 'UNANSWERABLE'}  {qid}")
    rows = sweep(scores)
    best = max(rows, key=lambda r: (r[1]["refusal_accuracy"], -r[0]))
    print("\nthreshold  precision  recall  accuracy")
    for threshold, s in rows[::5]:
        print(f"{threshold:.2f}       {s['refusal_precision']:.3f}      {s['refusal_recall']:.3f}   "
              f"{s['refusal_accuracy']:.3f}")
    print(f"\nbest threshold {best[0]:.2f}: accuracy {best[1]['refusal_accuracy']:.3f}, "
          f"precision {best[1]['refusal_precision']:.3f}, recall {best[1]['refusal_recall']:.3f}")


if __name__ == "__main__":
    main()
