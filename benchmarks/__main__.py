"""`python -m benchmarks` (or `make bench`): our pipeline against the LangChain tutorial baseline, and the
speed targets, measured in one run on this machine.

Parts: every suite in evals/ (both pipelines on the suite's corpus), the essay inside 1, 10 and 50 MB of real
prose (the essay suite's questions), start-up before/after, and `assistant serve` under 1/4/16 clients.
Results merge into benchmarks/results.json part by part (so `--sizes 50` alone adds the 50 MB figures), then
docs/benchmarks.md, benchmarks/RESULTS.md and the plots in docs/ are regenerated from it. Needs the `bench`
extra (pip install -e '.[bench]'). Built stores are cached in .bench-cache/ and reused.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .common import ROOT, git_revision, load_average, machine
from .speed import BEFORE_REVISION

RESULTS = ROOT / "benchmarks" / "results.json"
RECORD_KEYS = ("id", "kind", "answerable", "refused", "outcome", "recall@1", "recall@5", "rr@5", "groundedness",
               "citation_precision", "citation_recall", "retrieve_ms", "total_ms", "answer_chars")


def log(message: str) -> None:
    """Progress on stderr, time-stamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def with_earlier_baseline(earlier: dict | None, part: dict) -> dict:
    """A part whose baseline was not run this time keeps the baseline figures of an earlier run on the same corpus
    (the tutorial pipeline does not change), marked with that run's commit and date."""
    skipped = str(part["build"].get("baseline", {}).get("error", "")).startswith("not run")
    kept = (earlier or {}).get("build", {}).get("baseline", {"error": "none"})
    if not skipped or "error" in kept or earlier["corpus"].get("stamp") != part["corpus"].get("stamp"):
        return part
    for key in ("build", "quality", "records", "chunk_chars"):
        if "baseline" in earlier.get(key, {}):
            part.setdefault(key, {})["baseline"] = earlier[key]["baseline"]
    part["baseline_from"] = earlier.get("baseline_from") or {"revision": earlier["revision"],
                                                             "started": earlier["started"]}
    return part


def corpus_part(corpus, embeddings, *, cold_runs: int, baseline_max_mb: float = float("inf")) -> dict:
    """Build (or reuse) both stores of a corpus, compare the pipelines on its questions, time cold asks."""
    from . import builds, quality, speed

    part = {"corpus": {"key": corpus.key, "label": corpus.label, "source": corpus.source,
                       "size_mb": corpus.size_mb, "stamp": corpus.stamp},
            "revision": git_revision(), "started": time.strftime("%Y-%m-%d %H:%M"), "load_avg": [load_average()]}
    made, errors = {}, {}
    if corpus.stamp.get("size_mb", corpus.size_mb) > baseline_max_mb:  # the size asked for: the essay adds a little
        errors["baseline"] = f"not run: above --baseline-max-mb {baseline_max_mb:g}"
    for name in [n for n in builds.PIPELINES if n not in errors]:
        quality.attempt(name, lambda name=name: made.__setitem__(name, builds.build(corpus, name, embeddings, log=log)),
                        errors)
    part["build"] = {name: b.figures for name, b in made.items()} | {n: {"error": e} for n, e in errors.items()}
    part["paths"] = {"knowledge": _relative(corpus.folder), "suite": _relative(corpus.suite)}
    if "ours" in made:
        part["paths"]["ours_data"] = _relative(made["ours"].data_dir)
    log(f"{corpus.label}: asking both pipelines")
    from assistant.embeddings import MiniLMEmbeddings

    makers = {"ours": lambda: quality.ours(made["ours"], corpus, MiniLMEmbeddings()),
              "baseline": lambda: quality.baseline(made["baseline"], MiniLMEmbeddings())}
    pipelines = []
    for name in made:
        quality.attempt(name, lambda name=name: pipelines.append(makers[name]()), errors)
    compared = quality.compare(pipelines, corpus.suite) | {n: {"error": e} for n, e in errors.items()}
    part["quality"] = {name: result.get("metrics") or {"error": result["error"]} for name, result in compared.items()}
    part["records"] = {name: [{k: r.get(k) for k in RECORD_KEYS if k in r} for r in result["records"]]
                       for name, result in compared.items() if "records" in result}
    for name, result in compared.items():
        if "error" in result:
            log(f"{corpus.label}: {name} failed: {result['error']}")
    pipelines.clear()  # let their models and caches go before the cold asks
    part["chunk_chars"] = {name: builds.chunk_sizes(corpus, name) for name in builds.PIPELINES}
    if corpus.key.startswith("suite-"):  # chunking is per document: the essay's chunks are the same in any corpus
        part["evidence_in_one_chunk"] = {name: builds.evidence_coverage(corpus, name) for name in builds.PIPELINES}
    if "ours" in made:
        log(f"{corpus.label}: cold asks")
        cold = {}
        quality.attempt("ours", lambda: cold.update(speed.cold_ask(made["ours"], corpus.folder, runs=cold_runs)),
                        errors)
        part["cold_ask"] = cold or {"error": errors["ours"]}
    part["load_avg"].append(load_average())
    return part


