"""Each CLI command imports only what it needs: `--help` loads no model, store or LangChain; the extractive
`ask` loads no chat-model stack and no Gradio (issue 10: these imports cost seconds on a 2-core machine)."""

import json
import os
import subprocess
import sys

HEAVY = ("chromadb", "onnxruntime", "langchain_core", "gradio", "bm25s", "numpy")
CHAT_STACK = ("langchain_core.language_models.chat_models", "langchain_openai", "langchain_ollama", "llama_cpp",
              "gradio")


def modules_after(settings, tmp_path, *args) -> set[str]:
    """The modules loaded when `assistant ARGS` exits (the command runs for real in a fresh interpreter)."""
    out = tmp_path / "modules.json"
    code = ("import atexit, json, sys\n"
            f"atexit.register(lambda: open({str(out)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
            "from assistant.cli import main\n"
            f"sys.argv = ['assistant', *{list(args)!r}]\n"
            "main()\n")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir),
           "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return set(json.loads(out.read_text()))


def loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    """Which of these packages (or submodules) were imported."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_help_imports_no_model_store_or_langchain(settings, tmp_path):
    modules = modules_after(settings, tmp_path, "--help")
    assert "assistant.cli" in modules
    assert loaded(modules, HEAVY) == []


def test_extractive_ask_imports_no_chat_model_stack_or_gradio(settings, tmp_path):
    modules = modules_after(settings, tmp_path, "ask", "--json", "How did Russia respond in Belarus?")
    assert "assistant.chain" in modules and "chromadb" in modules  # it really answered from the store
    assert loaded(modules, CHAT_STACK) == []
