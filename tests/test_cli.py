"""The installed `assistant` command, run as a user would, against a temp store."""

import json
import os
import subprocess
import sys

import pytest

JSON_KEYS = {"question", "answer", "refused", "citations", "timings_ms"}
CITATION_KEYS = {"id": int, "source": str, "title": str, "start": int, "end": int, "text": str}


def run(settings, *args, check=False):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir),
           "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir)}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=check)


@pytest.fixture
def ingested(settings):
    result = run(settings, "ingest")
    assert result.returncode == 0, result.stderr
    return settings


def test_ingest_prints_a_summary_and_is_idempotent(ingested):
    again = run(ingested, "ingest")
    assert again.returncode == 0
    assert "0 added, 0 updated, 1 unchanged, 0 failed" in again.stdout
    listing = run(ingested, "docs").stdout
    assert "russia-crisis-responses\tRussia's Responses to the 2020 Crises" in listing


def test_ask_json_prints_exactly_one_object_with_the_schema(ingested):
    result = run(ingested, "ask", "--json", "What did Moscow do when Kyrgyzstan's government collapsed?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= JSON_KEYS and data["refused"] is False
    assert isinstance(data["answer"], str) and isinstance(data["timings_ms"], dict)
    assert data["citations"]
    source = (ingested.knowledge_dir / "russia-crisis-responses.txt").read_text()
    for citation in data["citations"]:
        for key, kind in CITATION_KEYS.items():
            assert isinstance(citation[key], kind), key
        assert f"[{citation['id']}]" in data["answer"]
        assert source[citation["start"]:citation["end"]] == citation["text"]


def test_ask_refusal_in_json_and_readable_output(ingested):
    refusal = json.loads(run(ingested, "ask", "--json", "How do I bake sourdough bread?").stdout)
    assert refusal["refused"] is True and refusal["citations"] == []
    readable = run(ingested, "ask", "How did Russia respond to the Belarus crisis?").stdout
    assert "Sources:" in readable and "[1] Russia's Responses" in readable and "characters" in readable


@pytest.mark.parametrize("question", ["", "   \t  ", "x" * 1001])
def test_bad_questions_exit_2_with_a_one_line_error(settings, question):
    result = run(settings, "ask", "--json", question)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: the question") and result.stderr.count("\n") == 1


def test_ingest_bad_inputs_report_each_file_and_exit_1(settings, tmp_path):
    (settings.knowledge_dir / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    result = run(settings, "ingest", str(settings.knowledge_dir), str(tmp_path / "nope.md"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and any("blob.txt" in e for e in errors) and any("nope.md" in e for e in errors)
    assert "1 added" in result.stdout


def test_bad_settings_are_usage_errors(settings):
    env_result = subprocess.run([sys.executable, "-m", "assistant", "docs"], capture_output=True, text=True,
                                env={**os.environ, "ASSISTANT_TOP_K": "many"}, timeout=60)
    assert env_result.returncode == 2 and "ASSISTANT_TOP_K='many' is not a valid int" in env_result.stderr
    flags = run(settings, "ingest", "--chunk-size", "100", "--chunk-overlap", "200")
    assert flags.returncode == 2 and "chunk-overlap" in flags.stderr


def test_an_unreachable_chroma_server_is_reported_in_one_line(settings):
    result = subprocess.run([sys.executable, "-m", "assistant", "ask", "What happened in Belarus?"],
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "ASSISTANT_CHROMA_HOST": "127.0.0.1", "ASSISTANT_CHROMA_PORT": "9"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot open Chroma at 127.0.0.1:9")


def test_serve_on_a_taken_port_is_a_one_line_error(settings):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run(settings, "serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: Cannot find empty port"), result.stderr