def hashed_part(corpus, *, cold_runs: int) -> dict:
    """Our pipeline's costs other than the model's at a size, on hashed vectors (benchmarks/hashed.py)."""
    from . import hashed, quality

    part = {"corpus": {"key": corpus.key, "label": corpus.label, "source": corpus.source,
                       "size_mb": corpus.size_mb, "stamp": corpus.stamp},
            "revision": git_revision(), "started": time.strftime("%Y-%m-%d %H:%M"), "load_avg": [load_average()]}
    errors: dict[str, str] = {}
    if not quality.attempt("hashed", lambda: part.update(hashed.part(corpus, cold_runs=cold_runs, log=log)), errors):
        log(f"{corpus.label} (hashed vectors) failed: {errors['hashed']}")
        part["error"] = errors["hashed"]
    part["load_avg"].append(load_average())
    return part


def serve_part(key: str, results: dict, *, seconds: float) -> dict:
    """The web chat's cold start and load test against our built store of an earlier part."""
    from assistant.evaluate import load_suite

    from . import load, quality

    part = results["runs"].get(key)
    if not part or not (ROOT / part["paths"].get("ours_data", "-")).is_dir():
        raise SystemExit(f"no built store for {key}: run that part first")
    paths = {name: ROOT / value for name, value in part["paths"].items()}
    questions = [q.question for q in load_suite(paths["suite"]).questions]
    log(f"serve on {part['corpus']['label']}: cold start, then 1/4/16 clients for {seconds:g} s each")
    errors: dict[str, str] = {}
    figures: dict = {}
    if not quality.attempt("serve", lambda: figures.update(load.serve_benchmark(
            paths["ours_data"], paths["knowledge"], questions, seconds=seconds)), errors):
        log(f"serve on {part['corpus']['label']} failed: {errors['serve']}")
        figures = {"error": errors["serve"]}
    return {"corpus": part["corpus"]["label"], "revision": git_revision(), "started": time.strftime("%Y-%m-%d %H:%M"),
            "load_avg": load_average(), **figures}


def _relative(path: Path) -> str:
    """A path under the repository, as stored in the JSON."""
    return str(Path(path).resolve().relative_to(ROOT))


