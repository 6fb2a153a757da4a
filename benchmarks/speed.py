"""Start-up costs a user feels, in fresh processes: `assistant --help` and a cold `assistant ask`, each for the
code as it is and for an earlier revision (extracted with `git archive`), alternating runs so both see the same
machine load; and a cold ask per built store with its stages timed apart (benchmarks/stages.py).
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from .common import CACHE, QUESTION, ROOT, clean_env, python, run

BEFORE_REVISION = "dfffb78"  # main before issue 10's start-up work: the CLI imported the chat-model stack


def revision_tree(revision: str) -> Path:
    """The `assistant` package of an earlier revision, extracted once under the cache."""
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = CACHE / f"tree-{commit}"
    if not (folder / "assistant" / "__init__.py").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as archive:
            subprocess.run(["git", "archive", commit, "assistant"], cwd=ROOT, stdout=archive, check=True)
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                tar.extractall(folder, filter="data")
    return folder


def assistant_args(data_dir: Path, knowledge: Path, *args: str) -> list[str]:
    """`python -m assistant` against one store (run with cwd set to the code tree to measure)."""
    return python("-m", "assistant", "--data-dir", str(data_dir), "--knowledge-dir", str(knowledge), *args)


def timed_runs(commands: dict[str, tuple[list[str], Path]], runs: int) -> dict[str, dict]:
    """Each named command `runs` times, round-robin; median, min and max wall seconds, median CPU seconds and
    peak memory."""
    procs = {name: [] for name in commands}
    for _ in range(runs):
        for name, (args, cwd) in commands.items():
            procs[name].append(run(args, cwd=cwd))
    return {name: {"median_s": statistics.median(p.seconds for p in done), "min_s": min(p.seconds for p in done),
                   "max_s": max(p.seconds for p in done), "cpu_median_s": statistics.median(p.cpu_s for p in done),
                   "runs": len(done), "peak_rss_mb": max(p.peak_rss_mb for p in done)} for name, done in procs.items()}


def before_after(essay_build, knowledge: Path, *, revision: str = BEFORE_REVISION, runs: int = 10) -> dict:
    """`--help` and a cold ask at essay size: the earlier revision against the code as it is, in one run."""
    before = revision_tree(revision)
    before_data = CACHE / "stores" / f"essay-tree-{before.name}"
    if not (before_data / "ingested").is_file():
        run(assistant_args(before_data, knowledge, "ingest", "--no-progress"), cwd=before)
        (before_data / "ingested").write_text("ok")
    ask = ("ask", "--json", QUESTION)
    help_runs = timed_runs({"before": (python("-m", "assistant", "--help"), before),
                            "after": (python("-m", "assistant", "--help"), ROOT)}, runs)
    ask_runs = timed_runs({"before": (assistant_args(before_data, knowledge, *ask), before),
                           "after": (assistant_args(essay_build.data_dir, knowledge, *ask), ROOT)}, max(3, runs // 2))
    return {"revision": before.name.removeprefix("tree-"), "help": help_runs, "cold_ask": ask_runs}


def cold_ask(build, knowledge: Path, *, runs: int = 5) -> dict:
    """A cold `assistant ask --json` against one store: the first after the build (it may build and save the
    lexical index), then the median of `runs` more; and one stage-timed cold ask."""
    args = assistant_args(build.data_dir, knowledge, "ask", "--json", QUESTION)
    first = run(args)
    repeated = timed_runs({"ask": (args, ROOT)}, runs)["ask"]
    stages = run(python("-m", "benchmarks.stages", "ask", "--data-dir", str(build.data_dir), "--knowledge-dir",
                        str(knowledge), QUESTION), env=clean_env())
    return {"first_s": first.seconds, "first_cpu_s": first.cpu_s, "first_peak_rss_mb": first.peak_rss_mb, **repeated,
            "stages": json.loads(stages.stdout)}


def batching(texts: list[str], *, rounds: int = 2, sample: int = 400) -> dict:
    """The model alone on the same sample of chunks in fresh processes, alternating: 32 texts per forward pass
    whatever their length (before) against the token budget (after); wall and CPU seconds, peak memory."""
    from assistant.embeddings import BATCH_TOKENS

    settings = {"before": (32, 10**9), "after": (32, BATCH_TOKENS)}
    out = {name: [] for name in settings}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(random.Random(0).sample(texts, min(sample, len(texts)))), encoding="utf-8")
        for _ in range(rounds):
            for name, (size, tokens) in settings.items():
                proc = run(python("-m", "benchmarks.stages", "encode", "--texts", str(path), "--batch-size",
                                  str(size), "--batch-tokens", str(tokens)))
                out[name].append(json.loads(proc.stdout) | {"peak_rss_mb": proc.peak_rss_mb})
    return {name: {"chunks": rows[0]["chunks"], "batch": settings[name],
                   "seconds": statistics.median(r["seconds"] for r in rows),
                   "cpu_s": statistics.median(r["cpu_s"] for r in rows),
                   "peak_rss_mb": max(r["peak_rss_mb"] for r in rows)} for name, rows in out.items()}


def spinning(texts: list[str], *, rounds: int = 3, batch: int = 32) -> dict:
    """onnxruntime's worker threads spinning (its default) against sleeping (ours), the same batches through the
    same model in one process, alternating: wall and CPU seconds, as a question's sentences and as bulk chunks."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from assistant.embeddings import MAX_TOKENS, default_model_files

    model, tokenizer_file = default_model_files()
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    sample = sorted(random.Random(0).sample(texts, min(256, len(texts))), key=len)
    feeds = []
    for begin in range(0, len(sample), batch):
        ids = np.array([e.ids for e in tokenizer.encode_batch(sample[begin:begin + batch])], dtype=np.int64)
        feeds.append({"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64),
                      "token_type_ids": np.zeros_like(ids)})
    sessions = {name: _session(model, spin) for name, spin in (("spinning", "1"), ("sleeping", "0"))}
    totals = {name: [0.0, 0.0] for name in sessions}
    for _ in range(rounds):
        for name, session in sessions.items():
            began, cpu = time.perf_counter(), time.process_time()
            for feed in feeds:
                session.run(None, feed)
            totals[name][0] += time.perf_counter() - began
            totals[name][1] += time.process_time() - cpu
    return {name: {"wall_s": wall, "cpu_s": cpu, "chunks": len(sample) * rounds} for name, (wall, cpu) in
            totals.items()} | {"threads": ort.SessionOptions().intra_op_num_threads}


def _session(model: Path, spin: str):
    """An onnxruntime session over the model with spinning on ("1") or off ("0")."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", spin)
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
