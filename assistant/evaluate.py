"""Evaluation suites: load JSONL questions, run them through the real chain, score, report, gate."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import metrics
from .settings import default_root

DEFAULT_SUITE = default_root() / "evals" / "russia-crisis" / "suite.jsonl"


class SuiteError(ValueError):
    """A suite file that cannot be read; the message names the file and line."""


@dataclass(frozen=True, kw_only=True)
class Question:
    """One suite entry; unknown fields in the file are ignored."""

    id: str
    question: str
    answerable: bool
    reference: str = ""
    evidence: tuple[str, ...] = ()
    kind: str = ""
    split: str = ""


@dataclass(kw_only=True)
class Suite:
    """Questions plus the thresholds kept beside them (thresholds.json)."""

    name: str
    path: Path
    questions: list[Question]
    thresholds: dict[str, float]

    @property
    def corpus(self) -> Path | None:
        """The suite's own corpus folder (evals/NAME/corpus), or None for a suite over the default knowledge."""
        folder = self.path.parent / "corpus"
        return folder if folder.is_dir() else None


def load_suite(path: Path) -> Suite:
    """Read a suite from a .jsonl file or a folder holding suite.jsonl."""
    path = Path(path)
    file = path / "suite.jsonl" if path.is_dir() else path
    if not file.is_file():
        raise SuiteError(f"{file}: no such suite file")
    questions = [_question(file, n, line) for n, line in enumerate(file.read_text("utf-8").splitlines(), 1)
                 if line.strip()]
    if not questions:
        raise SuiteError(f"{file}: the suite has no questions")
    thresholds_file = file.with_name("thresholds.json")
    thresholds = json.loads(thresholds_file.read_text("utf-8")) if thresholds_file.is_file() else {}
    return Suite(name=file.parent.name, path=file, questions=questions, thresholds=thresholds)


def _question(file: Path, number: int, line: str) -> Question:
    """Parse one JSONL line, with a one-line error naming the line."""
    try:
        data = json.loads(line)
        return Question(id=str(data["id"]), question=str(data["question"]), answerable=bool(data["answerable"]),
                        reference=str(data.get("reference") or ""), evidence=tuple(data.get("evidence") or ()),
                        kind=str(data.get("kind") or ("unanswerable" if not data["answerable"] else "")),
                        split=str(data.get("split") or ""))
    except (ValueError, KeyError, TypeError) as exc:
        raise SuiteError(f"{file}:{number}: invalid suite entry ({exc.__class__.__name__}: {exc})") from None


