"""Corpora and the stores both pipelines build from them, cached under .bench-cache/ and reused by later runs.

A store is rebuilt when its corpus or the code that decides what it holds changes (see common.fingerprint).
Each build is a fresh process (our ingest, or the baseline's), timed start to end with its peak memory, next
to the raw encode rate of the model alone on a sample of the same pipeline's chunks, taken just before and
just after the build and averaged (the ceiling an ingest can reach).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import (
    BASELINE_BUILD_CODE,
    CACHE,
    ESSAY,
    ESSAY_SUITE,
    OUR_BUILD_CODE,
    ROOT,
    clean_env,
    fingerprint,
    python,
    run,
)

ENCODE_SAMPLE = 1000
PIPELINES = ("ours", "baseline")


@dataclass(frozen=True, kw_only=True)
class Corpus:
    """Texts to ingest, the folder document ids are relative to, and the questions asked of them."""

    key: str
    label: str
    folder: Path
    suite: Path
    source: str
    identity: str
    size_mb: float
    stamp: dict = field(default_factory=dict)


def suite_corpora() -> list[Corpus]:
    """One corpus per suite in evals/: its own corpus/ folder, else the default knowledge folder."""
    from assistant.evaluate import load_suite

    out = []
    for path in sorted((ROOT / "evals").glob("*/suite.jsonl")):
        suite = load_suite(path)
        own = path.parent / "corpus"  # the rule of evaluate.Suite.corpus: a suite's own corpus/ folder, if any
        folder = own if own.is_dir() else ROOT / "knowledge"
        out.append(Corpus(key=f"suite-{suite.name}", label=suite.name, folder=folder, suite=path,
                          source=str(folder.relative_to(ROOT)), identity=_folder_hash(folder),
                          size_mb=_folder_bytes(folder) / 1e6))
    return out


def sized_corpus(size_mb: float) -> Corpus:
    """The essay inside `size_mb` MB of real prose (benchmarks/corpus.py), built once and cached."""
    from .corpus import make_corpus

    folder = CACHE / f"corpus-{size_mb:g}mb-{_file_hash(ROOT / 'benchmarks' / 'corpus.py')[:8]}"
    stamp = make_corpus(size_mb, folder)
    for path in (ESSAY, ESSAY.with_name(ESSAY.stem + ".meta.json")):
        shutil.copy(path, folder / path.name)
    return Corpus(key=f"corpus-{size_mb:g}mb", label=f"essay in {size_mb:g} MB", folder=folder, suite=ESSAY_SUITE,
                  source=stamp.get("source", ""), identity=stamp["fingerprint"] + _file_hash(ESSAY),
                  size_mb=_folder_bytes(folder) / 1e6, stamp=stamp)


@dataclass(frozen=True, kw_only=True)
class Build:
    """A built store: where it is and the figures of the run that built it."""

    pipeline: str
    folder: Path
    figures: dict

    @property
    def data_dir(self) -> Path:
        """Our pipeline's ASSISTANT_DATA_DIR (or the baseline's Chroma folder)."""
        return self.folder / ("data" if self.pipeline == "ours" else "chroma")


def build(corpus: Corpus, pipeline: str, embeddings, *, log=print) -> Build:
    """The cached store of this corpus for this pipeline, building it (timed) when missing or stale."""
    code = OUR_BUILD_CODE if pipeline == "ours" else BASELINE_BUILD_CODE
    extra = _file_hash(ROOT / "benchmarks" / "baseline.py") if pipeline == "baseline" else ""
    key = fingerprint(corpus.identity, pipeline, extra, files=code)
    folder = CACHE / "stores" / f"{corpus.key}-{pipeline}-{key}"
    record = folder / "build.json"
    if record.is_file():
        return Build(pipeline=pipeline, folder=folder, figures=json.loads(record.read_text()) | {"cached": True})
    for stale in folder.parent.glob(f"{corpus.key}-{pipeline}-*"):
        shutil.rmtree(stale)
    log(f"building the {pipeline} store of {corpus.label} ...")
    texts = chunk_texts(corpus, pipeline)
    before = encode_rate(embeddings, texts)
    done = Build(pipeline=pipeline, folder=folder, figures={})
    proc = run(_ingest_command(corpus, done), env=clean_env())
    after = encode_rate(embeddings, texts)
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    raw, raw_cpu = (before[0] + after[0]) / 2, (before[1] + after[1]) / 2
    figures |= {"wall_s": proc.seconds, "cpu_s": proc.cpu_s, "peak_rss_mb": proc.peak_rss_mb,
                "raw_encode_chunks_per_s": raw, "raw_encode_chunks_per_cpu_s": raw_cpu,
                "encode_sample": min(ENCODE_SAMPLE, len(texts)), "chunks_per_s": figures["embedded"] / proc.seconds,
                "chunks_per_cpu_s": figures["embedded"] / proc.cpu_s, "built": time.strftime("%Y-%m-%d %H:%M:%S")}
    figures["ingest_vs_encode"] = figures["chunks_per_s"] / raw
    figures["ingest_vs_encode_cpu"] = figures["chunks_per_cpu_s"] / raw_cpu
    record.write_text(json.dumps(figures, indent=1))
    log(f"  {figures['embedded']} chunks in {proc.seconds:.0f} s ({figures['chunks_per_s']:.1f}/s, raw encode "
        f"{raw:.1f}/s), peak {proc.peak_rss_mb:.0f} MB")
    return Build(pipeline=pipeline, folder=folder, figures=figures | {"cached": False})


def _ingest_command(corpus: Corpus, target: Build) -> list[str]:
    """Our stage-timed ingest, or the baseline's, into the build folder."""
    if target.pipeline == "ours":
        return python("-m", "benchmarks.stages", "ingest", "--data-dir", str(target.data_dir), "--knowledge-dir",
                      str(corpus.folder), str(corpus.folder))
    return python("-m", "benchmarks.baseline", "ingest", "--persist", str(target.data_dir), str(corpus.folder))


