"""What a question relates to its subject: the attribute it asks for ("What was the *turnout*?"), an explanation
("How did X explain ...?"), a reason ("Why did X leave?"), a count of the asked thing, a sum of money, irregular and
reporting verbs. Unit checks, then the answerability stage over a small corpus written for this test, each rule
both ways: the question the sources do not answer is partial, the one they answer is answered."""

import pytest

from assistant.questions import attribute, counted, counts_other, inflects, predicate, profile
from assistant.support import parse_markers

from .corpora import assistant_over, named_check

DOCS = {
    "valdoria.md": """# The Valdorian Election

The parliamentary election in Valdoria was held on 14 March 2021 with a five percent threshold for parties.

In Ostrana the presidential election of 2019 drew a turnout of 61 percent, the lowest since independence.
""",
    "border.md": """# The Border Dispute

Valdoria closed its border with Marovia in May 2022, stranding hundreds of lorries on the mountain road.

Marovia closed its own border crossings a week later, and its interior minister said the closure was needed to
stop smuggling.
""",
    "unions.md": """# The Customs Union

Marovia left the customs union in 2012 and never returned.

Ostrana left the customs union in 2015 because its farmers had lost their markets in the east.

The trade minister Ilse Varga asserted that the union would collapse within ten years.
""",
    "floods.md": """# The Dorsk Floods

In the spring of 2018 the river Sella burst its banks at Dorsk and flooded the lower town.

Losses were heavy: by most estimates several hundred soldiers drowned while building the dykes.

The Commission announced that 40 million euros would be redirected to the valley, mostly for new housing.
""",
}


@pytest.fixture(scope="module")
def valley(tmp_path_factory, embeddings):
    """An assistant over the four documents, ingested once."""
    return assistant_over(tmp_path_factory, "valley", DOCS, embeddings)


@pytest.mark.parametrize(("question", "asked"), [
    ("What was the turnout in Kyrgyzstan's parliamentary election of 4 October 2020?", "turnout"),
    ("What is Belarus's population?", "population"),
    ("What was the GDP of Belarus in 2020?", "gdp"),
    ("What were the two immediate impacts of the Kremlin's approach?", None),  # abstract: stated in other words
    ("What was the main reason for the strike?", None),  # "reason" only frames the question
    ("What was the share of the vote?", None),  # a quantity: the answer-type check owns it
    ("What did Putin offer Lukashenko?", None),
])
def test_the_attribute_a_question_asks_for(question, asked):
    assert attribute(question) == asked


@pytest.mark.parametrize(("verb", "word", "expected"), [
    ("hold", "held", True), ("held", "holds", True), ("pay", "paid", True), ("lead", "led", True),
    ("hold", "holder", False), ("pay", "played", False),
])
def test_irregular_verb_forms_are_the_asked_verb(verb, word, expected):
    assert inflects(verb, word) is expected


def test_an_irregular_participle_after_the_subject_is_the_asked_verb():
    assert predicate("What post was Zas held in before 2020?") == "held"
    assert predicate("How much was Castell paid for the harbour?") == "paid"


def test_how_did_x_explain_and_why_questions_are_recognised():
    idf = lambda term: 1.0  # noqa: E731 (a flat weight is all the profile needs here)
    assert profile("How did Azerbaijan explain the shooting down of the helicopter?", idf).explainer == "Azerbaijan"
    assert profile("How did Azerbaijan win the war?", idf).explainer is None
    assert profile("Why did Marovia leave the customs union?", idf).why
    assert not profile("Why did Marovia leave, and when did it return?", idf).why  # compound: not held to one type


def test_a_sum_of_money_answers_how_much_money():
    sentence = "The Commission announced that 40 million euros would be redirected to the valley."
    assert counted(sentence, "How much European money went to the valley?") == ["40", "million"]
    assert counted("About 40 million people live there.", "How much European money went to the valley?") == []


def test_a_figure_counts_the_thing_named_after_it():
    assert counts_other("By most estimates several thousand soldiers were killed on each side.")
    assert counts_other("The state sector produces around half of the country's output.")
    assert not counts_other("The country has a population of 9.4 million.")
    assert not counts_other("No figure stands here.")


def test_a_marker_after_a_clause_ends_the_quoted_piece_even_before_lower_case():
    pieces = parse_markers("It employs a share of its workers. [1] workers at the tractor plant; [2]")
    assert pieces == [("It employs a share of its workers.", [1]), ("workers at the tractor plant;", [2])]
    assert parse_markers("Russia [1] and Armenia [2] signed it.") == [("Russia and Armenia signed it.", [1, 2])]


def test_an_attribute_no_quoted_sentence_names_is_a_partial_answer(valley):
    answer = valley.ask("What was the turnout in the parliamentary election in Valdoria in March 2021?")
    assert answer.refused and answer.partial
    assert named_check(answer, "attribute").passed is False and named_check(answer, "attribute").terms == ("turnout",)
    named = valley.ask("What was the turnout in the presidential election in Ostrana in 2019?")
    assert not named.refused, named.text
    assert "61 percent" in named.text


def test_how_did_x_explain_needs_a_sentence_reporting_what_was_said(valley):
    answer = valley.ask("How did Valdoria explain the closure of its border with Marovia?")
    assert answer.refused and answer.partial, answer.text
    assert named_check(answer, "reported_speech").passed is False  # Marovia's minister said something; Valdoria did not
    said = valley.ask("How did Marovia explain the closure of its border crossings?")
    assert not said.refused, said.text
    assert "smuggling" in said.text


def test_why_needs_a_reason_where_the_asked_event_is_stated(valley):
    answer = valley.ask("Why did Marovia leave the customs union in 2012?")
    assert answer.refused and answer.partial, answer.text
    assert named_check(answer, "reason").passed is False and named_check(answer, "reason").terms == ("leave",)
    given = valley.ask("Why did Ostrana leave the customs union in 2015?")
    assert not given.refused, given.text
    assert "because" in given.text


def test_how_many_x_is_not_answered_by_a_figure_counting_something_else(valley):
    answer = valley.ask("How many civilians drowned in the Dorsk floods?")
    assert answer.refused and answer.partial, answer.text
    assert named_check(answer, "answer_type").passed is False
    soldiers = valley.ask("How many soldiers drowned in the Dorsk floods?")
    assert not soldiers.refused, soldiers.text
    assert "several hundred soldiers" in soldiers.text


def test_a_verb_of_saying_answers_another(valley):
    answer = valley.ask("What did Ilse Varga claim about the customs union?")
    assert not answer.refused, answer.text
    assert named_check(answer, "predicate") is None or named_check(answer, "predicate").passed
    assert "asserted" in answer.text
