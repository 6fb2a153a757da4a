"""What every benchmark part shares: paths, the machine's name, fresh processes with their peak memory."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"  # corpora and built stores, reused by later runs (gitignored)
ESSAY = ROOT / "knowledge" / "russia-crisis-responses.txt"
ESSAY_SUITE = ROOT / "evals" / "russia-crisis" / "suite.jsonl"
QUESTION = "How did Russia respond in Belarus?"
PEAK = ROOT / "benchmarks" / "peak.py"
# Files whose code decides what a store holds: a change to any of them rebuilds the cached stores.
OUR_BUILD_CODE = ("chunking.py", "ingest.py", "store.py", "documents.py", "formats.py", "text.py", "embeddings.py",
                  "lexical.py", "manifest.py", "settings.py")
BASELINE_BUILD_CODE = ("documents.py", "formats.py", "text.py", "embeddings.py")


@dataclass(frozen=True, kw_only=True)
class Proc:
    """A finished fresh process: wall and CPU seconds (CPU time barely moves with other load), peak resident
    memory and its output."""

    seconds: float
    cpu_s: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for measured processes: no ASSISTANT_* from the caller, no settings file, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {"ASSISTANT_ENV_FILE": os.devnull, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
                  "TOKENIZERS_PARALLELISM": "false"} | extra


def run(args: list[str], *, cwd: Path = ROOT, env: dict | None = None, timeout: float = 6 * 3600) -> Proc:
    """Run a fresh process to the end through benchmarks/peak.py, so its peak RSS is its own."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "out", "w+") as out, \
            open(Path(tmp) / "err", "w+") as err:
        figures = Path(tmp) / "figures.json"
        proc = subprocess.Popen([sys.executable, str(PEAK), str(figures), *map(str, args)], stdout=out, stderr=err,
                                text=True, cwd=cwd, env=env or clean_env(), start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher's group: it and the command it started
                proc.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        measured = json.loads(figures.read_text()) if figures.is_file() else {"exit": proc.returncode}
    if measured["exit"]:
        last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "no message")
        raise RuntimeError(f"{Path(str(args[0])).name} {' '.join(map(str, args[1:4]))} ... exited "
                           f"{measured['exit']}: {last[-300:]}")
    return Proc(seconds=measured["seconds"], cpu_s=measured["cpu_s"], peak_rss_mb=measured["peak_rss_mb"],
                stdout=stdout, stderr=stderr)


def python(*args: str) -> list[str]:
    """This interpreter with arguments."""
    return [sys.executable, *args]


def machine() -> dict:
    """The machine the absolute figures belong to (lscpu's model name, cores, memory, Python)."""
    model = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")),
                     "")
    except (OSError, subprocess.CalledProcessError):
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(), "memory_gib": round(memory_gib, 1),
            "arch": platform.machine(), "python": platform.python_version(), "os": platform.platform(terse=True)}


def describe(m: dict) -> str:
    """One line naming the machine."""
    return f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']:g} GiB, {m['arch']}, Python {m['python']}"


def load_average() -> float:
    """The 1-minute load average: other work on a shared machine shows up here."""
    return round(os.getloadavg()[0], 2)


def git_revision(cwd: Path = ROOT) -> str:
    """The commit measured, with '+dirty' when the worktree has changes to tracked files (BENCH_REVISION, when
    set, names a tree that is not a commit of this repository, such as a trial merge)."""
    if os.environ.get("BENCH_REVISION"):
        return os.environ["BENCH_REVISION"]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fingerprint(*parts: object, files: tuple[str, ...] = (), package: Path = ROOT / "assistant") -> str:
    """A short hash of the given values and of the named package files that exist."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for name in files:
        path = package / name
        if path.is_file():
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]
