"""Answerability rules beyond the basic checks: other names for the same thing (a country's capital, demonym and
short forms; an acronym spelled out), lists of names, the dates a sentence inherits from its passage and the name a
figure must stand next to: unit checks, then the answerability stage over a small corpus written for this test."""

import pytest

from assistant.aliases import expansions, forms
from assistant.questions import dates, listed, name_in, new_names
from assistant.text import collapse, sentence_spans, terms

from .corpora import assistant_over

DOCS = {
    "ceasefire.md": """# The Mountain Ceasefire

Azerbaijan and Armenia agreed to a ceasefire in the mountains after six weeks of fighting. The Armenian
government said the terms were painful but unavoidable.

The talks were chaired by the Organization for Security and Co-operation in Europe (OSCE) in a neutral city.
""",
    "vote.md": """# The Spring Vote

The parliamentary election was held on 14 March 2021 in the republic of Valdoria. The ruling party received
62 percent of the vote, and the opposition called the count unfair.

The treaty on river traffic was signed by Chile, Peru and Bolivia after long talks.
""",
    "alliance.md": """# The Alliance in 2022

In January 2022 the CSTO sent about two thousand troops to Kazakhstan to guard airports.
""",
    "alliance-forces.md": """# The Alliance's Forces

The CSTO also has a Collective Rapid Reaction Force, created in 2009, and holds joint exercises.
""",
}


def test_a_country_is_known_by_its_capital_demonym_and_short_forms():
    assert {"Azerbaijan", "Azerbaijani"} <= set(forms("Baku"))
    assert {"United States", "American"} <= set(forms("US"))
    assert "Armenia" in forms("Yerevan") and "Yerevan" in forms("Armenian")
    assert forms("Kremlin") == ("Kremlin",) and forms("Us") == ("Us",)
    assert forms("ARM") == ("ARM",)  # a three-letter ISO code is more often a word than a country


def test_a_name_is_present_where_another_name_of_its_country_is():
    assert name_in("Baku", set(terms("Azerbaijan launched an offensive.")))
    assert name_in("US", set(terms("an American air base")))
    assert not name_in("Baku", set(terms("Armenia agreed to a ceasefire.")))


def test_an_acronym_spelled_out_is_found_and_its_words_are_not_new_names():
    sentence = "Talks were led by the Organization for Security and Co-operation in Europe (OSCE), chaired by three."
    assert expansions("OSCE", sentence) == ["Organization", "Security", "Co-operation", "Europe"]
    assert expansions("NATO", sentence) == [] and expansions("Osce", sentence) == []
    assert new_names(sentence, "Which countries chaired the OSCE Minsk Group?") == []


def test_a_list_of_names_is_names_standing_in_a_list():
    names = ["Siarhei Tsikhanouski", "Viktar Babaryka", "Valery Tsapkala"]
    sentence = "Three challengers drew crowds: the blogger Siarhei Tsikhanouski, the banker Viktar Babaryka and " \
               "Valery Tsapkala."
    assert listed(sentence, names) == names
    scattered = "Armenian forces held not only Nagorno-Karabakh itself but also nearby districts."
    assert listed(scattered, ["Armenian", "Nagorno-Karabakh"]) == []


def test_a_sentence_inherits_the_years_and_months_of_its_passage():
    assert dates("The vote was held on 14 March 2021. The party received 62 percent.") == "March 2021"


@pytest.fixture(scope="module")
def region(tmp_path_factory, embeddings):
    """An assistant over the two documents, ingested once."""
    return assistant_over(tmp_path_factory, "region", DOCS, embeddings)


def test_a_capital_standing_for_its_country_is_not_an_unknown_name(region):
    answer = region.ask("What did Baku and Yerevan agree to in the mountains?")
    assert not answer.refused, answer.checks
    assert "ceasefire" in answer.text and answer.unmentioned == []


def test_a_capital_of_a_country_the_corpus_never_names_still_declines(region):
    answer = region.ask("What did Lisbon agree to in the mountains?")
    assert answer.refused and answer.unmentioned == ["Lisbon"]


def test_a_figure_is_answered_when_its_passage_sets_the_date(region):
    answer = region.ask("What share of the vote did the ruling party get in the March 2021 election?")
    assert not answer.refused, answer.checks
    assert "62 percent" in answer.text


def test_a_list_question_wants_the_names_in_a_list(region):
    answer = region.ask("Which countries signed the treaty on river traffic? Name them.")
    assert not answer.refused and "Chile, Peru and Bolivia" in answer.text
    chaired = region.ask("Which three countries chaired the OSCE talks? Name them.")
    assert chaired.refused


def test_a_wrapped_line_that_ends_mid_sentence_is_no_heading():
    from assistant.answer import prose_pieces

    text = "The vote was held in March. The ruling party received\n62 percent of the vote.\n\n## Results\nCounted."
    spans = [piece for span in sentence_spans(text) for piece in prose_pieces(text, *span)]
    assert [collapse(text[s:e]) for s, e in spans] == ["The vote was held in March.",
                                                         "The ruling party received 62 percent of the vote.",
                                                         "Counted."]


def test_a_figure_must_stand_next_to_the_most_specific_name_asked_about(region):
    answer = region.ask("How many troops make up the CSTO's Collective Rapid Reaction Force?")
    assert answer.refused and answer.partial, answer.text
    sent = region.ask("How many troops did the CSTO send to Kazakhstan?")
    assert not sent.refused and "two thousand troops" in sent.text
