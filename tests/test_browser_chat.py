"""The chat in a real browser (issue 9): scrolling to new answers (point 1), each passage once with only its own
sentence lit (3), conversations that survive a reload (9), stop / regenerate / edit / details (10) and the
small ones (11). Streaming behaviour is driven by a slow fake chat model behind the real LLM answerer."""

import itertools
import re
import time
from pathlib import Path

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.chain import build_assistant
from assistant.generate import LLMAnswerer
from assistant.settings import PROJECT_ROOT, Settings
from assistant.ui import launch

from .browser_kit import DESKTOP, ask, finished, goto, open_page, wait_finished
from .conftest import free_port

pytestmark = pytest.mark.browser
QUESTIONS = ["How did Russia respond to the crisis in Belarus?",
             "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?",
             "What could Russia have done to help Kyrgyzstan?",
             "What do the three crises say about Russia's capacity to manage crises?"]
LONG_REPLY = " ".join(f"Point {n}: Moscow chose to preserve the status quo in Belarus [1]." for n in range(1, 40))
NARROW = {"viewport": {"width": 480, "height": 720}}


class SlowChat(GenericFakeChatModel):
    """A chat model that streams its reply word by word, slowly enough to scroll and stop mid-answer."""

    delay: float = 0.02

    def _stream(self, *args, **kwargs):
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.delay)
            yield chunk


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory, embeddings):
    settings = Settings.from_env(env={}, data_dir=tmp_path_factory.mktemp("slow") / "data", port=free_port(),
                                 knowledge_dir=PROJECT_ROOT / "knowledge")
    model = SlowChat(messages=itertools.cycle([AIMessage(content=LONG_REPLY)]))
    assistant = build_assistant(settings, embeddings=embeddings, answerer=LLMAnswerer(chat_model=model, name="slow"))
    assistant.ensure_corpus()
    app, url = launch(assistant, block=False)
    yield url
    app.close()


@pytest.fixture
def page(browser, server):
    with open_page(browser, server) as page:
        yield page


def _question_in_view(page) -> dict:
    """Where the newest question and the end of its answer are, against the window and the question box, and
    whether the question is what the reader actually sees at its place (not clipped or covered)."""
    return page.evaluate("""() => { const qs = document.querySelectorAll('.conversation .turn .question');
        const question = qs[qs.length - 1], q = question.getBoundingClientRect();
        const a = question.parentElement.querySelector('.answer-text').getBoundingClientRect();
        const composer = document.getElementById('composer');
        const seen = document.elementFromPoint(q.left + 5, q.top + q.height / 2);
        return {top: q.top, answerBottom: a.bottom, height: innerHeight, seen: !!seen && question.contains(seen),
                box: composer ? composer.getBoundingClientRect().top : innerHeight}; }""")


def test_each_new_question_and_its_answer_scroll_into_view(page):
    """Point 1: after every question the page shows that question and its answer, not the first answer."""
    for question in QUESTIONS:
        ask(page, question)
        page.wait_for_timeout(150)
        where = _question_in_view(page)
        assert 0 <= where["top"] < where["box"] and where["seen"], f"{question!r} is out of view: {where}"
        assert where["answerBottom"] <= where["box"] + 1, f"the answer to {question!r} is hidden: {where}"
    assert page.evaluate("document.scrollingElement.scrollTop") > 0


def test_streaming_answer_is_followed_until_the_reader_scrolls_up_and_stop_ends_it(browser, slow_server):
    """Points 1 and 10: the writing answer stays in view; scrolling up stops that; Stop discards the answer
    and gives the question back."""
    with open_page(browser, slow_server, **NARROW) as page:
        page.fill("#question textarea", QUESTIONS[0])
        page.click("#ask")
        page.wait_for_selector("#stop", state="visible")
        page.wait_for_function("(document.querySelector('.answer.streaming .answer-text') || {}).textContent"
                               "?.length > 900", timeout=60000)
        for _ in range(3):
            where = _question_in_view(page)
            assert where["answerBottom"] <= where["box"] + 30, f"the writing answer ran out of view: {where}"
            page.wait_for_timeout(300)
        page.mouse.move(200, 300)
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(300)
        held = page.evaluate("document.scrollingElement.scrollTop")
        length = len(page.inner_text(".answer.streaming .answer-text"))
        page.wait_for_timeout(1200)
        assert len(page.inner_text(".answer.streaming .answer-text")) > length, "the answer stopped streaming"
        assert abs(page.evaluate("document.scrollingElement.scrollTop") - held) <= 2, "scrolled back down"
        page.click("#stop")
        page.wait_for_selector("#ask", state="visible")
        assert "Stopped" in page.inner_text("#conversation")
        assert page.locator(".answer.streaming").count() == 0
        assert page.input_value("#question textarea") == QUESTIONS[0]
        goto(page, slow_server)
        assert page.locator(".conversation > .turn").count() == 0, "the stopped answer was kept"


def test_each_passage_is_shown_once_as_prose_with_only_its_sentence_lit(page):
    """Point 3: sources collapsed, one passage per chip, hard line breaks joined, per-sentence highlights."""
    ask(page, QUESTIONS[0])
    answer = page.locator(".conversation > .turn .answer").last
    assert answer.locator("details.sources").get_attribute("open") is None
    sentences = answer.locator(".answer-text .sentence").all_inner_texts()
    chips = answer.locator(".answer-text .cite-chip")
    assert chips.count() >= 2, "the Belarus answer should quote two sentences"
    for i in range(chips.count()):
        chips.nth(i).click()
        passages = page.locator("blockquote.passage:visible")
        assert passages.count() == 1
        assert "\n" not in passages.first.inner_text().strip(), "hard line breaks were kept inside the paragraph"
        lit = " ".join(m.inner_text() for m in passages.first.locator("mark:not(.dim)").all())
        own = sentences[int(chips.nth(i).get_attribute("data-s"))]
        assert re.sub(r"\s+", " ", lit).strip() == own.strip()
    chips.last.click()
    assert page.locator("blockquote.passage:visible").count() == 0


