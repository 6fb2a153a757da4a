"""A corpus of real documentation prose, of any size, built offline and deterministically.

Source: the docstrings of the Python standard library (this interpreter's `Lib/`, tests and idlelib left out),
then of the packages installed in this virtualenv (site-packages, in path order), read with `ast` (nothing is
imported). Each module becomes one markdown file: `# module`, its docstring, then `## class` / `### function`
sections with theirs: headings, short paragraphs, parameter lists and examples, like the Python documentation.
The same interpreter and virtualenv always give the same files; `fingerprint` in the stamp names the bytes.

    python benchmarks/corpus.py 20 /tmp/corpus-20mb
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

MB = 1_000_000
STAMP = ".corpus.json"
_SKIP_PARTS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "testing", "_vendor", "vendored"}
_DEFINITIONS = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def source_roots() -> list[Path]:
    """Where the modules come from, in the order they are used."""
    paths = sysconfig.get_paths()
    return [Path(paths["stdlib"]), Path(paths["purelib"])]


def module_files() -> Iterator[tuple[str, Path]]:
    """(dotted module name, file) for every Python file under the roots, sorted within each root."""
    for root in source_roots():
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            if _SKIP_PARTS.intersection(relative.parts[:-1]) or relative.name.startswith("test_"):
                continue
            yield ".".join(relative.with_suffix("").parts).removesuffix(".__init__"), path


def module_markdown(name: str, path: Path) -> str:
    """The module's docstrings as one markdown document, or '' when it has almost none."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
        return ""
    sections = [f"# {name}", ast.get_docstring(tree) or ""]
    for node in tree.body:
        sections += _definition(node, level=2, prefix="")
    body = "\n\n".join(s.strip() for s in sections if s and s.strip())
    return body + "\n" if len(body) > 200 else ""


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
    total, files, digest = 0, 0, hashlib.sha256()
    for name, path in module_files():
        text = module_markdown(name, path)
        if not text:
            continue
        data = text.encode("utf-8")
        (out_dir / f"{files:05d}-{name[:80]}.md").write_bytes(data)
        digest.update(data)
        total, files = total + len(data), files + 1
        if total >= size_mb * MB:
            break
    stamp = {"size_mb": size_mb, "bytes": total, "files": files, "fingerprint": digest.hexdigest()[:16],
             "python": sys.version.split()[0], "source": "docstrings of the stdlib, then of site-packages"}
    stamp_path.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
    return stamp


if __name__ == "__main__":
    print(json.dumps(make_corpus(float(sys.argv[1]), Path(sys.argv[2])), indent=1))
