"""A corpus of real documentation prose, of any size, built offline and deterministically.

Sources, in this order, read without importing anything but `pydoc_data`:
1. the Python Language Reference topics that ship with the interpreter (`pydoc_data.topics`);
2. the docstrings of the standard library (tests and idlelib left out);
3. the docstrings of this project's installed dependencies and theirs (the closure of `analysis-assistant`'s
   requirements, extras left out), by distribution name.
Each module becomes one markdown file: `# module`, its docstring, then `## class` / `### function` sections with
theirs, so the corpus has headings, short paragraphs, parameter lists and examples, like the Python
documentation. A docstring repeated verbatim (generated API clients repeat theirs hundreds of times) is kept the
first REPEATS times only, and one source (a distribution, the stdlib) gives at most SOURCE_CAP_MB per round:
boilerplate stays, without drowning the prose. Past the end of these sources the same documents come again with
their sections rotated, so a size is always reached. The same interpreter and
installed dependencies always give the same bytes: the stamp's `fingerprint` names them.

    python benchmarks/corpus.py 20 /tmp/corpus-20mb
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import re
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

MB = 1_000_000
REPEATS = 2
SOURCE_CAP_MB = 2.0
STAMP = ".corpus.json"
PROJECT = "analysis-assistant"
_SKIP_PARTS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "testing", "_vendor", "vendored"}
_CONTROL = {c: None for c in range(32) if chr(c) not in "\n\t"}  # a docstring may hold NUL or escape bytes
_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def reference_topics() -> Iterator[tuple[str, str, list[str]]]:
    """The Language Reference topics `help()` shows, one document each."""
    from pydoc_data.topics import topics

    for name in sorted(topics):
        yield "reference", f"reference.{name}", [f"# {name}", topics[name]]


def stdlib_modules() -> Iterator[tuple[str, str, Path]]:
    """("stdlib", dotted name, file) of every standard library module, in path order."""
    root = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if not (_SKIP_PARTS.intersection(relative.parts[:-1]) or relative.name.startswith("test_")):
            yield "stdlib", _module_name(relative), path


def dependency_modules() -> Iterator[tuple[str, str, Path]]:
    """(distribution, dotted name, file) of every module of the project's dependency closure, by distribution
    then path."""
    site = Path(sysconfig.get_paths()["purelib"])
    for dist in sorted(_closure(PROJECT, {}).values(), key=lambda d: d.metadata["Name"].lower()):
        files = sorted(str(f) for f in dist.files or () if str(f).endswith(".py"))
        for relative in map(Path, files):
            if not (_SKIP_PARTS.intersection(relative.parts[:-1]) or relative.name.startswith("test_")):
                yield dist.metadata["Name"], _module_name(relative), site / relative


def _closure(name: str, seen: dict) -> dict:
    """Installed distributions a requirement pulls in (extras and absent ones left out), by normalised name."""
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return seen
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return seen
    seen[key] = dist
    for requirement in dist.requires or ():
        if "extra ==" not in requirement:
            _closure(re.match(r"[A-Za-z0-9._-]+", requirement).group(0), seen)
    return seen


def _module_name(relative: Path) -> str:
    """Dotted module name of a file path."""
    return ".".join(relative.with_suffix("").parts).removesuffix(".__init__")


def docstring_sections(path: Path, name: str) -> list[str]:
    """`# module`, its docstring, and a heading plus docstring per public class and function."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return []
    sections = [f"# {name}", ast.get_docstring(tree) or ""]
    for node in tree.body:
        sections += _definition(node, level=2, prefix="")
    return sections


def _definition(node: ast.AST, *, level: int, prefix: str) -> list[str]:
    """Heading plus docstring of a public class or function, then of its public methods."""
    if not isinstance(node, _DEFINITIONS) or node.name.startswith("_"):
        return []
    doc = ast.get_docstring(node)
    kind = "class" if isinstance(node, ast.ClassDef) else "function"
    out = [f"{'#' * level} {kind} {prefix}{node.name}", doc] if doc else []
    if isinstance(node, ast.ClassDef):
        for child in node.body:
            out += _definition(child, level=min(level + 1, 4), prefix=f"{prefix}{node.name}.")
    return out


def documents() -> Iterator[tuple[str, str, list[str]]]:
    """(source, name, sections) of every document, in corpus order."""
    yield from reference_topics()
    for source, name, path in (*stdlib_modules(), *dependency_modules()):
        yield source, name, docstring_sections(path, name)


def markdown(sections: list[str], rotation: int) -> str:
    """The document as markdown (the heading first, the other sections rotated), '' when almost empty."""
    head, rest = sections[:1], [s for s in sections[1:] if s and s.strip()]
    if rotation:
        if len(rest) < 2:  # nothing to rotate: the document would repeat verbatim
            return ""
        shift = rotation % len(rest)
        rest = rest[shift:] + rest[:shift]
    body = "\n\n".join(s.strip() for s in head + rest).translate(_CONTROL)
    return body + "\n" if len(body) > 200 else ""


def make_corpus(size_mb: float, out_dir: Path) -> dict:
    """Write markdown files totalling at least `size_mb` MB (10^6 bytes) into out_dir; returns the stamp.

    Re-running with the same size into the same folder reuses the files already there."""
    out_dir = Path(out_dir)
    stamp_path = out_dir / STAMP
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if stamp.get("size_mb") == size_mb:
            return stamp
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.md"):
        old.unlink()
    total, files, rounds, digest = 0, 0, 0, hashlib.sha256()
    while total < size_mb * MB:
        before, seen, per_source = files, Counter(), Counter()
        for source, name, sections in documents():
            sections = [s for s in sections if s.startswith("#") or seen[s] < REPEATS]
            seen.update(s for s in sections if not s.startswith("#"))
            text = markdown(sections, rounds) if per_source[source] < SOURCE_CAP_MB * MB else ""
            if text:
                data = text.encode("utf-8")
                per_source[source] += len(data)
                (out_dir / f"{files:05d}-{name[:80]}{f'-r{rounds}' if rounds else ''}.md").write_bytes(data)
                digest.update(data)
                total, files = total + len(data), files + 1
            if total >= size_mb * MB:
                break
        if files == before:
            raise RuntimeError("no documentation found to build a corpus from")
        rounds += 1
    stamp = {"size_mb": size_mb, "bytes": total, "files": files, "rounds": rounds, "python": sys.version.split()[0],
             "fingerprint": digest.hexdigest()[:16],
             "source": "Python reference topics, then docstrings of the stdlib and of the project's dependencies"}
    stamp_path.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return stamp


if __name__ == "__main__":
    print(json.dumps(make_corpus(float(sys.argv[1]), Path(sys.argv[2])), indent=1))
