"""What kind of answer a question wants, from rules first met on the arctic suite's dev split: names behind a
modifier ("which nine states"), a share of a whole (answers "what portion", never "how many kroner"), the kind of
body a name must be said to be ("which company"), a verb after a long institutional name, a year after "since"
(how long, not when), and the heading a passage stands under. Unit checks, then the answerability stage over a
small corpus written for this test, each rule both ways."""

import pytest

from assistant.chunking import chunk_document, is_heading
from assistant.documents import load
from assistant.questions import (
    expected_type,
    explainer,
    group_count,
    holds_attribute,
    kind_noun,
    measure_asked,
    measured,
    name_in,
    predicate,
    term_in,
    typed_items,
)
from assistant.text import entities, terms

from .corpora import assistant_over, named_check

DOCS = {
    "islands.md": """# The Vessel Islands

The Vessel Islands lie in the northern sea, far from the mainland. Nella, the only town, is home to about a third
of the islanders. Counting every island, the whole group covers roughly four thousand square kilometres.

The other pillar of the economy is an annual grant from Ostmark, which covers around half of public revenue.

The most disputed mine, at Kargfell near Tolby in the south, combined zinc with uranium.

The fishing company Nordhav Trading runs the harbour at Nella under a lease from the island council.

The accord was signed at Harwick in 1921 by seven states, in the talks that followed the long war.

The Storm class, a new generation of ferries, can carry about four hundred passengers each.

Tolby is the second settlement, with some 800 people, and the home of the islands' only school.

After a referendum in 2008, the Home Rule Act came into force on 1 May 2009, the islands' national day.

Four bodies advise the island council on fishing. They are the Fishers' Guild, the Harbour Board, the Net Makers'
Union and the Elders' Circle, each advising the island council on fishing in turn.
""",
    "ostmark.md": """# Ostmark

Ostmark is a small republic covering about 3,000 square kilometres on the coast.

Close to two hundred thousand people live there, most of them in the capital.

In Westria a quarter of the population speaks the Ostmark dialect.
""",
    "governor.md": """# The Governor

The islands voted in 2020. Governor Ilsa Marr, in office since 1994, was re-elected with a large majority.
""",
}


@pytest.fixture(scope="module")
def islands(tmp_path_factory, embeddings):
    """An assistant over the islands document, ingested once."""
    return assistant_over(tmp_path_factory, "islands", DOCS, embeddings)


@pytest.mark.parametrize(("question", "kind"), [
    ("Which nine states originally signed the accord?", "names"),
    ("Which non-Arctic countries are observers?", "names"),
    ("Which political parties hold seats in the council?", "names"),
    ("Which year was it signed in?", "date"),
    ("Which mining company runs the pit?", "names"),
])
def test_names_are_asked_for_behind_modifiers(question, kind):
    assert expected_type(question) == kind


@pytest.mark.parametrize(("question", "verb"), [
    ("What did the Commission on the Limits of the Continental Shelf recommend on the submission?", "recommend"),
    ("What did Bank of Ostmark decide?", "decide"),
    ("Why did the Vessel head of state step down?", None),  # "head" is a noun: no verb is read after "the Vessel"
    ("What post did Marr hold?", "hold"),
])
def test_the_asked_verb_after_a_long_institutional_name(question, verb):
    assert predicate(question) == verb


def test_a_share_answers_what_portion_and_never_how_many():
    share = "Nella, the only town, is home to about a third of the islanders."
    assert typed_items(share, "quantity", "Roughly what portion of islanders live in Nella?") == ["a third"]
    grant = "The annual grant from Ostmark covers around half of public revenue."
    assert typed_items(grant, "quantity", "How many kroner does the annual grant amount to?") == []
    assert typed_items(grant, "quantity", "How much of public revenue does the grant cover?") == ["half"]
    assert "half" in typed_items("About half a million people protested.", "quantity", "How many people protested?")


def test_the_noun_a_which_or_how_many_question_asks_about():
    assert kind_noun("Which company is behind the Kargfell mine?") == "company"
    assert kind_noun("Which mining firm runs it?") == "firm"
    assert kind_noun("Which nine states signed the accord?") == "states"
    assert kind_noun("How many kroner is the grant?") == "kroner"
    assert kind_noun("How many people live there?") is None  # too general to be missed
    assert kind_noun("Which countries signed it?") is None  # a list of country names need not say "countries"
    assert kind_noun("What did the council decide?") is None


