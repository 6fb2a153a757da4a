"""Our pipeline at a size the real model cannot embed in the time a run has: the same corpus ingested with hashed
vectors (tests/hashed_embeddings.py, instant, 384 dimensions), then every other cost measured for real.

At 50 MB the model alone needs ~75,000 distinct chunks x ~6 GFLOP: over an hour on two free cores, hours on a
shared machine. With hashed vectors the store has the same chunks, the same vector matrix size and the same BM25
index, so these hold: the ingest stages other than the model (chunking, store writes, manifest, index builds),
peak memory without the model, a cold `assistant ask` (which loads the real model to embed the question) and warm
retrieval and answer latency over the essay suite's questions. Rankings do not hold (hashed document vectors
against model question vectors), so no recall or answer quality comes from this part.
"""

from __future__ import annotations

import json
import time

from .builds import Build, Corpus
from .common import CACHE, clean_env, fingerprint, python, run
from .common import OUR_BUILD_CODE as CODE

LATENCY_KEYS = ("retrieve_p50_ms", "retrieve_p95_ms", "retrieve_p99_ms", "total_p50_ms", "total_p95_ms",
                "total_p99_ms")


def build(corpus: Corpus, *, log=print) -> Build:
    """The cached hashed-vector store of this corpus, built (stage-timed, in a fresh process) when missing."""
    folder = CACHE / "stores" / f"{corpus.key}-hashed-{fingerprint(corpus.identity, 'hashed', files=CODE)}"
    record = folder / "build.json"
    if record.is_file():
        return Build(pipeline="ours", folder=folder, figures=json.loads(record.read_text()) | {"cached": True})
    log(f"building the hashed-vector store of {corpus.label} ...")
    target = Build(pipeline="ours", folder=folder, figures={})
    proc = run(python("-m", "benchmarks.stages", "ingest", "--hashed-vectors", "--data-dir", str(target.data_dir),
                      "--knowledge-dir", str(corpus.folder), str(corpus.folder)), env=clean_env())
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures |= {"wall_s": proc.seconds, "cpu_s": proc.cpu_s, "peak_rss_mb": proc.peak_rss_mb,
                "built": time.strftime("%Y-%m-%d %H:%M:%S")}
    record.write_text(json.dumps(figures, indent=1))
    log(f"  {figures['chunks']} chunks ({figures['embedded']} distinct) in {proc.seconds:.0f} s, "
        f"peak {proc.peak_rss_mb:.0f} MB")
    return Build(pipeline="ours", folder=folder, figures=figures | {"cached": False})


def part(corpus: Corpus, *, cold_runs: int, log=print) -> dict:
    """Build, cold asks and warm latency of our pipeline on the hashed-vector store of the corpus."""
    from assistant.embeddings import MiniLMEmbeddings

    from . import quality, speed

    made = build(corpus, log=log)
    log(f"{corpus.label} (hashed vectors): warm latency, then cold asks")
    pipeline = quality.ours(made, corpus, MiniLMEmbeddings())
    compared = quality.compare([pipeline], corpus.suite)["ours"]
    if "error" in compared:
        raise RuntimeError(compared["error"])
    warm = {k: compared["metrics"][k] for k in LATENCY_KEYS} | {"questions": len(compared["records"])}
    del pipeline
    cold = speed.cold_ask(made, corpus.folder, runs=cold_runs)
    return {"build": made.figures, "warm": warm, "cold_ask": cold}
