"""Source files -> normalised `SourceDocument`s, with one-line errors for anything unusable."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from . import formats
from .models import SourceDocument
from .settings import Settings
from .text import normalise

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + formats.SUFFIXES
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
READ_ATTEMPTS = 3


class DocumentError(ValueError):
    """A source that cannot be ingested; the message is one line naming the file."""


class Skipped(DocumentError):
    """Something in a folder deliberately left out (a symlink leading outside it, a loop): a note, not a failure."""


def discover(paths: Iterable[Path], *, follow_symlinks: bool = False) -> tuple[list[Path], list[DocumentError]]:
    """Expand files and directories into supported files, collecting errors instead of stopping. Inside a folder,
    symlinks leading out of it are skipped unless `follow_symlinks`; loops and broken links always are (`Skipped`)."""
    files, errors = [], []
    for path in map(Path, paths):
        if not path.exists():
            errors.append(DocumentError(f"{path}: no such file or directory"))
        elif path.is_dir():
            found, skipped = walk(path, follow_symlinks=follow_symlinks)
            errors.extend(skipped)
            if not any(_supported(p) for p in found):
                errors.append(DocumentError(f"{path}: no supported files ({', '.join(SUPPORTED_SUFFIXES)})"))
                continue
            files.extend(p for p in found if _supported(p))
            errors.extend(_unsupported(p) for p in found if not _supported(p))
        elif _supported(path):
            files.append(path)
        else:
            errors.append(_unsupported(path))
    return _distinct(files), errors


def walk(folder: Path, *, follow_symlinks: bool = False) -> tuple[list[Path], list[Skipped]]:
    """Every file under a folder (hidden files and folders, lock files and sidecars left out), never leaving it
    through a symlink unless `follow_symlinks`, never entering a folder twice (so symlink loops end)."""
    base, files, skipped = folder.resolve(), [], []
    seen, stack = {base}, [folder]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(Skipped(f"{current}: skipped: cannot list the folder ({exc.strerror})"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if _ignored(path):
                continue
            target, note = _follow(path, base, follow_symlinks) if entry.is_symlink() else (path, "")
            if note:
                skipped.append(Skipped(f"{path}: skipped: {note}"))
            elif target.is_dir():
                real = target.resolve()
                if real in seen:
                    skipped.append(Skipped(f"{path}: skipped: a folder already read (a symlink loop?)"))
                    continue
                seen.add(real)
                stack.append(path)
            elif target.is_file():
                files.append(path)
    return sorted(files), skipped


def _follow(link: Path, base: Path, follow_symlinks: bool) -> tuple[Path, str]:
    """Where a symlink leads, or why it is not followed: a loop, a broken link, or a target outside the folder."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return link, "a symlink loop"
    except OSError as exc:
        return link, "a symlink loop" if "loop" in str(exc).lower() else "a broken symlink"
    if not follow_symlinks and not target.is_relative_to(base):
        return link, f"a symlink to {target}, outside {base} (--follow-symlinks to include it)"
    return target, ""


def _distinct(files: list[Path]) -> list[Path]:
    """Files in order, each real file once (a symlink inside a folder may name a file already found)."""
    seen, out = set(), []
    for path in files:
        real = path.resolve()
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


def _supported(path: Path) -> bool:
    """Supported by suffix, skipping hidden files."""
    return path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")


def _ignored(path: Path) -> bool:
    """Files and folders that are never sources and need no message: hidden, office lock files, sidecars."""
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
        text, meta, page_starts = *_read_text(path, int(max_mb * 1048576)), ()
    else:
        text, meta, page_starts = _unchanged_while(path, lambda: _read_formatted(path, int(max_mb * 1048576)))
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


def _read_text(path: Path, max_bytes: int) -> tuple[str, dict]:
    """A UTF-8 text file (or UTF-16/32 with a byte-order mark) and its metadata (front matter over the sidecar);
    binary and undecodable files refused."""
    text = normalise(decode(_unchanged_while(path, lambda: _read_bytes(path, max_bytes)), path))
    if "\x00" in text[:8192]:
        raise DocumentError(f"{path}: looks like a binary file, not text")
    meta, text = _split_front_matter(text)
    return text, _sidecar(path) | meta


def decode(raw: bytes, path: Path) -> str:
    """Text by its byte-order mark (UTF-32, UTF-8, UTF-16), else UTF-8; one-line errors naming the encoding."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\x00" in raw[:8192]:
        zeros = raw[:8192:2].count(0) + raw[1:8192:2].count(0)
        hint = ": it looks like UTF-16 without a byte-order mark; save it as UTF-8" if zeros * 3 >= len(raw[:8192]) \
            else ""
        raise DocumentError(f"{path}: looks like a binary file, not text{hint}")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{path}: not valid {encoding.upper().removesuffix('-SIG')} (byte {exc.start})") from None


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """At most max_bytes of the file (one more tells that it grew past the limit since it was measured)."""
    with path.open("rb") as handle:
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise DocumentError(f"{path}: over the {max_bytes / 1048576:g} MB file size limit (ASSISTANT_MAX_FILE_MB)")
    return raw


def _unchanged_while(path: Path, read):
    """Run `read` until the file's size and modification time are the same before and after it, so a file being
    rewritten is never taken as a mix of two versions; a file that keeps changing is an error."""
    for attempt in range(READ_ATTEMPTS):
        before = path.stat()
        result = read()
        after = path.stat()
        if (before.st_size, before.st_mtime_ns, before.st_ino) == (after.st_size, after.st_mtime_ns, after.st_ino):
            return result
        time.sleep(0.05 * (attempt + 1))
    raise DocumentError(f"{path}: the file changed while it was being read; try again once it is written")


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