def test_a_sentence_that_counts_a_group_names_it_only_in_a_list():
    question = "Which non-member states are observers?"
    summary = "Thirteen non-member states hold observer status, several of them European and some from Asia."
    assert group_count(summary) == 13 and typed_items(summary, "names", question) == []
    full = "The two observer states, Ostmark and Vessel, joined in 1998."
    assert typed_items(full, "names", question) == ["Ostmark", "Vessel"]


def test_a_sentence_about_the_subject_in_other_words_is_on_subject(islands):
    answer = islands.ask("How big is the Vessel archipelago?")
    assert not answer.refused, answer.checks
    assert "square kilometres" in answer.text  # the sentence says "the whole group" and "island", never "archipelago"


def test_a_share_in_a_sentence_on_the_subject_answers_what_portion(islands):
    answer = islands.ask("Roughly what portion of the islanders reside in Nella?")
    assert not answer.refused, answer.checks
    assert "a third" in answer.text
    assert named_check(answer, "answer_type").passed


def test_a_share_is_no_count_of_money(islands):
    answer = islands.ask("How many kroner is the annual grant from Ostmark?")
    assert answer.refused and answer.partial, answer.text
    assert not named_check(answer, "answer_type").passed


def test_a_place_is_no_company_and_a_company_is_one(islands):
    place = islands.ask("Which company is behind the disputed zinc and uranium mine at Kargfell?")
    assert place.refused and place.partial, place.text
    assert not named_check(place, "answer_type").passed
    company = islands.ask("Which company runs the harbour at Nella?")
    assert not company.refused, company.checks
    assert "Nordhav Trading" in company.text


def test_a_count_of_states_does_not_name_them(islands):
    answer = islands.ask("Which seven states signed the accord at Harwick?")
    assert answer.refused, answer.text
    assert not named_check(answer, "answer_type").passed


def test_since_a_year_tells_how_long_not_when(islands):
    answer = islands.ask("With what majority was Governor Ilsa Marr re-elected in 2020?")
    assert "since 1994" in answer.text and not answer.refused, answer.checks  # set in its paragraph's 2020


def test_the_heading_a_passage_stands_under_sets_its_time(tmp_path, tmp_path_factory, embeddings):
    text = ("# Rivermark\n\nRivermark is a small republic on the coast.\n\n## The crisis of 2020\n\n"
            + "\n\n".join(f"Filler paragraph {n} about the harbour trade and the fishing fleet of the coast, which "
                          f"grew every decade." for n in range(6))
            + "\n\nThe parliament dissolved itself and the ministers resigned.\n")
    path = tmp_path / "rivermark.md"
    path.write_text(text, encoding="utf-8")
    last = chunk_document(load(path, root=tmp_path))[-1]
    assert last.section == "The crisis of 2020" and "2020" not in last.text
    assistant = assistant_over(tmp_path_factory, "rivermark", {"rivermark.md": text}, embeddings)
    answer = assistant.ask("What happened to the parliament of Rivermark in 2020?")
    time = named_check(answer, "time")
    assert time is None or time.passed, answer.text
    assert "dissolved" in answer.text


def test_a_hyphenated_name_is_known_by_its_parts(islands):
    answer = islands.ask("How many passengers can Storm-class ferries carry?")
    assert named_check(answer, "unknown_names").passed, answer.text  # the text writes "the Storm class"
    assert not answer.refused and "four hundred" in answer.text


def test_a_figure_in_the_unit_of_the_asked_attribute_answers_it(islands):
    answer = islands.ask("What is the population of Tolby?")
    assert not answer.refused, answer.checks  # "some 800 people": a population, though the word is not there
    assert measured("population", "with some 800 people") and not measured("population", "the people voted")
    assert not measured("area", "some 800 people")


def test_a_light_verb_is_not_the_asked_relation(islands):
    answer = islands.ask("When were the Vessel Islands granted home rule?")
    assert named_check(answer, "predicate") is None, answer.checks  # "granted": what is asked is the home rule
    assert not answer.refused and "2009" in answer.text


def test_a_sentence_opening_with_a_pronoun_is_quoted_with_the_one_before_it(islands):
    answer = islands.ask("Name the bodies that advise the island council on fishing.")
    assert "Fishers' Guild" in answer.text, answer.text
    assert "Four bodies advise" in answer.text  # what "They" stands for
    for sentence in answer.sentences:
        assert not sentence.text.startswith(("They ", "It ")) or "Four bodies" in answer.text


