"""Names in answers: who holds a role (a name answers it, not a role word or a country), a typed answer next to its
subject and not merely under a title that names several subjects, parts of hyphenated names, and the wording of
partial answers. Unit checks, then the answerability stage over a small corpus written for this test, each rule
both ways."""

import pytest

from assistant.lexical import LexicalIndex
from assistant.questions import asks_holder, reasons, term_in, typed_items

from .corpora import assistant_over, named_check

DOCS = {
    "crises.md": """# Three Crises: Arland, Belmont and Corvia

Each of the three crises began with a dispute that neighbours had ignored for years.

In Arland the long dispute over the mountain pass ended in 2019, when President Oskar Lind signed the accord.

In Corvia the government fell after the disputed vote, and the capital has been quiet but tense ever since.

The best way to keep the Belmont talks alive was to pay both delegations' travel costs.

The Vel-Tarsk border region saw heavy shelling in the autumn.
""",
    "council.md": """# The River Council

The river council's chairman Tomas Brede explained that the sluice gates stayed shut to protect the lower farms.
""",
}


@pytest.fixture(scope="module")
def crises(tmp_path_factory, embeddings):
    """An assistant over the two documents, ingested once."""
    return assistant_over(tmp_path_factory, "crises", DOCS, embeddings)


@pytest.mark.parametrize(("question", "holder"), [
    ("Who became president of Corvia?", True),
    ("Who is the new prime minister?", True),
    ("Which minister resigned in May?", True),
    ("Who was the acting president in 2020?", True),
    ("Who did the president blame for the shelling?", False),  # the president is the subject, not the asked role
    ("Who brokered the ceasefire?", False),
    ("Which countries signed the accord?", False),
])
def test_a_question_asking_who_holds_a_role(question, holder):
    assert asks_holder(question) is holder


def test_a_role_holder_is_a_persons_name_not_a_role_or_a_country():
    question = "Who became president of Kyrgyzstan?"
    assert typed_items("The government fell and officials fled to Moscow.", "person", question) == []
    assert any("Japarov" in n for n in typed_items("Sadyr Japarov took office in January.", "person", question))
    assert typed_items("The truce was brokered by Moscow.", "person", "Who brokered the truce?") == ["Moscow"]


def test_a_part_of_a_hyphenated_name_is_the_name():
    assert term_in("tarsk", {"vel-tarsk", "border"}) and not term_in("tars", {"vel-tarsk"})
    index = LexicalIndex.build(["a"], ["The Vel-Tarsk border region saw heavy shelling."])
    assert index.contains("tarsk") and index.contains("vel") and not index.contains("marsk")


def test_a_purpose_is_a_reason():
    assert reasons("The best way to keep the talks alive was to pay their costs.")
    assert not reasons("The talks were held in the capital and lasted two days.")


def test_a_name_under_a_title_naming_several_subjects_does_not_answer_who_holds_a_role_in_another(crises):
    answer = crises.ask("Who became president of Corvia?")
    assert answer.refused and "Oskar Lind" not in answer.text, answer.text
    named = crises.ask("Who signed the accord that ended the Arland dispute in 2019?")
    assert not named.refused and "Oskar Lind" in named.text, named.text


def test_a_part_of_a_hyphenated_name_is_not_an_unknown_name(crises):
    answer = crises.ask("When was Tarsk shelled?")
    assert named_check(answer, "unknown_names").passed, answer.text
    assert not answer.refused and "autumn" in answer.text


def test_a_partial_answer_names_what_is_missing_in_plain_words(crises):
    answer = crises.ask("How did Oskar Lind explain the accord?")  # "accord" is no verb of saying
    assert answer.refused and answer.partial, answer.text
    assert answer.text.startswith("The sources mention Oskar Lind but do not say ") and "“Oskar" not in answer.text
    explained = crises.ask("How did Tomas Brede explain the shut sluice gates?")
    assert not explained.refused and "to protect the lower farms" in explained.text, explained.text


def test_a_question_naming_a_year_needs_a_sentence_set_then(crises):
    answer = crises.ask("What happened in Corvia in 2018?")
    assert answer.refused and answer.partial, answer.text
    assert named_check(answer, "time").passed is False and named_check(answer, "time").terms == ("2018",)
    assert answer.text.startswith("The sources mention Corvia but do not say what happened in 2018.")
    dated = crises.ask("What happened in Arland in 2019?")
    assert not dated.refused and "2019" in dated.text, dated.text
