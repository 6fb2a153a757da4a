"""Markdown rendering of an eval run: headline table with thresholds, per kind, per question."""

from __future__ import annotations

_HEADLINE = ("recall@k", "mrr", "groundedness", "citation_precision", "citation_recall", "token_f1",
             "refusal_precision", "refusal_recall", "refusal_accuracy", "latency_p50_ms", "latency_p95_ms")
_PER_QUESTION = ("recall@k", "mrr", "groundedness", "citation_precision", "citation_recall", "token_f1")


def _fmt(value) -> str:
    """Numbers to 3 decimals, absent values as a dash."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_report(result) -> str:
    """The whole report as Markdown text."""
    o = result.overall
    lines = [f"# Eval report: {result.suite}", "",
             f"Answerer: `{result.answerer}`, k = {result.k}, {o['questions']} questions. "
             f"Outcomes: {o['n answered']} answered, {o['n refused (correct)']} correctly refused, "
             f"{o['n refused (should answer)']} refused but answerable, "
             f"{o['n answered (should refuse)']} answered but unanswerable.", "",
             "| metric | value | threshold | status |", "|---|---|---|---|"]
    for name in _HEADLINE:
        threshold = result.thresholds.get(name)
        status = "" if threshold is None else ("pass" if (o[name] or 0) >= threshold else "**FAIL**")
        lines.append(f"| {name} | {_fmt(o[name])} | {_fmt(threshold)} | {status} |")
    lines += ["", f"Answer sentences accepted (verified against the passages they cite): {o['verified_sentences']} "
              f"of {o['sentences']} in {o['n answered'] + o['n answered (should refuse)']} answered questions.", ""]
    lines += _split_table(result) + _accepted(result)
    lines += ["", "## By kind", "", "| kind | n | " + " | ".join(_HEADLINE[:9]) + " |",
              "|---|---|" + "---|" * 9]
    for kind, agg in result.by_kind.items():
        lines.append(f"| {kind or '(none)'} | {agg['questions']} | " + " | ".join(_fmt(agg[m]) for m in _HEADLINE[:9])
                     + " |")
    lines += ["", "## Per question", "",
              "| id | kind | outcome | evidence | " + " | ".join(_PER_QUESTION) + " | ms |",
              "|---|---|---|---|" + "---|" * (len(_PER_QUESTION) + 1)]
    for r in result.records:
        cells = " | ".join(_fmt(r.get(m)) for m in _PER_QUESTION)
        lines.append(f"| {r['id']} | {r['kind']} | {r['outcome']} | {r['evidence_score']:.3f} | {cells} | "
                     f"{r['latency_ms']:.0f} |")
    lines += ["", "Metric definitions: see docs/evaluation.md. Answer-quality metrics are computed only for "
              "answered questions; refusals are counted in the outcome columns and the refusal scores.", ""]
    return "\n".join(lines)


_COMPARED = ("recall@k", "mrr", "groundedness", "citation_precision", "citation_recall", "token_f1",
             "refusal_precision", "refusal_recall", "refusal_accuracy", "latency_p50_ms", "latency_p95_ms")


def comparison_report(results) -> str:
    """Answerers side by side on the same suite, store and retrieval."""
    head = "| metric | " + " | ".join(f"`{r.answerer}`" for r in results) + " |"
    lines = [f"# Answerers compared: {results[0].suite}", "",
             f"Same suite ({results[0].overall['questions']} questions), store and retrieval (k = {results[0].k}).",
             "", head, "|---|" + "---|" * len(results)]
    for name in _COMPARED:
        lines.append(f"| {name} | " + " | ".join(_fmt(r.overall.get(name)) for r in results) + " |")
    for outcome in ("answered", "refused (correct)", "refused (should answer)", "answered (should refuse)"):
        lines.append(f"| n {outcome} | " + " | ".join(str(r.overall[f"n {outcome}"]) for r in results) + " |")
    lines += ["", "## Per question", "", "| id | " + " | ".join(f"`{r.answerer}`" for r in results) + " |",
              "|---|" + "---|" * len(results)]
    for i, record in enumerate(results[0].records):
        cells = [f"{r.records[i]['outcome']}, F1 {_fmt(r.records[i].get('token_f1'))}, grounded "
                 f"{_fmt(r.records[i].get('groundedness'))}" for r in results]
        lines.append(f"| {record['id']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _split_table(result) -> list[str]:
    """Dev (calibrated on) and test (only scored) side by side."""
    if not result.by_split:
        return []
    names = ("refusal_precision", "refusal_recall", "answer_rate", "recall@k", "groundedness", "token_f1")
    lines = ["## Dev and test splits", "", "| split | n | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    for split, agg in result.by_split.items():
        lines.append(f"| {split} | {agg['questions']} | " + " | ".join(_fmt(agg[m]) for m in names) + " |")
    return lines + [""]


def _accepted(result, limit: int = 5) -> list[str]:
    """A few answers shown verbatim, so a reader sees what was accepted, not only how much."""
    answered = [r for r in result.records if not r["refused"]][:limit]
    if not answered:
        return []
    lines = ["## Accepted answers (verbatim, first few)", ""]
    for r in answered:
        lines += [f"- **{r['id']}** {r['question']}", f"  > {r['answer']}"]
    return lines + [""]
