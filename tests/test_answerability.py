"""The answerability stage on a small multi-document corpus written for this test: declines what the sources do
not say, gives partial answers plainly, answers precisely (no headings, no list markers, no stale topic)."""

import json
import subprocess
import sys

import pytest

from assistant.questions import counted, expected_type, inflects, predicate, typed_items

from .corpora import assistant_over

DOCS = {
    "harbour.md": """# The Port of Valmora

## Trade

The Port of Valmora handles most of the grain exported from the northern plains. About a quarter of the
region's workers depend on the harbour for their jobs, according to the chamber of commerce.

The harbour authority was founded in 1921 by the merchant Elena Castell. Its board meets in the old customs house.

## Dredging

- Dredging of the main channel began after the floods of 2019.
- The authority plans to deepen the channel so that larger ships can dock.
""",
    "railway.md": """# The Northern Railway

The Northern Railway links Valmora with the inland city of Dorsk. Construction took eleven years and cost
close to thirty million crowns, most of it borrowed from foreign banks.

Freight trains carry grain to the harbour twice a day. The line was electrified in 1987, and passenger traffic
has fallen since a motorway opened beside it.
""",
    "floods.md": """# The 2019 Floods

In the spring of 2019 the river Sella burst its banks and flooded the lower town of Valmora. The government
declared an emergency and asked neighbouring provinces for help.

Reconstruction of the lower town was paid for by a special levy on shipping. The floods also damaged the
railway embankment near Dorsk, which was closed for two months.
""",
}


@pytest.fixture(scope="module")
def town(tmp_path_factory, embeddings):
    """An assistant over the three documents, ingested once."""
    return assistant_over(tmp_path_factory, "town", DOCS, embeddings)


def _failed(answer) -> list[str]:
    """The checks that failed, by name."""
    return [c.check for c in answer.checks if not c.passed]


def test_a_name_the_corpus_never_mentions_declines_and_says_which(town):
    answer = town.ask("What did Portugal do to help after the floods?")
    assert answer.refused and not answer.partial and answer.citations == []
    assert answer.unmentioned == ["Portugal"] and _failed(answer) == ["unknown_names"]
    assert answer.decision == "declined" and "Portugal" in answer.checks[-1].detail


def test_a_number_the_sources_do_not_give_is_a_partial_answer_never_verified(town):
    answer = town.ask("How many ships dock at the Port of Valmora each year?")
    assert answer.refused and answer.partial and answer.decision == "partial"
    assert answer.text.startswith("The sources mention ") and " but do not say " in answer.text
    assert answer.citations and answer.verified_sentences == 0
    assert any(c.check in ("answer_type", "key_terms") and not c.passed for c in answer.checks)
    data = answer.to_json()
    assert data["refused"] is True and data["partial"] is True and data["answerability"]["decision"] == "partial"


def test_a_fact_the_sources_do_not_state_about_a_known_name_is_not_answered(town):
    answer = town.ask("Who designed the bridges of Dorsk?")
    assert answer.refused


@pytest.mark.parametrize(("question", "expected"), [
    ("What share of the region's workers depend on the harbour?", "About a quarter"),
    ("How much did the Northern Railway cost to build?", "close to thirty million crowns"),
    ("In which year was the harbour authority founded?", "1921"),
    ("Who founded the harbour authority?", "Elena Castell"),
])
def test_answers_of_the_asked_type_are_found_even_in_words(town, question, expected):
    answer = town.ask(question)
    assert not answer.refused, answer.checks
    assert expected in answer.text and answer.verified_sentences == len(answer.sentences)
    assert [c.check for c in answer.checks if c.passed][-1] in ("answer_type", "key_terms")


def test_answer_text_never_holds_headings_or_list_markers(town):
    answer = town.ask("When did dredging of the main channel begin?")
    assert not answer.refused and "2019" in answer.text
    assert "#" not in answer.text and "- " not in answer.text.split("[")[0][:3]
    assert not any(s.text.startswith(("-", "#", "Dredging\n")) for s in answer.sentences)
    source = (town.settings.knowledge_dir / "harbour.md").read_text()
    for c in answer.citations:
        assert source[c.start:c.end] == c.text if c.source.endswith("harbour.md") else True