def chunk_texts(corpus: Corpus, pipeline: str) -> list[str]:
    """The texts this pipeline embeds for the corpus' chunks (for the raw encode rate)."""
    if pipeline == "baseline":
        from .baseline import split_files

        return [d.page_content for d in split_files([corpus.folder])[0]]
    from assistant.chunking import chunk_document
    from assistant.documents import DocumentError, discover, load
    from assistant.settings import Settings

    settings = Settings.from_env(env={})
    texts = []
    for path in discover([corpus.folder])[0]:
        try:
            doc = load(path, root=corpus.folder)
        except (DocumentError, OSError):
            continue
        chunks = chunk_document(doc, size=settings.chunk_size, overlap=settings.chunk_overlap)
        texts += [c.embedded_text() for c in chunks]
    return texts


def chunk_sizes(corpus: Corpus, pipeline: str) -> dict:
    """How long this pipeline's chunks of the corpus are (characters): median, mean, total."""
    sizes = sorted(len(t) for t in chunk_texts(corpus, pipeline))
    return {"chunks": len(sizes), "median": sizes[len(sizes) // 2] if sizes else 0,
            "mean": sum(sizes) / len(sizes) if sizes else 0.0, "total": sum(sizes)}


def evidence_coverage(corpus: Corpus, pipeline: str) -> float:
    """Share of the suite's evidence strings that lie whole inside one chunk of this pipeline: the most evidence
    recall can reach, however good the ranking."""
    from assistant.evaluate import load_suite
    from assistant.metrics import contains

    texts = chunk_texts(corpus, pipeline)
    evidence = [e for q in load_suite(corpus.suite).questions if q.answerable for e in q.evidence]
    return sum(any(contains(t, e) for t in texts) for e in evidence) / len(evidence) if evidence else 1.0


def encode_rate(embeddings, texts: list[str]) -> tuple[float, float]:
    """Chunks per wall second and per CPU second of the model alone on a fixed random sample of the texts."""
    sample = random.Random(0).sample(texts, min(ENCODE_SAMPLE, len(texts)))
    began, cpu = time.perf_counter(), time.process_time()
    embeddings.encode(sample)
    return len(sample) / (time.perf_counter() - began), len(sample) / (time.process_time() - cpu)


def _folder_bytes(folder: Path) -> int:
    """Total size of the files in a folder."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _folder_hash(folder: Path) -> str:
    """Content hash of every file in a folder (small suite corpora)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _file_hash(path: Path) -> str:
    """Content hash of one file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
