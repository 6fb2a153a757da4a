"""Where the time goes, stage by stage, in a fresh process (the runner starts one per measurement).

    python -m benchmarks.stages ingest --data-dir D --knowledge-dir K PATH...   # our ingest, per stage
    python -m benchmarks.stages ingest --hashed-vectors ...   # the same with hashed vectors (no model)
    python -m benchmarks.stages ask --data-dir D --knowledge-dir K QUESTION     # a cold ask, per stage
    python -m benchmarks.stages encode --texts T.json --batch-size N --batch-tokens M   # the model alone

Both print one JSON object. The ingest is `assistant.ingest.ingest`, as `assistant ingest` runs it, with a timer
around each stage function that exists in this version of the code (missing ones are simply not reported).
The cold ask times imports, model load, store open, the lexical index and the first answer separately.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

STARTED = time.perf_counter()

# (module, attribute holding a function or class, method name or None) -> stage it counts towards
INGEST_STAGES = {
    ("assistant.ingest", "discover", None): "read files",
    ("assistant.ingest", "load", None): "read files",
    ("assistant.ingest", "chunk_document", None): "chunk",
    ("assistant.embeddings", "MiniLMEmbeddings", "encode"): "embed",
    ("assistant.store", "Store", "existing_ids"): "store read",
    ("assistant.store", "Store", "upsert"): "store write",
    ("assistant.store", "Store", "attach"): "store write",
    ("assistant.store", "Store", "delete"): "store write",
    ("assistant.store", "Store", "detach"): "store write",
    ("assistant.store", "Store", "commit"): "manifest",
    ("assistant.store", "Store", "announce"): "manifest",
    ("assistant.store", "Store", "record"): "manifest",
    ("assistant.ingest", "build_indexes", None): "search indexes",
}


def _timed(function, stage: str, totals: dict, depth: list):
    """The function, adding its wall time to its stage (outermost timed call only, so nothing counts twice)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        depth[0] += 1
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                totals[stage] += time.perf_counter() - began
    return wrapper


def instrument(stages: dict) -> dict[str, float]:
    """Wrap every stage function that exists; returns the totals they fill."""
    totals, depth = defaultdict(float), [0]
    for (module_name, attribute, method), stage in stages.items():
        owner = getattr(importlib.import_module(module_name), attribute, None)
        target = getattr(owner, method, None) if method else owner
        if owner is None or target is None:
            continue
        if method:
            setattr(owner, method, _timed(target, stage, totals, depth))
        else:
            setattr(importlib.import_module(module_name), attribute, _timed(target, stage, totals, depth))
    return totals


def ingest_main(args) -> dict:
    """Our ingest of PATHs into the data dir, with per-stage seconds."""
    from assistant.embeddings import MiniLMEmbeddings
    from assistant.ingest import ingest
    from assistant.settings import Settings
    from assistant.store import Store

    imported = time.perf_counter() - STARTED
    totals = instrument(INGEST_STAGES)
    settings = Settings.from_env(data_dir=args.data_dir, knowledge_dir=args.knowledge_dir)
    began = time.perf_counter()
    embeddings = hashed_embeddings(totals) if args.hashed_vectors else MiniLMEmbeddings()
    store = Store(settings=settings)
    opened = time.perf_counter() - began
    report = ingest(args.paths, store=store, embeddings=embeddings)
    total = time.perf_counter() - STARTED
    stages = {"imports": imported, "model load + store open": opened, **totals}
    stages["other"] = total - sum(stages.values())
    return {"chunks": report.chunks, "embedded": report.embedded, "errors": report.errors[:20],
            "error_count": len(report.errors), "summary": report.summary(), "seconds": total, "stages_s": stages}


def hashed_embeddings(totals: dict):
    """The tests' hashed stand-in for the model (instant, same dimensions), its time counted apart from the rest."""
    from tests.hashed_embeddings import HashedEmbeddings

    timed = type("TimedHashedEmbeddings", (HashedEmbeddings,), {})
    timed.encode = _timed(HashedEmbeddings.encode, "embed (hashed stand-in)", totals, [0])
    return timed()


def ask_main(args) -> dict:
    """One cold question, each start-up stage timed apart."""
    marks, last = {}, [STARTED]

    def mark(name: str) -> None:
        now = time.perf_counter()
        marks[name] = now - last[0]
        last[0] = now

    from assistant.chain import build_assistant
    from assistant.embeddings import MiniLMEmbeddings
    from assistant.settings import Settings

    mark("imports")
    settings = Settings.from_env(data_dir=args.data_dir, knowledge_dir=args.knowledge_dir)
    embeddings = MiniLMEmbeddings()
    mark("model load")
    assistant = build_assistant(settings, embeddings=embeddings)
    mark("store open + wiring")
    assistant.retriever.lexical_index()
    mark("lexical index")
    answer = assistant.ask(args.question)
    mark("first answer")
    return {"stages_s": marks, "total_s": time.perf_counter() - STARTED, "answer_timings_ms": answer.timings_ms,
            "refused": answer.refused}


def encode_main(args) -> dict:
    """The model alone on the texts of a JSON file, with the given batching: wall and CPU seconds."""
    from assistant.embeddings import MiniLMEmbeddings

    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    embeddings = MiniLMEmbeddings(batch_size=args.batch_size, batch_tokens=args.batch_tokens)
    began, cpu = time.perf_counter(), time.process_time()
    embeddings.encode(texts)
    return {"chunks": len(texts), "seconds": time.perf_counter() - began, "cpu_s": time.process_time() - cpu}


def main() -> None:
    """Dispatch to the ingest, ask or encode measurement and print its JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("ingest", "ask"):
        command = sub.add_parser(name)
        command.add_argument("--data-dir", type=Path, required=True)
        command.add_argument("--knowledge-dir", type=Path, required=True)
    sub.choices["ingest"].add_argument("paths", nargs="+", type=Path)
    sub.choices["ingest"].add_argument("--hashed-vectors", action="store_true",
                                       help="hashed vectors instead of the model: every other stage at any size")
    sub.choices["ask"].add_argument("question")
    encode = sub.add_parser("encode")
    encode.add_argument("--texts", type=Path, required=True, help="a JSON list of strings")
    encode.add_argument("--batch-size", type=int, required=True)
    encode.add_argument("--batch-tokens", type=int, required=True)
    args = parser.parse_args()
    figures = {"ingest": ingest_main, "ask": ask_main, "encode": encode_main}[args.command](args)
    json.dump(figures, sys.stdout)


if __name__ == "__main__":
    main()
