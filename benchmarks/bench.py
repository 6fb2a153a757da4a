"""Speed and memory targets of the extractive path, measured on this machine in one run.

Prints: cold `assistant ask` wall time, warm query latency p50/p95 over the eval suite, ingest throughput
next to the raw encode rate of the embedding model alone, and peak memory. Targets: cold ask < 3 s,
warm p50 < 50 ms, ingest >= 80% of the raw encode rate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.chain import build_assistant  # noqa: E402
from assistant.chunking import chunk_document  # noqa: E402
from assistant.documents import load  # noqa: E402
from assistant.embeddings import MiniLMEmbeddings  # noqa: E402
from assistant.evaluate import DEFAULT_SUITE, load_suite  # noqa: E402
from assistant.ingest import ingest  # noqa: E402
from assistant.metrics import percentile  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.store import Store  # noqa: E402
from assistant.text import collapse, sentence_spans  # noqa: E402

ESSAY = ROOT / "knowledge" / "russia-crisis-responses.txt"


def machine() -> str:
    """Name the machine the absolute figures belong to."""
    return f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"


def cold_ask(data_dir: Path, runs: int) -> list[float]:
    """Wall time of a fresh `assistant ask --json` process against an ingested store."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir)}
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "How did Russia respond in Belarus?"],
                       env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return times


def warm_latency(assistant, questions: list[str]) -> list[float]:
    """Per-question total latency (ms) of the chain in a warm process."""
    assistant.ask("warm-up question about Russia")
    return [assistant.ask(q).timings_ms["total"] for q in questions]


def synthetic_corpus(folder: Path, documents: int) -> None:
    """Variants of the essay (sentences shuffled per document) so every chunk is new to the store."""
    text = ESSAY.read_text(encoding="utf-8")
    sentences = [collapse(text[s:e]) for s, e in sentence_spans(text)]
    for i in range(documents):
        rng = random.Random(i)
        shuffled = rng.sample(sentences, len(sentences))
        paragraphs = [" ".join(shuffled[j:j + 4]) for j in range(0, len(shuffled), 4)]
        (folder / f"variant-{i:03d}.txt").write_text(f"Variant {i}.\n\n" + "\n\n".join(paragraphs), "utf-8")


def ingest_rate(embeddings: MiniLMEmbeddings, documents: int) -> dict:
    """Chunks/s of a full ingest versus the model encoding the same chunk texts alone (timed before and
    after the ingest and averaged, so neither side gets the warmer machine)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        corpus.mkdir()
        synthetic_corpus(corpus, documents)
        settings = Settings.from_env(env={}, data_dir=Path(tmp) / "data", knowledge_dir=corpus)
        texts = [c.text for path in sorted(corpus.iterdir()) for c in _chunks(path, settings)]
        before = _encode_seconds(embeddings, texts)
        began = time.perf_counter()
        report = ingest([corpus], store=Store(settings=settings), embeddings=embeddings)
        ingest_s = time.perf_counter() - began
        after = _encode_seconds(embeddings, texts)
    return {"chunks": report.chunks, "ingest_chunks_per_s": report.chunks / ingest_s,
            "encode_chunks_per_s": 2 * len(texts) / (before + after)}


def _chunks(path: Path, settings: Settings):
    """The chunks ingest will make of one file."""
    doc = load(path, root=settings.knowledge_dir)
    return chunk_document(doc, size=settings.chunk_size, overlap=settings.chunk_overlap)


def _encode_seconds(embeddings: MiniLMEmbeddings, texts: list[str]) -> float:
    """Wall time of the model alone on these texts."""
    began = time.perf_counter()
    embeddings.encode(texts)
    return time.perf_counter() - began


def main() -> None:
    """Run every measurement and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--documents", type=int, default=40, help="synthetic documents for the ingest rate")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env(env={}, data_dir=Path(tmp) / "data")
        began = time.perf_counter()
        embeddings = MiniLMEmbeddings()
        load_s = time.perf_counter() - began
        assistant = build_assistant(settings, embeddings=embeddings)
        assistant.ensure_corpus()
        cold = cold_ask(settings.data_dir, args.cold_runs)
        suite = load_suite(DEFAULT_SUITE)
        latencies = warm_latency(assistant, [q.question for q in suite.questions])
    rates = ingest_rate(embeddings, args.documents)
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {
        "machine": machine(), "model_load_s": load_s,
        "cold_ask_s_median": statistics.median(cold), "cold_ask_s_min": min(cold),
        "warm_p50_ms": percentile(latencies, 50), "warm_p95_ms": percentile(latencies, 95),
        "questions": len(latencies), **rates,
        "ingest_vs_encode": rates["ingest_chunks_per_s"] / rates["encode_chunks_per_s"],
        "peak_rss_mb_bench": peak_self, "peak_rss_mb_cold_ask": peak_child,
    }
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def print_table(f: dict) -> None:
    """Figures next to their targets."""
    rows = [
        ("cold `assistant ask` (median)", f"{f['cold_ask_s_median']:.2f} s", "< 3 s", f["cold_ask_s_median"] < 3),
        ("warm query latency p50", f"{f['warm_p50_ms']:.1f} ms", "< 50 ms", f["warm_p50_ms"] < 50),
        ("warm query latency p95", f"{f['warm_p95_ms']:.1f} ms", "", None),
        ("ingest throughput", f"{f['ingest_chunks_per_s']:.1f} chunks/s", "", None),
        ("raw encode rate (model alone)", f"{f['encode_chunks_per_s']:.1f} chunks/s", "", None),
        ("ingest / raw encode", f"{f['ingest_vs_encode']:.0%}", ">= 80%", f["ingest_vs_encode"] >= 0.8),
        ("model load", f"{f['model_load_s']:.2f} s", "", None),
        ("peak RSS, cold ask process", f"{f['peak_rss_mb_cold_ask']:.0f} MB", "", None),
        ("peak RSS, benchmark process", f"{f['peak_rss_mb_bench']:.0f} MB", "", None),
    ]
    print(f"machine: {f['machine']}; {f['questions']} suite questions; {f['chunks']} chunks ingested")
    print("| measure | value | target | met |\n|---|---|---|---|")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'' if met is None else ('yes' if met else 'NO')} |")


if __name__ == "__main__":
    main()