@dataclass(kw_only=True)
class SuiteResult:
    """Per-question records, aggregate metrics, and the thresholds they missed."""

    suite: str
    answerer: str
    k: int
    records: list[dict] = field(default_factory=list)
    overall: dict[str, float] = field(default_factory=dict)
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    by_split: dict[str, dict[str, float]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line of the headline metrics."""
        o = {k: _num(v) if isinstance(v, float | None) else v for k, v in self.overall.items()}
        return (f"{self.suite} ({len(self.records)} questions, {self.answerer}, k={self.k}): "
                f"recall@k {o['recall@k']}  MRR {o['mrr']}  groundedness {o['groundedness']}  "
                f"citation P/R {o['citation_precision']}/{o['citation_recall']}  token-F1 {o['token_f1']}  "
                f"refusal P/R {o['refusal_precision']}/{o['refusal_recall']}  "
                f"p50 {self.overall['latency_p50_ms']:.0f} ms")


    def split_line(self, scores: dict) -> str:
        """One line of the metrics that decide trust, for one split."""
        return (f"{scores['questions']} questions, refusal P/R {_num(scores['refusal_precision'])}/"
                f"{_num(scores['refusal_recall'])}, answer rate {_num(scores['answer_rate'])}, recall@k "
                f"{_num(scores['recall@k'])}, groundedness {_num(scores['groundedness'])}")


def score_question(q: Question, answer) -> dict:
    """All per-question metrics for one answer; answer-quality metrics are None on refusals (counted apart)."""
    retrieved = [p.chunk.text for p in answer.passages]
    cited = {c.id: c.text for c in answer.citations}
    sentences = [(s.text, [cited[n] for n in s.citations if n in cited]) for s in answer.sentences]
    record = {"id": q.id, "kind": q.kind, "question": q.question, "answerable": q.answerable,
              "refused": answer.refused, "answer": answer.text, "evidence_score": round(answer.evidence_score, 4),
              "latency_ms": round(answer.timings_ms.get("total", 0.0), 2),
              "outcome": _outcome(q.answerable, answer.refused), "notice": answer.notice, "split": q.split,
              "decision": answer.decision, "reasons": [c.to_json() for c in answer.checks if not c.passed],
              "sentences": len(answer.sentences), "verified_sentences": answer.verified_sentences}
    if q.answerable:
        record["recall@k"] = metrics.recall_at_k(retrieved, list(q.evidence))
        record["mrr"] = metrics.reciprocal_rank(retrieved, list(q.evidence))
        record["token_f1"] = 0.0 if answer.refused else metrics.token_f1(answer.text, q.reference)
    if not answer.refused:
        record["groundedness"] = metrics.groundedness(sentences)
        record["citation_precision"] = metrics.citation_precision(sentences)
        record["citation_recall"] = metrics.citation_recall(sentences)
    return record


def _outcome(answerable: bool, refused: bool) -> str:
    """The refusal category of a question: answered, correct refusal, wrong refusal, or missed refusal."""
    return {(True, False): "answered", (False, True): "refused (correct)",
            (True, True): "refused (should answer)", (False, False): "answered (should refuse)"}[(answerable, refused)]


def aggregate(records: list[dict]) -> dict[str, float]:
    """Means over the questions each metric applies to, refusal scores, outcome counts, latency."""
    out = {}
    for name in ("recall@k", "mrr", "groundedness", "citation_precision", "citation_recall", "token_f1"):
        values = [r[name] for r in records if name in r]
        out[name] = sum(values) / len(values) if values else None
    refused, answerable = [r["refused"] for r in records], [r["answerable"] for r in records]
    out |= metrics.refusal_scores(refused, answerable)
    out["answer_rate"] = metrics.answer_rate(refused, answerable)
    latencies = [r["latency_ms"] for r in records]
    out["latency_p50_ms"] = metrics.percentile(latencies, 50)
    out["latency_p95_ms"] = metrics.percentile(latencies, 95)
    out["questions"] = len(records)
    out["sentences"] = sum(r.get("sentences", 0) for r in records if not r["refused"])
    out["verified_sentences"] = sum(r.get("verified_sentences", 0) for r in records)
    for outcome in ("answered", "refused (correct)", "refused (should answer)", "answered (should refuse)"):
        out[f"n {outcome}"] = sum(r["outcome"] == outcome for r in records)
    return out


def run_suite(suite: Suite, assistant, *, answerer_name: str | None = None) -> SuiteResult:
    """Ask every question through the assistant's chain and score it against the suite's thresholds."""
    fill_corpus(suite, assistant)
    records = []
    for q in suite.questions:
        records.append(score_question(q, assistant.ask(q.question)))
    result = SuiteResult(suite=suite.name, answerer=answerer_name or _answerer_name(assistant),
                         k=assistant.settings.top_k, records=records, overall=aggregate(records),
                         thresholds=dict(suite.thresholds))
    kinds = sorted({r["kind"] for r in records})
    result.by_kind = {kind: aggregate([r for r in records if r["kind"] == kind]) for kind in kinds}
    splits = sorted({r["split"] for r in records if r["split"]})
    result.by_split = {split: aggregate([r for r in records if r["split"] == split]) for split in splits}
    result.failures = gate(result)
    return result


def fill_corpus(suite: Suite, assistant) -> None:
    """Bring the suite's own corpus (or the default knowledge) into the assistant's collection; unchanged files
    cost nothing."""
    if suite.corpus is None:
        assistant.ensure_corpus()
        return
    from .ingest import ingest

    report = ingest([suite.corpus], store=assistant.store, embeddings=assistant.embeddings)
    if report.errors:
        raise SuiteError(f"{suite.corpus}: {report.errors[0]}")


def gate(result: SuiteResult) -> list[str]:
    """Metrics under their thresholds: flat keys gate the whole suite, a "test"/"dev" object gates that split."""
    failures = []
    for key, value in result.thresholds.items():
        scope, limits = (key, value) if isinstance(value, dict) else ("all", {key: value})
        scores = result.overall if scope == "all" else result.by_split.get(scope, {})
        for metric, threshold in limits.items():
            got = scores.get(metric)
            if got is None or got < threshold:
                where = "" if scope == "all" else f"[{scope}] "
                failures.append(f"{where}{metric} = {_num(got)} < {threshold}")
    return failures


def assistant_for(suite: Suite, settings, *, embeddings=None, llm: str = "extractive", fallback: bool = True):
    """The assistant a suite runs against: its own corpus in its own collection, else the default knowledge."""
    from .chain import build_assistant

    if suite.corpus is not None:
        settings = settings.with_overrides(collection=f"eval-{suite.name}", knowledge_dir=suite.corpus)
    return build_assistant(settings.with_overrides(llm=llm), embeddings=embeddings, fallback=fallback)


def _num(value) -> str:
    """A metric for messages: three decimals, or n/a when no question it applies to was answered."""
    return "n/a" if value is None else f"{value:.3f}"


def _answerer_name(assistant) -> str:
    """Label of the answerer in use."""
    return getattr(assistant.answerer, "name", None) or type(assistant.answerer).__name__


def write_reports(result: SuiteResult, json_out: Path | None, *, default_dir: Path | None = None,
                  suffix: str = "") -> dict[str, Path]:
    """Write the JSON results and the Markdown report next to them."""
    from .report import markdown_report

    target = _target(json_out, default_dir, suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(asdict(result), indent=1, ensure_ascii=False), encoding="utf-8")
    target.with_suffix(".md").write_text(markdown_report(result), encoding="utf-8")
    return {"json": target, "markdown": target.with_suffix(".md")}


def write_comparison(results: list[SuiteResult], json_out: Path | None, *, default_dir: Path | None = None) -> Path:
    """Write the side-by-side comparison of several answerers next to their reports."""
    from .report import comparison_report

    target = _target(json_out, default_dir, "-comparison").with_suffix(".md")
    target.write_text(comparison_report(results), encoding="utf-8")
    return target


def _target(json_out: Path | None, default_dir: Path | None, suffix: str) -> Path:
    """Where a run's JSON goes: --json OUT (suffixed for extra runs), else results/latest.json."""
    base = Path(json_out) if json_out else (default_dir or DEFAULT_SUITE.parent / "results") / "latest.json"
    return base.with_name(f"{base.stem}{suffix}{base.suffix or '.json'}")
