"""Source files -> normalised `SourceDocument`s, with one-line errors for anything unusable."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from . import formats
from .models import SourceDocument
from .settings import Settings
from .text import normalise

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + formats.SUFFIXES
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
            found = sorted(p for p in path.rglob("*") if p.is_file() and not _ignored(p))
            if not any(_supported(p) for p in found):
                errors.append(DocumentError(f"{path}: no supported files ({', '.join(SUPPORTED_SUFFIXES)})"))
                continue
            files.extend(p for p in found if _supported(p))
            errors.extend(_unsupported(p) for p in found if not _supported(p))
        elif _supported(path):
            files.append(path)
        else:
            errors.append(_unsupported(path))
    return list(dict.fromkeys(files)), errors


def _supported(path: Path) -> bool:
    """Supported by suffix, skipping hidden files."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def _ignored(path: Path) -> bool:
    """Files in a folder that are never sources and need no message: hidden, office lock files, sidecars."""
    return path.name.startswith((".", "~$")) or path.name.endswith(".meta.json")


def _unsupported(path: Path) -> DocumentError:
    """The one-line error for a file whose type is not ingested."""
    return DocumentError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                         f"supported: {', '.join(SUPPORTED_SUFFIXES)}")


def load(path: Path, *, root: Path | None = None, max_mb: float = Settings.max_file_mb) -> SourceDocument:
    """Read one supported file into normalised text with its title; one-line errors for anything unusable."""
    size = path.stat().st_size
    if size > max_mb * 1048576:
        raise DocumentError(f"{path}: {size / 1048576:.1f} MB is over the {max_mb:g} MB file size limit "
                            "(ASSISTANT_MAX_FILE_MB)")
    if path.suffix.lower() in TEXT_SUFFIXES:
        text, meta, page_starts = *_read_text(path), ()
    else:
        text, meta, page_starts = _read_formatted(path, int(max_mb * 1048576))
    if not text.strip():
        raise DocumentError(f"{path}: empty file (no text to ingest)")
    return SourceDocument(
        doc_id=document_id(path, root=root),
        title=str(meta.get("title") or _title_from_text(text, path)),
        author=str(meta.get("author") or ""),
        source=_display_path(path, root),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        page_starts=page_starts,
    )


def _read_text(path: Path) -> tuple[str, dict]:
    """A UTF-8 text file and its metadata (front matter over the sidecar); binary and undecodable refused."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    try:
        text = normalise(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    meta, text = _split_front_matter(text)
    return text, _sidecar(path) | meta


def _read_formatted(path: Path, max_bytes: int) -> tuple[str, dict, tuple[int, ...]]:
    """A PDF/DOCX/HTML/EPUB file through its format reader; a sidecar's fields override the file's own."""
    try:
        extracted = formats.extract(path, max_bytes=max_bytes)
    except formats.FormatError as exc:
        raise DocumentError(f"{path}: {exc}") from None
    meta = {k: v for k, v in {"title": extracted.title, "author": extracted.author}.items() if v}
    return extracted.text, meta | _sidecar(path), extracted.page_starts


def document_id(path: Path, *, root: Path | None = None) -> str:
    """Stable id from the file's place: its path under the knowledge root (with the suffix, except for text
    files, so report.pdf and report.docx differ), else name plus a path hash."""
    resolved = path.resolve()
    if root is not None and resolved.is_relative_to(root.resolve()):
        relative = resolved.relative_to(root.resolve())
        return _slug(str(relative.with_suffix("") if path.suffix.lower() in TEXT_SUFFIXES else relative))
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
