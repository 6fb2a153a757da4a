"""Run inside a private mount namespace (`unshare --user --map-root-user --mount`) by test_faults.py: a data dir on
a small tmpfs that fills up, or one mounted read-only, and what ingest, upload, ask and the CLI do there.
Prints one JSON object; the test asserts on it.

    python -m tests.fs_faults setup DIR           # ingest the essay into DIR/data (before the read-only remount)
    python -m tests.fs_faults full DIR SLACK      # fill DIR's file system but SLACK bytes, then try to write
    python -m tests.fs_faults read-only DIR       # DIR is mounted read-only: try to write, then to read
    python -m tests.fs_faults uploads-read-only DIR   # a running store whose uploads folder turns read-only
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from assistant.chain import build_assistant
from assistant.embeddings import MiniLMEmbeddings
from assistant.settings import PROJECT_ROOT, Settings

UPLOAD = "The Aral Sea has shrunk since the 1960s as rivers were diverted for cotton. " * 40


def settings(root: Path) -> Settings:
    return Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=PROJECT_ROOT / "knowledge")


def attempt(fn) -> dict:
    """What a call returned, or the one-line error it raised (progress on stderr, for a test that hangs)."""
    print(f"{time.strftime('%H:%M:%S')} calling {getattr(fn, '__name__', fn)}", file=sys.stderr, flush=True)
    try:
        return {"ok": fn()}
    except Exception as exc:  # noqa: BLE001 (reported to the test, which judges it)
        return {"raised": type(exc).__name__, "message": str(exc)}


def cli(root: Path, *args: str) -> dict:
    """The real command line against the data dir."""
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(root / "data"),
           "ASSISTANT_KNOWLEDGE_DIR": str(PROJECT_ROOT / "knowledge")}
    done = subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=PROJECT_ROOT)
    return {"code": done.returncode, "stderr": done.stderr, "stdout": done.stdout}


def fill(root: Path, slack: int) -> None:
    """Fill the file system, then give back `slack` bytes."""
    filler = root / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    os.truncate(filler, max(0, filler.stat().st_size - slack))


def state(assistant) -> dict:
    """What the store holds: chunks in Chroma, documents in the manifest, and whether they agree."""
    from assistant.integrity import differences

    return {"count": assistant.store.count(), "documents": sorted(assistant.store.manifest.documents),
            "differences": [str(d) for d in differences(assistant.store)]}


def full(root: Path, slack: int) -> dict:
    """Ingest and upload on a full disk, then free it and check the store."""
    from assistant.ingest import ingest
    from assistant.integrity import recover
    from assistant.service import ChatService

    embeddings = MiniLMEmbeddings()
    assistant = build_assistant(settings(root), embeddings=embeddings)
    assistant.ensure_corpus()
    before = state(assistant)
    source = Path("/tmp") / f"aral-{os.getpid()}.txt"
    source.write_text(UPLOAD)
    fill(root, slack)
    out = {"before": before, "upload": attempt(lambda: ChatService(assistant=assistant).add_files([source])),
           "ingest": attempt(lambda: ingest([source], store=assistant.store, embeddings=embeddings).errors),
           "cli": cli(root, "ingest", str(source)),
           "ask": attempt(lambda: bool(assistant.ask("How did Russia respond in Belarus?").citations)),
           "during": attempt(lambda: state(assistant)),
           "uploads": sorted(p.name for p in (root / "data").glob("uploads/*"))}
    (root / "filler").unlink()
    with assistant.store.writing("check"):
        recover(assistant.store)
    out["after"] = state(assistant)
    out["again"] = attempt(lambda: ChatService(assistant=assistant).add_files([source]))
    return out


def read_only(root: Path) -> dict:
    """Every command on a data dir mounted read-only."""
    return {"open": attempt(lambda: build_assistant(settings(root)).store.count()),
            "cli_ingest": cli(root, "ingest"), "cli_ask": cli(root, "ask", "How did Russia respond in Belarus?"),
            "cli_docs": cli(root, "docs"), "files": sorted(p.name for p in (root / "data").iterdir())}


def uploads_read_only(root: Path) -> dict:
    """An upload while the uploads folder is on a read-only mount (the rest of the store stays writable)."""
    from assistant.service import ChatService

    assistant = build_assistant(settings(root))
    assistant.ensure_corpus()
    uploads = assistant.settings.uploads_dir
    uploads.mkdir(parents=True)
    for command in (["mount", "--bind", str(uploads), str(uploads)], ["mount", "-o", "remount,bind,ro", str(uploads)]):
        subprocess.run(command, check=True, capture_output=True)
    source = Path("/tmp") / f"aral-{os.getpid()}.txt"
    source.write_text(UPLOAD)
    before = state(assistant)
    return {"before": before, "upload": attempt(lambda: ChatService(assistant=assistant).add_files([source])),
            "after": state(assistant), "uploads": sorted(p.name for p in uploads.iterdir())}


def main() -> None:
    import faulthandler

    faulthandler.dump_traceback_later(float(os.environ.get("FS_FAULTS_DUMP_AFTER", "300")), exit=True)
    mode, root = sys.argv[1], Path(sys.argv[2])
    if mode == "setup":
        assistant = build_assistant(settings(root))
        assistant.ensure_corpus()
        result = state(assistant)
    elif mode == "full":
        result = full(root, int(sys.argv[3]))
    elif mode == "uploads-read-only":
        result = uploads_read_only(root)
    else:
        result = read_only(root)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
