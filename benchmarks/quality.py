"""Both pipelines over the same questions in one process, scored by the same code (assistant.metrics and
assistant.evaluate), question by question, alternating which pipeline goes first so machine load hits both alike.

Per question: `score_question` on the answer (groundedness, citation precision/recall, refusal), evidence recall
at 1/3/k/5 and reciprocal rank over a top-5 retrieval, retrieval and end-to-end latency of the answer call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant import metrics
from assistant.evaluate import Question, aggregate, load_suite, score_question

RANKS = (1, 3, 4, 5)
WARM_UP = "What is this collection of documents about?"


@dataclass(kw_only=True)
class Pipeline:
    """What the comparison needs from a pipeline: answer a question; rank passages for a query."""

    name: str
    ask: object  # question -> assistant.models.Answer with timings_ms["retrieve"] and ["total"]
    rank: object  # (question, n) -> the top-n passages


def ours(build, corpus, embeddings) -> Pipeline:
    """Our chain over our built store (the default collection of the build's data dir)."""
    from assistant.chain import build_assistant
    from assistant.settings import Settings

    settings = Settings.from_env(env={}, data_dir=build.data_dir, knowledge_dir=corpus.folder)
    assistant = build_assistant(settings, embeddings=embeddings)
    return Pipeline(name="ours", ask=assistant.ask,
                    rank=lambda q, n: assistant.retriever.passages(assistant.search_query(q, None), n))


def baseline(build, embeddings) -> Pipeline:
    """The LangChain tutorial pipeline over its built store."""
    from .baseline import Baseline

    pipeline = Baseline.open(build.data_dir, embeddings)
    return Pipeline(name="baseline", ask=pipeline.ask, rank=pipeline.retrieve)


def compare(pipelines: list[Pipeline], suite_path: Path) -> dict[str, dict]:
    """Every question through every pipeline; per-pipeline aggregates and records. A pipeline that raises is
    dropped from the run and its error kept in one line, so the other is still measured."""
    questions = load_suite(suite_path).questions
    records, errors = {p.name: [] for p in pipelines}, {}
    live = [p for p in pipelines if attempt(p.name, lambda p=p: p.ask(WARM_UP), errors)]  # fills caches first
    for i, q in enumerate(questions):
        for pipeline in list(live if i % 2 == 0 else live[::-1]):
            if not attempt(pipeline.name, lambda p=pipeline, q=q: records[p.name].append(score(p, q)), errors):
                live.remove(pipeline)
    out = {p.name: {"metrics": summarise(records[p.name]), "records": records[p.name]} for p in live}
    return out | {name: {"error": message} for name, message in errors.items()}


def attempt(name: str, action, errors: dict[str, str]) -> bool:
    """Run the action; on any failure record it under the pipeline's name (first line) and say so."""
    try:
        action()
        return True
    except Exception as exc:  # a pipeline that breaks at some size is a result to report, not a crash
        errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        return False


def score(pipeline: Pipeline, q: Question) -> dict:
    """One question: the answer scored by assistant.evaluate, plus ranked-retrieval figures and timings."""
    answer = pipeline.ask(q.question)
    record = score_question(q, answer)
    record["retrieve_ms"] = answer.timings_ms.get("retrieve", 0.0)
    record["total_ms"] = answer.timings_ms.get("total", 0.0)
    record["answer_chars"] = 0 if answer.refused else len(answer.text)
    if q.answerable and q.evidence:
        ranked = [p.chunk.text for p in pipeline.rank(q.question, max(RANKS))]
        for n in RANKS:
            record[f"recall@{n}"] = metrics.recall_at_k(ranked[:n], list(q.evidence))
        record["rr@5"] = metrics.reciprocal_rank(ranked, list(q.evidence))
    return record


def summarise(records: list[dict]) -> dict:
    """Aggregates: evaluate.aggregate's answer metrics, ranked recall and MRR, latency percentiles."""
    out = {k: v for k, v in aggregate(records).items() if not k.startswith("recall@") and k != "mrr"}
    ranked = [r for r in records if "rr@5" in r]
    for n in RANKS:
        out[f"recall@{n}"] = _mean([r[f"recall@{n}"] for r in ranked])
    out["mrr@5"] = _mean([r["rr@5"] for r in ranked])
    out["questions_with_evidence"] = len(ranked)
    answered = [r["answer_chars"] for r in records if not r["refused"]]
    out["answer_chars_mean"] = _mean(answered)
    for name in ("retrieve_ms", "total_ms"):
        values = [r[name] for r in records]
        for q in (50, 95, 99):
            out[f"{name.removesuffix('_ms')}_p{q}_ms"] = metrics.percentile(values, q)
    return out


def _mean(values: list[float]) -> float | None:
    """Mean, or None when there is nothing to average."""
    return sum(values) / len(values) if values else None