def test_a_follow_up_does_not_mix_in_the_previous_topic(town):
    first = town.ask("What damage did the floods do to the railway near Dorsk?")
    assert not first.refused
    follow = town.ask("And what about Valmora?", history=[first.question])
    assert "Valmora" in follow.search_query
    assert all("Dorsk" not in s.text or "Valmora" in s.text for s in follow.sentences)


def test_an_answer_from_several_documents_says_which_source_each_sentence_is_from(town):
    answer = town.ask("How is grain moved from the plains to the Port of Valmora and by which railway?")
    titles = {s.source for s in answer.sentences}
    if len({c.doc_id for c in answer.citations}) > 1:
        assert len(titles) > 1 and "" not in titles
    else:
        assert titles == {""}


def test_every_decision_records_its_checks_in_the_json(town, tmp_path):
    env = {"ASSISTANT_DATA_DIR": str(town.settings.data_dir), "ASSISTANT_KNOWLEDGE_DIR":
           str(town.settings.knowledge_dir), "ASSISTANT_ENV_FILE": "/dev/null", "HF_HUB_OFFLINE": "1",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "What did Portugal do to help?"],
                         capture_output=True, text=True, env=env, timeout=120)
    data = json.loads(out.stdout)
    reasons = data["answerability"]["reasons"]
    assert data["refused"] and reasons[-1]["check"] == "unknown_names" and reasons[-1]["terms"] == ["Portugal"]
    assert "retrieval" in data and all("dense_rank" in p for p in data["retrieval"]["passages"])


@pytest.mark.parametrize(("question", "kind"), [
    ("How many people work there?", "quantity"), ("In which year did it open?", "date"),
    ("Who founded it?", "person"), ("Where is the port?", "place"), ("How much did the ticket cost?", "price"),
    ("Which countries signed? Name them.", "names"), ("Why did the plan fail?", None),
])
def test_question_types(question, kind):
    assert expected_type(question) == kind


@pytest.mark.parametrize("sentence", ["about a quarter of them", "close to thirty percent", "a fifth of exports",
                                      "two thousand workers", "12,500 people", "40%"])
def test_numbers_written_in_words_count_as_quantities(sentence):
    assert typed_items(sentence, "quantity", "How many?")


def test_a_sentence_with_no_figure_holds_no_quantity():
    assert typed_items("The harbour is important for the town.", "quantity", "How many?") == []


def test_answers_never_exceed_the_configured_number_of_sentences(town):
    questions = ["How is grain moved to the Port of Valmora, and what happened in Dorsk during the floods?",
                 "What do Valmora, Dorsk and the river Sella have to do with each other?"]
    for question in questions:
        answer = town.ask(question)
        assert len(answer.sentences) <= town.settings.max_answer_sentences, answer.text


@pytest.mark.parametrize(("question", "verb"), [
    ("What was Almazbek Atambayev charged with after the raid?", "charged"),
    ("What post did Stanislav Zas hold before 2020?", "hold"), ("What does Belarus supply?", "supply"),
    ("Why did Russia say it was not bound?", None), ("What did France do?", None),
    ("In which lines of work are Central Asian migrants employed?", None),
    ("Which towns did Azerbaijani forces capture?", None), ("In what year was Kyrgyzstan's first crisis?", None),
])
def test_the_verb_a_question_asks_about_its_named_subject(question, verb):
    assert predicate(question) == verb


def test_a_verb_the_sources_never_say_of_the_subject_is_a_partial_answer(town):
    answer = town.ask("What was Elena Castell praised for when she founded the harbour authority?")
    assert answer.refused and answer.partial and _failed(answer) == ["predicate"]
    assert "praised" in answer.text and answer.verified_sentences == 0
    founded = town.ask("In which year did Elena Castell found the harbour authority?")
    assert not founded.refused and "1921" in founded.text, founded.checks


def test_a_figure_that_counts_the_asked_thing_answers_how_many():
    question = "How many people live in Belarus?"
    assert counted("Belarus is a country of a little over nine million people.", question) == ["nine", "million"]
    assert counted("Several thousand soldiers were killed.", "How many civilians were killed?") == []
    assert counted("Any figure at all: 40 percent.", "What share of the vote?") == []


@pytest.mark.parametrize(("verb", "word", "expected"), [
    ("log", "logged", True), ("stop", "stopping", True), ("make", "making", True), ("supply", "supplies", True),
    ("log", "logo", False), ("hold", "holiday", False),
])
def test_an_inflected_verb_is_the_asked_verb(verb, word, expected):
    assert inflects(verb, word) is expected
