"""Calibrate the answerability thresholds on the dev split of every suite, never on the test split.

For each suite under evals/ (a folder with suite.jsonl; its own corpus/ when it has one) the real chain answers
every dev question under each combination of ASSISTANT_MIN_EVIDENCE, ASSISTANT_MIN_KEY_COVERAGE,
ASSISTANT_MIN_SEMANTIC and ASSISTANT_MIN_TYPED_COVERAGE. The chosen combination maximises the balanced accuracy
pooled over all dev questions, (refusal recall + answer rate) / 2, so declining an unanswerable question and
answering an answerable one count the same; ties go to the combination that answers more. Usage:
    python evals/calibrate.py [SUITE_DIR ...]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

from assistant.embeddings import MiniLMEmbeddings
from assistant.evaluate import assistant_for, fill_corpus, load_suite
from assistant.metrics import answer_rate, refusal_scores
from assistant.settings import Settings, default_root

GRID = {"min_evidence": (0.12, 0.17), "min_key_coverage": (0.2, 0.3, 0.4), "min_semantic": (0.4, 0.5, 0.6),
        "min_typed_coverage": (0.3, 0.4, 0.5, 0.6, 0.7)}


def dev_outcomes(suite_dir: Path, data_dir: Path, embeddings: MiniLMEmbeddings) -> dict[tuple, list[tuple]]:
    """(answerable, refused) per dev question, for every threshold combination."""
    suite = load_suite(suite_dir)
    dev = [q for q in suite.questions if q.split == "dev"] or suite.questions
    assistant = assistant_for(suite, Settings.from_env(env={}, data_dir=data_dir), embeddings=embeddings)
    fill_corpus(suite, assistant)
    out = {}
    for combo in itertools.product(*GRID.values()):
        values = dict(zip(GRID, combo, strict=True))
        assistant.answerer.min_evidence = values["min_evidence"]
        assistant.answerability.min_key_coverage = values["min_key_coverage"]
        assistant.answerability.min_semantic = values["min_semantic"]
        assistant.answerability.min_typed_coverage = values["min_typed_coverage"]
        out[combo] = [(q.answerable, assistant.ask(q.question).refused) for q in dev]
    return out


def scores(outcomes: list[tuple]) -> dict[str, float]:
    """Refusal precision/recall, answer rate and balanced accuracy of (answerable, refused) pairs."""
    answerable, refused = [a for a, _ in outcomes], [r for _, r in outcomes]
    refusal = refusal_scores(refused, answerable)
    rate = answer_rate(refused, answerable)
    return {"precision": refusal["refusal_precision"], "recall": refusal["refusal_recall"], "answer_rate": rate,
            "balanced": (refusal["refusal_recall"] + rate) / 2}


def main() -> None:
    """Sweep the grid on every suite's dev split and print the table and the best combination."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = default_root() / "evals"
    parser.add_argument("suites", nargs="*", type=Path,
                        default=sorted(p.parent for p in root.glob("*/suite.jsonl")))
    args = parser.parse_args()
    embeddings = MiniLMEmbeddings()
    pooled: dict[tuple, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suite_dir in args.suites:
            for combo, outcomes in dev_outcomes(suite_dir, Path(tmp), embeddings).items():
                pooled.setdefault(combo, []).extend(outcomes)
    rows = sorted(((scores(o), combo) for combo, o in pooled.items()),
                  key=lambda row: (round(row[0]["balanced"], 6), row[0]["answer_rate"]), reverse=True)
    print("  ".join(f"{k:>12}"[-12:] for k in GRID) + " | refusal P  refusal R  answer rate  balanced")
    for s, combo in rows[:15]:
        print("  ".join(f"{v:>12}" for v in combo) + f" | {s['precision']:.3f}      {s['recall']:.3f}      "
              f"{s['answer_rate']:.3f}        {s['balanced']:.3f}")
    best = dict(zip(GRID, rows[0][1], strict=True))
    print("\nbest on the dev splits: " + ", ".join(f"ASSISTANT_{k.upper()}={v}" for k, v in best.items()))


if __name__ == "__main__":
    main()