def main() -> None:
    """Run the chosen parts, merge them into results.json and regenerate the reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Our pipeline against the LangChain tutorial baseline, and the speed "
                                                 "targets; see docs/benchmarks.md.")
    parser.add_argument("--sizes", type=float, nargs="*", default=[1, 10, 50],
                        help="the essay inside this many MB of prose (default: 1 10 50; none: skip)")
    parser.add_argument("--hashed-sizes", type=float, nargs="*", default=[],
                        help="also these sizes with hashed vectors: every cost but the model's, no recall "
                             "(benchmarks/hashed.py)")
    parser.add_argument("--baseline-max-mb", type=float, default=float("inf"),
                        help="build and ask the baseline only up to this corpus size (its store is not shared "
                             "between identical chunks: 50 MB is twice our embedding work)")
    parser.add_argument("--skip-suites", action="store_true", help="skip the suites in evals/")
    parser.add_argument("--skip-startup", action="store_true", help="skip the before/after start-up measurements")
    parser.add_argument("--skip-serve", action="store_true", help="skip the web chat cold start and load test")
    parser.add_argument("--serve-on", nargs="*", metavar="PART",
                        help="parts to load-test, e.g. suite-russia-crisis corpus-50mb (default: the essay and the "
                             "largest size)")
    parser.add_argument("--serve-seconds", type=float, default=20.0, help="seconds per load level (default 20)")
    parser.add_argument("--cold-runs", type=int, default=5, help="cold asks per store (default 5)")
    parser.add_argument("--before", default=BEFORE_REVISION, metavar="REV",
                        help="the revision the start-up figures are compared with (default: %(default)s)")
    parser.add_argument("--json", type=Path, default=RESULTS, help="results file to merge into")
    parser.add_argument("--report-only", action="store_true", help="only regenerate the reports from the JSON")
    parser.add_argument("--no-report", action="store_true", help="only write the JSON")
    parser.add_argument("--block", default="results",
                        help="which generated block of docs/benchmarks.md (and plots) the JSON fills (default: the "
                             "main one, which also writes benchmarks/RESULTS.md)")
    args = parser.parse_args()
    results = json.loads(args.json.read_text()) if args.json.is_file() else {}
    results.setdefault("runs", {})
    results.setdefault("serve", {})
    if not args.report_only:
        run_parts(args, results)
    if args.no_report:
        return
    from .report import write_reports

    for path in write_reports(results, ROOT, block=args.block):
        log(f"wrote {path.relative_to(ROOT)}")


def run_parts(args, results: dict) -> None:
    """Every requested part, saving the JSON after each so a long run keeps what it finished."""
    from assistant.embeddings import MiniLMEmbeddings

    from . import builds, speed

    results["machine"] = machine()
    embeddings = MiniLMEmbeddings()
    corpora = [] if args.skip_suites else builds.suite_corpora()
    for corpus in corpora:
        results["runs"][corpus.key] = corpus_part(corpus, embeddings, cold_runs=args.cold_runs)
        save(args.json, results)
    if not args.skip_startup:
        essay = next(c for c in builds.suite_corpora() if c.folder == ROOT / "knowledge")
        log("start-up before/after")
        essay_build = builds.build(essay, "ours", embeddings, log=log)
        results["startup"] = results.get("startup", {}) | speed.before_after(essay_build, essay.folder,
                                                                             revision=args.before)
        results["startup"] |= {"started": time.strftime("%Y-%m-%d %H:%M"), "load_avg": load_average()}
        save(args.json, results)
    for size in sorted(args.sizes):
        corpus = builds.sized_corpus(size)
        results["runs"][corpus.key] = with_earlier_baseline(
            results["runs"].get(corpus.key),
            corpus_part(corpus, embeddings, cold_runs=args.cold_runs, baseline_max_mb=args.baseline_max_mb))
        if "batching" not in results.get("startup", {}):
            log("encode: spinning against sleeping threads, fixed batches against the token budget")
            texts = builds.chunk_texts(corpus, "ours")
            results.setdefault("startup", {})["spinning"] = speed.spinning(texts)
            results["startup"]["batching"] = speed.batching(texts)
        save(args.json, results)
    for size in sorted(args.hashed_sizes):
        corpus = builds.sized_corpus(size)
        results.setdefault("hashed", {})[corpus.key] = hashed_part(corpus, cold_runs=args.cold_runs)
        save(args.json, results)
    if not args.skip_serve:
        sized = sorted((k for k in results["runs"] if k.startswith("corpus-")), key=lambda k: float(k[7:-2]))
        for key in args.serve_on or ["suite-russia-crisis", *sized[-1:]]:
            results["serve"][key] = serve_part(key, results, seconds=args.serve_seconds)
            save(args.json, results)


def save(path: Path, results: dict) -> None:
    """Write the results so far."""
    results["updated"] = time.strftime("%Y-%m-%d %H:%M")
    path.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    log(f"saved {path}")


if __name__ == "__main__":
    main()