def test_regenerate_answers_again_with_the_current_settings(page):
    """Point 10: Regenerate replaces the last answer; with k lowered the trace lists fewer passages."""
    ask(page, QUESTIONS[1])
    page.locator(".conversation .details").last.evaluate("d => { d.open = true; }")
    assert page.locator(".conversation .trace-table tbody tr").count() == 4
    page.click("#settings .label-wrap")
    page.fill("#k input[type=number]", "2")
    page.press("#k input[type=number]", "Enter")
    page.click("#regenerate")
    page.wait_for_timeout(300)
    wait_finished(page, 1)
    assert page.locator(".conversation > .turn").count() == 1
    page.locator(".conversation .details").last.evaluate("d => { d.open = true; }")
    assert page.locator(".conversation .trace-table tbody tr").count() == 2


def test_edit_and_resend_the_last_question(page):
    """Point 10: editing puts the last question back; asking replaces that turn instead of adding one."""
    ask(page, QUESTIONS[0])
    ask(page, QUESTIONS[1])
    page.click("#edit-last")
    page.wait_for_function(f"document.querySelector('#question textarea').value === {QUESTIONS[1]!r}")
    assert page.locator("#edit-bar").is_visible()
    page.fill("#question textarea", QUESTIONS[2])
    page.click("#ask")
    page.wait_for_timeout(300)
    wait_finished(page, 2)
    assert page.locator(".conversation > .turn .question").all_inner_texts() == QUESTIONS[:1] + QUESTIONS[2:3]
    assert not page.locator("#edit-bar").is_visible()


def test_details_show_why_an_answer_was_declined_and_the_retrieval_trace(page):
    """Point 10: behind a Details toggle, the decision with its reasons and every retrieved passage's ranks and
    scores; a partial answer is never called verified."""
    ask(page, "What is the best recipe for sourdough bread?")
    details = page.locator(".conversation .answer.refused details.details")
    assert details.is_visible() and details.get_attribute("open") is None
    details.locator("summary").click()
    text = details.inner_text()
    assert "Decision: declined" in text and "evidence score" in text
    assert "Searched for: What is the best recipe for sourdough bread?" in text
    rows = details.locator(".trace-table tbody tr")
    assert rows.count() == 4
    cells = rows.first.locator("td").all_inner_texts()
    assert re.fullmatch(r"\d\.\d{4}", cells[2]) and re.search(r"\d\.\d{3}", cells[3]), cells


def test_conversations_survive_a_reload_and_there_can_be_several(page, server):
    """Point 9: saved in this browser; a list with new and delete; export still works."""
    ask(page, QUESTIONS[0])
    goto(page, server)
    assert page.locator(".conversation > .turn .question").all_inner_texts() == QUESTIONS[:1]
    page.click("#new-chat")
    page.wait_for_selector(".conversation.empty")
    ask(page, QUESTIONS[2])
    labels = page.locator("#chat-list label").all_inner_texts()
    assert [label.strip() for label in labels[:2]] == [QUESTIONS[2], QUESTIONS[0]]
    page.locator("#chat-list label", has_text=QUESTIONS[0]).click()
    page.wait_for_function(f"document.querySelector('.conversation .question')?.textContent === {QUESTIONS[0]!r}")
    with page.expect_download() as download:
        page.click("#export")
    assert f"## 1. {QUESTIONS[0]}" in Path(download.value.path()).read_text(encoding="utf-8")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-chat")
    page.wait_for_function("document.querySelectorAll('#chat-list label').length === 1")
    goto(page, server)
    assert [label.strip() for label in page.locator("#chat-list label").all_inner_texts()] == [QUESTIONS[2]]
    assert page.locator(".conversation > .turn .question").all_inner_texts() == QUESTIONS[2:3]


def test_an_over_long_question_says_the_limit_in_words_and_keeps_the_text(page):
    """Point 11: no environment variable in the message; the question stays in the box."""
    question = "Why? " * 300
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_selector("#conversation .status.error")
    message = page.inner_text("#conversation .status.error")
    assert "at most 1,000 characters" in message and "ASSISTANT_" not in message
    assert page.input_value("#question textarea") == question
    assert finished(page) == 0


def test_no_internal_paths_and_no_dangling_footer_separator(page):
    """Point 11: the settings panel names no folder; the footer does not end in a lone separator."""
    if "Answerer" not in page.text_content("#settings"):
        page.click("#settings .label-wrap")
        page.wait_for_selector("#settings dl.settings")
    settings = page.text_content("#settings")
    assert "embedded Chroma" in settings and "/" not in settings
    footer = page.locator("footer")
    assert not footer.inner_text().strip().endswith("·")
    assert page.locator("footer .divider:visible").count() == 0


def test_ten_questions_in_a_row_stay_readable(page):
    """Asking ten questions one after another: each answer arrives and is shown where the reader looks."""
    follow_ups = QUESTIONS + ["And what about Belarus?", "Who is Aliev?", "What did Lukashenko do?",
                              "Why did that fail?", "What happened in Minsk?", "What is the capital of Peru?"]
    for n, question in enumerate(follow_ups, start=1):
        ask(page, question)
        assert finished(page) == n
        where = _question_in_view(page)
        assert 0 <= where["top"] < where["box"] and where["seen"], f"question {n} is out of view: {where}"
    assert page.errors == []
    assert len(page.locator("#chat-list label").all_inner_texts()) >= 1
    assert DESKTOP["viewport"]["width"] == page.viewport_size["width"]
