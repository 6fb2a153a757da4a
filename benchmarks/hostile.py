"""Figures for text with no full stop (issue 11): a 50 MB single line loaded and chunked, a 5 MB one ingested and
then asked about. Before the chunk cap a 5 MB upload became one 5 MB chunk (10-21 s and 15 MB of JSON per
question); now every chunk is at most chunk size + overlap characters.

    python benchmarks/hostile.py [--ingest-mb 5] [--chunk-mb 50] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORDS = ["moscow", "kremlin", "border", "treaty", "pipeline", "grain", "ruble", "summit", "envoy", "tariff",
         "election", "protest"]
QUESTIONS = ["What about the pipeline treaty?", "What does it say about the ruble and grain?",
             "Which summit envoy is mentioned?", "What about tariffs on grain?", "How did the protest end?"]


def rss_mb() -> float:
    """Resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def one_line_text(n_bytes: int) -> str:
    """Words and commas, no newline and no sentence end."""
    out, size, i = [], 0, 0
    while size < n_bytes:
        word = WORDS[i % len(WORDS)] + ("," if i % 17 == 16 else "")
        out.append(word)
        size += len(word) + 1
        i += 1
    return " ".join(out)[:n_bytes]


def chunk_only(megabytes: float, folder: Path) -> dict:
    """Load and chunk a single-line file of this size (no embedding)."""
    from assistant.chunking import chunk_document
    from assistant.documents import load

    path = folder / "one-line.txt"
    path.write_text(one_line_text(int(megabytes * 1048576) - 64))
    before, began = rss_mb(), time.perf_counter()
    doc = load(path, max_mb=megabytes)
    chunks = chunk_document(doc, size=700, overlap=150)
    seconds = time.perf_counter() - began
    return {"file_mb": megabytes, "chunks": len(chunks), "max_chunk_chars": max(len(c.text) for c in chunks),
            "load_and_chunk_s": round(seconds, 2), "rss_growth_mb": round(rss_mb() - before)}


def ingest_and_ask(megabytes: float, folder: Path) -> dict:
    """Ingest a single-line file of this size, then time questions about it."""
    from assistant.chain import build_assistant
    from assistant.ingest import ingest
    from assistant.settings import Settings

    path = folder / "rant.txt"
    path.write_text(one_line_text(int(megabytes * 1048576)))
    settings = Settings.from_env(env={}, data_dir=folder / "data", knowledge_dir=folder / "none", collection="rant")
    assistant = build_assistant(settings)
    began = time.perf_counter()
    report = ingest([path], store=assistant.store, embeddings=assistant.embeddings)
    ingest_s = time.perf_counter() - began
    assistant.ask(QUESTIONS[0])  # warm: the BM25 index over the new chunks
    times, sizes = [], []
    for question in QUESTIONS * 2:
        began = time.perf_counter()
        answer = assistant.ask(question)
        times.append(time.perf_counter() - began)
        sizes.append(len(json.dumps(answer.to_json())))
    times.sort()
    return {"file_mb": megabytes, "chunks": report.chunks, "ingest_s": round(ingest_s, 1),
            "chunks_per_s": round(report.chunks / ingest_s, 1), "ask_p50_ms": round(1000 * statistics.median(times)),
            "ask_p95_ms": round(1000 * times[int(0.95 * len(times))]), "answer_json_kb_max": round(max(sizes) / 1024),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest-mb", type=float, default=5.0)
    parser.add_argument("--chunk-mb", type=float, default=50.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {"machine": f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
                              f"Python {platform.python_version()}",
                   "chunked": chunk_only(args.chunk_mb, folder), "ingested": ingest_and_ask(args.ingest_mb, folder)}
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