@pytest.mark.parametrize(("question", "verb"), [
    ("Why did Vilnius decide it needed a floating terminal?", None),  # the clause is asked, not the deciding
    ("Why did the council agree to close the harbour?", None),
    ("What did the council decide about the harbour?", None),
    ("In what year was Nella founded?", "founded"),  # "founded" is not "found", the past of "find"
    ("Why did the tanker Eagle S drag its anchor?", "drag"),  # a name after the common noun it is
])
def test_the_asked_verb_is_the_one_that_carries_the_question(question, verb):
    assert predicate(question) == verb


def test_a_fraction_in_words_of_any_size_is_a_share():
    sentence = "By most estimates around nine-tenths of the world's amber lies in the region."
    assert typed_items(sentence, "quantity", "How much of the world's amber lies there?") == ["nine-tenths"]


def test_a_name_standing_as_a_modifier_is_no_person():
    question = "Who led Lithuania when it declared independence?"
    assert typed_items("It became the first Soviet republic to declare independence.", "person", question) == []
    assert typed_items("In 1990 Vytautas Landsbergis led the country.", "person", question) == ["Vytautas Landsbergis"]
    assert typed_items("The truce was brokered by Moscow.", "person", "Who brokered the truce?") == ["Moscow"]


def test_a_list_spelling_out_the_questions_own_group_names_no_other_members():
    question = "Which four other countries joined the alliance together with the Vessel states?"
    own = "The three Vessel states, Nella, Tolby and Harwick, together have a population of about six thousand."
    assert typed_items(own, "names", question) == []
    others = "The treaty was signed by three countries, Ostmark, Kargland and Westria."
    assert typed_items(others, "names", "Which countries signed the treaty?") == ["Ostmark", "Kargland", "Westria"]


def test_what_someone_said_needs_a_sentence_reporting_their_words(islands):
    assert explainer("What did Ursula von der Leyen say at the ceremony?") == "Ursula von der Leyen"
    answer = islands.ask("What did Governor Ilsa Marr say after she was re-elected?")
    assert answer.refused and answer.partial, answer.text
    assert named_check(answer, "reported_speech") is not None and not named_check(answer, "reported_speech").passed


def test_names_with_capitals_beyond_ascii_are_names():
    assert entities("When did Sweden cede the Åland Islands to Russia, and what of Świnoujście?") == [
        "Sweden", "Åland Islands", "Russia", "Świnoujście"]
    assert name_in("Åland Islands", set(terms("The Åland Islands lie in the Baltic.")))


def test_a_verb_ending_in_e_and_its_past_share_a_stem():
    assert term_in("cede", set(terms("it ceded Finland"))) and term_in("vote", set(terms("they voted")))
    assert not term_in("cede", set(terms("it ceased")))


def test_a_how_large_question_is_answered_by_a_figure_in_its_dimension(islands):
    assert measure_asked("How large is the Vessel group?", "a territory of about 4,000 square kilometres")
    assert not measure_asked("How large is the Vessel group?", "about 4,000 people live there")
    answer = islands.ask("How large is the Vessel archipelago?")
    assert not answer.refused and "square kilometres" in answer.text, answer.checks


def test_a_line_of_two_sentences_or_a_long_lead_in_is_no_heading():
    assert not is_heading("No government has named the perpetrators. The inquiries went separate ways:")
    assert not is_heading("The inquiries into the explosions went three separate ways:")
    assert is_heading("Who investigated") and is_heading("## The taps close") and is_heading("Key dates:")


def test_a_population_is_a_count_of_people_in_a_passage_on_the_subject_and_a_follow_up_asks_for_it(islands):
    answer = islands.ask("What is the population of Ostmark?")
    assert not answer.refused and "two hundred thousand people" in answer.text, answer.text
    follow_up = islands.ask("And what about its population?", history=["How large is Ostmark?"])
    assert not follow_up.refused and "two hundred thousand people" in follow_up.text, follow_up.text


def test_a_share_of_a_population_is_no_population():
    assert not holds_attribute("population", "In Westria a quarter of the population speaks the Ostmark dialect.")
    assert holds_attribute("population", "Belarus has a population of 9.4 million.")
    assert holds_attribute("population", "Close to two hundred thousand people live there.")
