"""Source files -> normalised `SourceDocument`s, with one-line errors for anything unusable."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from .models import SourceDocument
from .text import normalise

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


class DocumentError(ValueError):
    """A source that cannot be ingested; the message is one line naming the file."""


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[DocumentError]]:
    """Expand files and directories into supported files, collecting errors instead of stopping."""
    files, errors = [], []
    for path in map(Path, paths):
        if not path.exists():
            errors.append(DocumentError(f"{path}: no such file or directory"))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _supported(p))
            if not found:
                errors.append(DocumentError(f"{path}: no supported files ({', '.join(SUPPORTED_SUFFIXES)})"))
            files.extend(found)
        elif _supported(path):
            files.append(path)
        else:
            errors.append(DocumentError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                                        f"supported: {', '.join(SUPPORTED_SUFFIXES)}"))
    return list(dict.fromkeys(files)), errors


def _supported(path: Path) -> bool:
    """Supported by suffix, skipping hidden files."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def load(path: Path, *, root: Path | None = None) -> SourceDocument:
    """Read one file as UTF-8 text; reject binary, undecodable and empty files."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        text = normalise(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    meta, text = _split_front_matter(text)
    if not text.strip():
        raise DocumentError(f"{path}: empty file (no text to ingest)")
    meta = _sidecar(path) | meta
    return SourceDocument(
        doc_id=document_id(path, root=root),
        title=str(meta.get("title") or _title_from_text(text, path)),
        source=_display_path(path, root),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def document_id(path: Path, *, root: Path | None = None) -> str:
    """Stable id from the file's place: its path under the knowledge root, else name plus a path hash."""
    resolved = path.resolve()
    if root is not None and resolved.is_relative_to(root.resolve()):
        return _slug(str(resolved.relative_to(root.resolve()).with_suffix("")))
    digest = hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
    return f"{_slug(path.stem)}-{digest}"


def _display_path(path: Path, root: Path | None) -> str:
    """Path shown to users: relative to the knowledge root's parent, else to the working directory."""
    resolved = path.resolve()
    for base in ([root.resolve().parent] if root is not None else []) + [Path.cwd().resolve()]:
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(resolved)


def _slug(value: str) -> str:
    """Lower-case, dash-separated identifier."""
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "document"


def _split_front_matter(text: str) -> tuple[dict, str]:
    """Read `key: value` front matter (title, ...) and return the body that spans refer to."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    return {k.strip(): v.strip().strip("\"'") for k, v in meta.items()}, text[match.end():]


def _sidecar(path: Path) -> dict:
    """Metadata from NAME.meta.json beside the file, so the source text itself stays verbatim."""
    sidecar = path.with_name(path.stem + ".meta.json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise DocumentError(f"{sidecar}: not valid JSON metadata") from None
    return data if isinstance(data, dict) else {}


def _title_from_text(text: str, path: Path) -> str:
    """A markdown heading on the first line, else the file name made readable."""
    first = text.lstrip().split("\n", 1)[0]
    if first.startswith("#"):
        return first.lstrip("#").strip()
    return path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
