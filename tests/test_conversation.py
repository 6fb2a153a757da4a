"""Follow-up questions become standalone search queries: by rule without an LLM, by the LLM with one."""

from langchain_core.language_models import FakeListChatModel
from langchain_core.language_models.fake_chat_models import FakeListChatModelError

from assistant.conversation import is_follow_up, rewrite_query, rewrite_with_model

FIRST = "How did Russia respond to the crisis in Belarus?"


def test_what_about_swaps_the_subject():
    assert rewrite_query("And what about Kyrgyzstan?", [FIRST]) == "How did Russia respond to the crisis in Kyrgyzstan?"


def test_pronoun_follow_ups_carry_the_previous_subject():
    assert rewrite_query("Why did that fail?", [FIRST]) == "Why did that fail? (Russia respond crisis Belarus)"
    assert rewrite_query("What about the arms supplies?", ["Why was Moscow unprepared in Nagorno-Karabakh?"]) \
        == "What about the arms supplies? (Moscow unprepared Nagorno-Karabakh)"


def test_standalone_questions_are_left_alone():
    question = "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?"
    assert not is_follow_up(question)
    assert rewrite_query(question, [FIRST]) == question
    assert rewrite_query("And what about Kyrgyzstan?", []) == "And what about Kyrgyzstan?"


def test_an_llm_rewrites_follow_ups_and_a_failing_one_falls_back_to_the_rule():
    model = FakeListChatModel(responses=["Russia's response to the Kyrgyzstan crisis\nextra line"])
    assert rewrite_with_model(model, "And what about Kyrgyzstan?", [FIRST]) == \
        "Russia's response to the Kyrgyzstan crisis"

    class Broken(FakeListChatModel):
        def _call(self, *args, **kwargs):
            raise FakeListChatModelError("backend down")

    broken = Broken(responses=["unused"])
    assert rewrite_with_model(broken, "And what about Kyrgyzstan?", [FIRST]) == \
        "How did Russia respond to the crisis in Kyrgyzstan?"
    assert rewrite_with_model(model, "How did Russia respond in Belarus?", [FIRST]) == \
        "How did Russia respond in Belarus?"
