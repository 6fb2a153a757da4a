"""The benchmark harness on the essay: the LangChain baseline, both pipelines scored by the same code, the
stage timers and the generated report (real model, real Chroma; needs the `bench` extra)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("langchain_chroma", reason="the bench extra is not installed: pip install -e '.[bench]'")
pytest.importorskip("langchain_text_splitters", reason="the bench extra is not installed: pip install -e '.[bench]'")

from assistant.documents import load  # noqa: E402
from assistant.evaluate import load_suite, score_question  # noqa: E402
from assistant.ingest import ingest  # noqa: E402
from assistant.store import Store  # noqa: E402
from benchmarks import quality  # noqa: E402
from benchmarks.baseline import CHUNK_SIZE, Baseline, split_files  # noqa: E402
from benchmarks.builds import Build, Corpus  # noqa: E402
from benchmarks.report import write_reports  # noqa: E402

from .conftest import ESSAY, SUITE  # noqa: E402


@pytest.fixture
def baseline(settings, embeddings, tmp_path):
    splits, errors = split_files([settings.knowledge_dir])
    assert not errors
    pipeline = Baseline.open(tmp_path / "baseline", embeddings)
    pipeline.add(splits)
    return pipeline, splits


def test_baseline_splits_like_the_tutorial_and_keeps_exact_spans(baseline):
    _, splits = baseline
    text = load(ESSAY).text
    assert len(splits) >= 2 and all(len(s.page_content) <= CHUNK_SIZE for s in splits)
    for split in splits:
        start = split.metadata["start_index"]
        assert text[start:start + len(split.page_content)] == split.page_content


def test_baseline_answer_is_the_top_k_passages_cited_and_never_a_refusal(baseline):
    pipeline, splits = baseline
    answer = pipeline.ask("What is the capital of Australia?")
    assert not answer.refused
    assert [c.id for c in answer.citations] == list(range(1, min(4, len(splits)) + 1))
    assert [f"[{c.id}]" in answer.text for c in answer.citations] == [True] * len(answer.citations)
    assert answer.timings_ms["total"] >= answer.timings_ms["retrieve"] > 0
    suite = load_suite(SUITE)
    unanswerable = next(q for q in suite.questions if not q.answerable)
    record = score_question(unanswerable, answer)
    assert record["outcome"] == "answered (should refuse)" and record["groundedness"] == 1.0


def test_both_pipelines_are_scored_by_the_same_code(settings, embeddings, baseline, tmp_path):
    ingest([settings.knowledge_dir], store=Store(settings=settings), embeddings=embeddings)
    lines = SUITE.read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if '"answerable": true' in line][:3] + \
        [line for line in lines if '"answerable": false' in line][:2]
    suite = tmp_path / "suite.jsonl"
    suite.write_text("\n".join(picked) + "\n", encoding="utf-8")
    build = Build(pipeline="ours", folder=settings.data_dir.parent, figures={})
    corpus = Corpus(key="k", label="essay", folder=settings.knowledge_dir, suite=suite, source="", identity="",
                    size_mb=0.0)
    ours = quality.ours(build, corpus, embeddings)
    base = quality.Pipeline(name="baseline", ask=baseline[0].ask, rank=baseline[0].retrieve)
    result = quality.compare([ours, base], suite)
    for name in ("ours", "baseline"):
        m = result[name]["metrics"]
        assert m["questions"] == 5 and m["questions_with_evidence"] == 3
        assert {"recall@1", "recall@5", "mrr@5", "groundedness", "citation_precision", "refusal_recall",
                "retrieve_p99_ms", "total_p50_ms"} <= set(m)
        assert 0 <= m["recall@1"] <= m["recall@3"] <= m["recall@5"] <= 1
    assert result["baseline"]["metrics"]["refusal_recall"] == 0.0
    assert result["ours"]["metrics"]["answer_chars_mean"] < result["baseline"]["metrics"]["answer_chars_mean"]


def test_a_pipeline_that_breaks_is_reported_and_the_other_still_measured(baseline, tmp_path):
    def broken(question):
        raise RuntimeError("too many SQL variables\nsecond line")

    lines = SUITE.read_text(encoding="utf-8").splitlines()[:3]
    suite = tmp_path / "suite.jsonl"
    suite.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = quality.compare([quality.Pipeline(name="ours", ask=broken, rank=None),
                              quality.Pipeline(name="baseline", ask=baseline[0].ask, rank=baseline[0].retrieve)], suite)
    assert result["ours"] == {"error": "RuntimeError: too many SQL variables"}
    assert result["baseline"]["metrics"]["questions"] == 3


def test_stage_timers_account_for_a_real_ingest(settings):
    out = subprocess.run([sys.executable, "-m", "benchmarks.stages", "ingest", "--data-dir", str(settings.data_dir),
                          "--knowledge-dir", str(settings.knowledge_dir), str(settings.knowledge_dir)],
                         capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(out.stdout)
    assert figures["chunks"] > 0 and figures["embedded"] == figures["chunks"]
    stages = figures["stages_s"]
    assert stages["embed"] > 0 and stages["chunk"] > 0
    assert 0 <= stages["other"] < 0.5 * figures["seconds"]  # the timed stages account for most of the run


def test_report_lists_targets_and_where_the_baseline_wins(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text("# Benchmarks\n\nKept by hand.\n", encoding="utf-8")
    (tmp_path / "benchmarks" / "RESULTS.md").write_text("## Soak\n\nWritten by hand.\n", encoding="utf-8")
    metrics = {"questions": 2, "recall@1": 0.5, "recall@4": 1.0, "total_p50_ms": 20.0, "retrieve_p50_ms": 5.0,
               "refusal_recall": 0.0}
    build = {"chunks": 3, "embedded": 3, "wall_s": 2.0, "chunks_per_s": 1.5, "raw_encode_chunks_per_s": 2.0,
             "ingest_vs_encode": 0.75, "peak_rss_mb": 300.0}
    part = {"corpus": {"label": "essay in 1 MB", "size_mb": 1.0}, "revision": "abc", "started": "now",
            "load_avg": [1.0], "build": {"ours": build, "baseline": build},
            "quality": {"ours": metrics, "baseline": metrics | {"recall@1": 0.75, "refusal_recall": 0.0}}}
    machine = {"cpu": "test cpu", "cores": 2, "memory_gib": 1, "arch": "x", "python": "3"}
    written = write_reports({"machine": machine, "runs": {"corpus-1mb": part}}, Path(tmp_path))
    doc = (tmp_path / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "Kept by hand." in doc and "test cpu" in doc
    assert "evidence recall@1 0.750 vs ours 0.500" in doc
    assert ("| ingest / raw encode, essay in 1 MB | 75% (1.5 vs 2.0 chunks/s; per CPU second –; the model – of the "
            "wall; peak 300 MB) | >= 80% | NO |") in doc
    assert all(p.is_file() for p in written)
    summary = (tmp_path / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert "Written by hand." in summary and "test cpu" in summary
    write_reports({"machine": machine | {"cpu": "other cpu"}, "runs": {"corpus-1mb": part}}, Path(tmp_path))
    summary = (tmp_path / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    assert summary.count("Written by hand.") == 1 and "other cpu" in summary and "test cpu" not in summary


def test_report_shows_a_baseline_not_run_and_the_hashed_vector_costs(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "benchmarks").mkdir()
    build = {"chunks": 9, "embedded": 4, "wall_s": 2.0, "chunks_per_s": 2.0, "raw_encode_chunks_per_s": 2.0,
             "ingest_vs_encode": 1.0, "peak_rss_mb": 300.0}
    skipped = "not run: above --baseline-max-mb 10"
    part = {"corpus": {"label": "essay in 50 MB", "size_mb": 50.0}, "revision": "abc", "started": "now",
            "load_avg": [1.0], "build": {"ours": build, "baseline": {"error": skipped}},
            "quality": {"ours": {"questions": 2, "total_p50_ms": 40.0}, "baseline": {"error": skipped}}}
    latency = {f"{stage}_p{q}_ms": 10.0 * q for stage in ("retrieve", "total") for q in (50, 95, 99)}
    cold = {"first_s": 3.5, "median_s": 3.25, "min_s": 3.0, "max_s": 4.0, "cpu_median_s": 2.0, "peak_rss_mb": 400.0,
            "stages": {"stages_s": {"imports": 1.0, "model load": 0.5}}}
    hashed = {"corpus": {"label": "essay in 50 MB", "size_mb": 50.0}, "revision": "abc", "started": "now",
              "load_avg": [1.0, 2.0], "warm": latency | {"questions": 2}, "cold_ask": cold,
              "build": build | {"cpu_s": 1.0, "stages_s": {"chunk": 1.0, "store write": 2.5}}}
    machine = {"cpu": "test cpu", "cores": 2, "memory_gib": 1, "arch": "x", "python": "3"}
    write_reports({"machine": machine, "runs": {"corpus-50mb": part}, "hashed": {"corpus-50mb": hashed}},
                  Path(tmp_path))
    doc = (tmp_path / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert f"| essay in 50 MB | baseline | {skipped} |" in doc and "failed" not in doc
    assert "| cold `assistant ask`, essay in 50 MB, hashed vectors (median wall; CPU) | 3.25 s" in doc
    assert "| warm query p50, essay in 50 MB, hashed vectors | 500.0 ms | < 50 ms | NO |" in doc
    assert "| 1.0 | 2.5 |" in doc  # the non-model ingest stages


def test_a_baseline_skipped_this_run_keeps_its_earlier_figures_and_says_from_when():
    from benchmarks.__main__ import with_earlier_baseline

    stamp = {"size_mb": 1}
    earlier = {"corpus": {"stamp": stamp}, "revision": "old1", "started": "yesterday",
               "build": {"ours": {"chunks": 1}, "baseline": {"chunks": 9}}, "quality": {"baseline": {"mrr": 0.5}}}
    skipped = {"error": "not run: above --baseline-max-mb 0"}
    part = {"corpus": {"stamp": stamp}, "revision": "new2", "started": "today",
            "build": {"ours": {"chunks": 2}, "baseline": skipped}, "quality": {"baseline": skipped}}
    kept = with_earlier_baseline(earlier, json.loads(json.dumps(part)))
    assert kept["build"] == {"ours": {"chunks": 2}, "baseline": {"chunks": 9}}
    assert kept["quality"]["baseline"] == {"mrr": 0.5} and kept["baseline_from"]["revision"] == "old1"
    other_corpus = {**earlier, "corpus": {"stamp": {"size_mb": 10}}}
    assert with_earlier_baseline(other_corpus, json.loads(json.dumps(part)))["build"]["baseline"] == skipped
    ran = {**part, "build": {"ours": {"chunks": 2}, "baseline": {"chunks": 8}}}
    assert with_earlier_baseline(earlier, ran)["build"]["baseline"] == {"chunks": 8}  # a fresh run wins
