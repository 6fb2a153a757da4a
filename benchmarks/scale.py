"""Scale benchmark: chunking, ingest, retrieval quality and speed with the essay inside a large real corpus.

Builds (or reuses) a corpus of real documentation prose with `corpus.make_corpus` (stdlib and site-packages
docstrings), adds the essay, and measures with the real model:
- chunking: chunks, distinct chunks, median and mean size against the target;
- ingest: `assistant ingest` in a fresh process, start to end, against the model's raw encode rate on a sample of
  the same chunks, and the ingest process's peak memory;
- a folder of many small files (one paragraph each) ingested the same way;
- the essay suite inside the corpus against the essay alone: evidence recall@1 / recall@k, MRR, retrieval and
  answer latency p50;
- approximate (HNSW) against exact cosine search over the stored vectors: evidence first, top-10 overlap, a
  chunk found by its own vector, and the same results in another process;
- a cold `assistant ask` (fresh process) time and peak memory.

    python benchmarks/scale.py --size-mb 20 --small-files 20000 --json /tmp/scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import make_corpus  # noqa: E402

from assistant.chain import build_assistant  # noqa: E402
from assistant.chunking import chunk_document  # noqa: E402
from assistant.documents import DocumentError, discover, load  # noqa: E402
from assistant.embeddings import MiniLMEmbeddings  # noqa: E402
from assistant.evaluate import DEFAULT_SUITE, load_suite  # noqa: E402
from assistant.metrics import percentile, recall_at_k, reciprocal_rank  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.text import paragraph_spans  # noqa: E402

ESSAY = ROOT / "knowledge" / "russia-crisis-responses.txt"
QUESTION = "How did Russia respond in Belarus?"
ENCODE_SAMPLE = 1000


def machine() -> str:
    """Name the machine the absolute figures belong to."""
    return f"{platform.node()} ({os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()})"


def run(args: list[str]) -> dict:
    """Wall seconds, CPU seconds, peak RSS (MB, from /usr/bin/time: a forked child's own rusage would count the
    benchmark's pages it shared before exec) and stdout of one fresh process."""
    began = time.perf_counter()
    with tempfile.NamedTemporaryFile("r") as usage:
        proc = subprocess.run(["/usr/bin/time", "-o", usage.name, "-f", "%M %U %S", *args], capture_output=True,
                              text=True, cwd=ROOT)
        seconds = time.perf_counter() - began
        if proc.returncode:
            raise RuntimeError(f"{' '.join(args[:6])} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
        peak_kb, user, system = usage.read().split()[-3:]
    return {"seconds": seconds, "cpu_s": float(user) + float(system), "peak_rss_mb": int(peak_kb) / 1024,
            "stdout": proc.stdout}


def assistant_cmd(data_dir: Path, knowledge: Path, *args: str) -> list[str]:
    """`python -m assistant` against one data dir."""
    return [sys.executable, "-m", "assistant", "--data-dir", str(data_dir), "--knowledge-dir", str(knowledge), *args]


def chunk_stats(folder: Path, settings: Settings) -> tuple[dict, list[str]]:
    """Size figures of the chunks the corpus makes, and their distinct texts."""
    sizes, texts = [], {}
    files, _ = discover([folder])
    for path in files:
        try:
            doc = load(path, root=folder)
        except DocumentError:  # ingest reports and skips it too
            continue
        for chunk in chunk_document(doc, size=settings.chunk_size, overlap=settings.chunk_overlap):
            sizes.append(len(chunk.text))
            texts[chunk.chunk_id] = chunk.text
    return {"files": len(files), "chunks": len(sizes), "distinct_chunks": len(texts),
            "median_chars": statistics.median(sizes), "mean_chars": statistics.mean(sizes),
            "median_share_of_target": statistics.median(sizes) / settings.chunk_size}, list(texts.values())


def encode_rate(embeddings: MiniLMEmbeddings, texts: list[str]) -> tuple[float, float]:
    """Chunks per wall second and per CPU second of the model alone, on a fixed sample of the texts."""
    sample = random.Random(0).sample(texts, min(ENCODE_SAMPLE, len(texts)))
    began, cpu = time.perf_counter(), time.process_time()
    embeddings.encode(sample)
    return len(sample) / (time.perf_counter() - began), len(sample) / (time.process_time() - cpu)


def timed_ingest(data_dir: Path, folder: Path, embeddings: MiniLMEmbeddings, texts: list[str]) -> dict:
    """`assistant ingest` in a fresh process, start to end, next to the raw encode rate (before and after).

    Both are also given per CPU second: on a machine shared with other work, the CPU ratio is the steadier one."""
    before = encode_rate(embeddings, texts)
    proc = run(assistant_cmd(data_dir, folder, "ingest", "--no-progress", str(folder)))
    after = encode_rate(embeddings, texts)
    embedded = int(proc["stdout"].split("(")[-1].split()[0])
    raw, raw_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
    return {"summary": proc["stdout"].strip(), "seconds": proc["seconds"], "embedded": embedded,
            "chunks_per_s": embedded / proc["seconds"], "raw_encode_chunks_per_s": raw,
            "ingest_vs_encode": embedded / proc["seconds"] / raw,
            "ingest_vs_encode_cpu": embedded / proc["cpu_s"] / raw_cpu, "peak_rss_mb": proc["peak_rss_mb"]}


def small_files(folder: Path, source: Path, count: int) -> None:
    """`count` one-paragraph files cut from the corpus prose (paragraphs of 200-700 characters)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted(source.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for start, end in paragraph_spans(text):
            if 200 <= end - start <= 700 and written < count:
                (folder / f"note-{written:05d}.txt").write_text(text[start:end] + "\n", encoding="utf-8")
                written += 1
    if written < count:
        raise SystemExit(f"the corpus has only {written} paragraphs of 200-700 characters; use a larger --size-mb")


def suite_figures(settings: Settings, embeddings: MiniLMEmbeddings) -> dict:
    """Evidence recall@1 / recall@k, MRR and latencies of the essay suite against one store."""
    assistant = build_assistant(settings, embeddings=embeddings)
    questions = [q for q in load_suite(DEFAULT_SUITE).questions if q.answerable and q.evidence]
    assistant.ask("warm-up question about Russia")
    rows = []
    for q in questions:
        answer = assistant.ask(q.question)
        texts = [p.chunk.text for p in answer.passages]
        rows.append((recall_at_k(texts[:1], list(q.evidence)), recall_at_k(texts, list(q.evidence)),
                     reciprocal_rank(texts, list(q.evidence)), answer.timings_ms["retrieve"],
                     answer.timings_ms["total"]))
    columns = list(zip(*rows, strict=True))
    return {"questions": len(rows), "recall@1": statistics.mean(columns[0]), "recall@k": statistics.mean(columns[1]),
            "mrr": statistics.mean(columns[2]), "retrieve_p50_ms": percentile(list(columns[3]), 50),
            "answer_p50_ms": percentile(list(columns[4]), 50), "answer_p95_ms": percentile(list(columns[4]), 95)}


def approximate_vs_exact(settings: Settings, embeddings: MiniLMEmbeddings) -> dict:
    """Chroma's HNSW against exact cosine over every stored vector, for the suite's questions and for stored
    chunks; and whether the retriever's dense ranking (the exact saved index) is the same in another process."""
    import numpy as np

    from assistant.metrics import contains
    from assistant.retrieval import HybridRetriever
    from assistant.store import Store

    store = Store(settings=settings)
    ids, texts, blocks = [], [], []
    for page in store.pages(include=["embeddings", "documents"]):
        ids += page["ids"]
        texts += page["documents"]
        blocks.append(np.asarray(page["embeddings"], dtype=np.float32))
    matrix = np.vstack(blocks)
    questions = [q for q in load_suite(DEFAULT_SUITE).questions if q.answerable and q.evidence]
    vectors = embeddings.encode([q.question for q in questions])
    exact = np.argsort(-(vectors @ matrix.T), axis=1, kind="stable")[:, :10]
    hnsw = [[c.chunk_id for c, _ in store.query(v, 10)] for v in vectors]
    position = {chunk_id: i for i, chunk_id in enumerate(ids)}
    sample = random.Random(1).sample(range(len(ids)), min(500, len(ids)))
    retriever = HybridRetriever(store=store, embeddings=embeddings)
    dense = [[c.chunk_id for c, _ in retriever.dense(q.question, 20)] for q in questions]
    return {"stored_vectors": len(ids),
            "evidence_first_exact": _share(any(contains(texts[int(e[0])], x) for x in q.evidence)
                                           for e, q in zip(exact, questions, strict=True)),
            "evidence_first_hnsw": _share(any(contains(texts[position[h[0]]], x) for x in q.evidence)
                                          for h, q in zip(hnsw, questions, strict=True)),
            "hnsw_top10_overlap": statistics.mean(len({ids[j] for j in e} & set(h)) / 10
                                                  for e, h in zip(exact, hnsw, strict=True)),
            "hnsw_found_by_own_vector": _share(store.query(matrix[i], 1)[0][0].chunk_id == ids[i] for i in sample),
            "hnsw_same_in_other_process": _in_new_process(settings, "hnsw", vectors.tolist()) == hnsw,
            "dense_same_in_other_process": _in_new_process(settings, "dense", [q.question for q in questions]) == dense}


def _share(flags) -> float:
    """Share of true values."""
    flags = list(flags)
    return sum(flags) / len(flags)


_OTHER_PROCESS = """
import json, sys
from pathlib import Path
from assistant.embeddings import MiniLMEmbeddings
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.store import Store
store = Store(settings=Settings.from_env(env={}, data_dir=Path(sys.argv[1])))
queries = json.load(sys.stdin)
if sys.argv[2] == "hnsw":
    print(json.dumps([[c.chunk_id for c, _ in store.query(v, 10)] for v in queries]))
else:
    retriever = HybridRetriever(store=store, embeddings=MiniLMEmbeddings())
    print(json.dumps([[c.chunk_id for c, _ in retriever.dense(q, 20)] for q in queries]))
"""


def _in_new_process(settings: Settings, kind: str, queries: list) -> list[list[str]]:
    """Top chunk ids of the same queries, asked by a fresh process (HNSW top 10, or the retriever's dense top 20)."""
    out = subprocess.run([sys.executable, "-c", _OTHER_PROCESS, str(settings.data_dir), kind],
                         input=json.dumps(queries), capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout)


def cold_asks(data_dir: Path, knowledge: Path, runs: int) -> dict:
    """Median wall time and peak memory of a fresh `assistant ask --json`."""
    results = [run(assistant_cmd(data_dir, knowledge, "ask", "--json", QUESTION)) for _ in range(runs)]
    return {"cold_ask_s_median": statistics.median(r["seconds"] for r in results),
            "cold_ask_s_min": min(r["seconds"] for r in results),
            "cold_ask_peak_rss_mb": max(r["peak_rss_mb"] for r in results)}


def main() -> None:
    """Run every measurement and print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, default=20.0)
    parser.add_argument("--small-files", type=int, default=20000, help="0 skips the small-files ingest")
    parser.add_argument("--work", type=Path, default=Path("/tmp/assistant-scale"), help="corpus and stores go here")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = {"machine": machine(), "size_mb": args.size_mb}
    corpus = args.work / f"corpus-{args.size_mb:g}mb"
    figures["corpus"] = make_corpus(args.size_mb, corpus)
    shutil.copy(ESSAY, corpus / ESSAY.name)
    shutil.copy(ESSAY.with_name("russia-crisis-responses.meta.json"), corpus)
    embeddings = MiniLMEmbeddings()
    settings = Settings.from_env(env={}, data_dir=args.work / f"data-{args.size_mb:g}mb", knowledge_dir=corpus)
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    figures["chunking"], texts = chunk_stats(corpus, settings)
    figures["ingest"] = timed_ingest(settings.data_dir, corpus, embeddings, texts)
    figures |= cold_asks(settings.data_dir, corpus, args.cold_runs)
    essay_only = Settings.from_env(env={}, data_dir=args.work / "data-essay", knowledge_dir=ROOT / "knowledge")
    shutil.rmtree(essay_only.data_dir, ignore_errors=True)
    figures["suite_essay_only"] = suite_figures(essay_only, embeddings)
    figures["suite_in_corpus"] = suite_figures(settings, embeddings)
    figures["hnsw"] = approximate_vs_exact(settings, embeddings)
    if args.small_files:
        figures["small_files"] = small_files_ingest(args, corpus, embeddings)
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def small_files_ingest(args, corpus: Path, embeddings: MiniLMEmbeddings) -> dict:
    """Ingest of a folder of many one-paragraph files, start to end, against the raw encode rate."""
    folder = args.work / f"small-{args.small_files}"
    if not folder.is_dir():
        small_files(folder, corpus, args.small_files)
    data_dir = args.work / "data-small"
    shutil.rmtree(data_dir, ignore_errors=True)
    texts = [p.read_text(encoding="utf-8").strip() for p in sorted(folder.iterdir())]
    return {"files": args.small_files, **timed_ingest(data_dir, folder, embeddings, texts)}


def print_table(f: dict) -> None:
    """Figures next to their targets."""
    c, i, s, e, h = f["chunking"], f["ingest"], f["suite_in_corpus"], f["suite_essay_only"], f["hnsw"]
    rows = [
        ("corpus", f"{f['corpus']['bytes'] / 1e6:.1f} MB, {c['files']} files", "", None),
        ("chunks (distinct)", f"{c['chunks']} ({c['distinct_chunks']})", "", None),
        ("median / mean chunk", f"{c['median_chars']:.0f} / {c['mean_chars']:.0f} chars",
         ">= 60% of target", c["median_share_of_target"] >= 0.6),
        ("ingest, start to end", f"{i['chunks_per_s']:.1f} chunks/s ({i['seconds']:.0f} s)", "", None),
        ("raw encode rate", f"{i['raw_encode_chunks_per_s']:.1f} chunks/s", "", None),
        ("ingest / raw encode (wall; CPU)", f"{i['ingest_vs_encode']:.0%}; {i['ingest_vs_encode_cpu']:.0%}",
         ">= 80%", i["ingest_vs_encode"] >= 0.8),
        ("ingest peak memory", f"{i['peak_rss_mb']:.0f} MB", "< 1536 MB", i["peak_rss_mb"] < 1536),
        ("essay suite recall@k: alone / in corpus", f"{e['recall@k']:.3f} / {s['recall@k']:.3f}",
         "within 0.05", e["recall@k"] - s["recall@k"] <= 0.05),
        ("essay suite recall@1: alone / in corpus", f"{e['recall@1']:.3f} / {s['recall@1']:.3f}", "", None),
        ("essay suite MRR: alone / in corpus", f"{e['mrr']:.3f} / {s['mrr']:.3f}", "", None),
        ("retrieval p50 in corpus", f"{s['retrieve_p50_ms']:.1f} ms", "", None),
        ("query (answer) p50 / p95 in corpus", f"{s['answer_p50_ms']:.1f} / {s['answer_p95_ms']:.1f} ms",
         "p50 < 100 ms", s["answer_p50_ms"] < 100),
        ("cold `assistant ask` (median)", f"{f['cold_ask_s_median']:.2f} s", "< 3 s", f["cold_ask_s_median"] < 3),
        ("cold ask peak memory", f"{f['cold_ask_peak_rss_mb']:.0f} MB", "", None),
        ("evidence first: exact / HNSW", f"{h['evidence_first_exact']:.2f} / {h['evidence_first_hnsw']:.2f}", "",
         None),
        ("HNSW top-10 overlap with exact", f"{h['hnsw_top10_overlap']:.3f}", "", None),
        ("HNSW: chunk found by its own vector", f"{h['hnsw_found_by_own_vector']:.3f}", "", None),
        ("HNSW: same top 10 in another process", str(h["hnsw_same_in_other_process"]), "", None),
        ("dense retrieval: same top 20 in another process", str(h["dense_same_in_other_process"]), "",
         h["dense_same_in_other_process"]),
    ]
    if "small_files" in f:
        m = f["small_files"]
        rows.append((f"{m['files']} small files: ingest / raw encode",
                     f"{m['ingest_vs_encode']:.0%}; CPU {m['ingest_vs_encode_cpu']:.0%} ({m['chunks_per_s']:.1f} vs "
                     f"{m['raw_encode_chunks_per_s']:.1f} chunks/s, {m['seconds']:.0f} s)", ">= 80%",
                     m["ingest_vs_encode"] >= 0.8))
    print(f"machine: {f['machine']}")
    print("| measure | value | target | met |\n|---|---|---|---|")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'' if met is None else ('yes' if met else 'NO')} |")


if __name__ == "__main__":
    main()
