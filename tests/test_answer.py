"""The extractive answerer through the real chain: cited sentences, valid numbering, refusals."""

import re

import pytest

from assistant.answer import Draft
from assistant.citations import parse, verify
from assistant.support import supports
from assistant.text import collapse

QUESTIONS = [
    "How did Russia respond to the crisis in Belarus?",
    "Why should the Azerbaijani offensive not have surprised Moscow?",
    "What could Russia have done to help Kyrgyzstan with its economic leverage?",
    "How did Moscow try to keep the status quo between Armenia and Azerbaijan?",
]
OFF_TOPIC = ["What is the best recipe for sourdough bread?", "How do I reverse a linked list in Python?",
             "Who won the football world cup in 2018?"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_citation_points_at_a_passage_that_contains_the_cited_sentence(essay_assistant, question):
    answer = essay_assistant.ask(question)
    assert not answer.refused and answer.sentences and answer.citations
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert set(markers) == {c.id for c in answer.citations}
    by_id = {c.id: c for c in answer.citations}
    for sentence in answer.sentences:
        assert sentence.citations and sentence.supported
        for n in sentence.citations:
            assert collapse(sentence.text) in collapse(by_id[n].text)
    source = essay_assistant.settings.knowledge_dir.joinpath("russia-crisis-responses.txt").read_text()
    for c in answer.citations:
        assert source[c.start:c.end] == c.text
        assert c.sentences and all(c.start <= s < e <= c.end for s, e in c.sentences)


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_are_refused_and_cite_nothing(essay_assistant, question):
    answer = essay_assistant.ask(question)
    assert answer.refused and answer.citations == [] and "do not cover" in answer.text
    assert answer.evidence_score < essay_assistant.settings.min_evidence


def test_answer_json_has_timings_for_each_stage(essay_assistant):
    data = essay_assistant.ask(QUESTIONS[0]).to_json()
    assert {"retrieve", "answer", "citations", "total"} <= set(data["timings_ms"])


def test_citation_parsing_handles_marker_styles():
    parsed = parse("First claim [1]. Second claim. [2] Third [1, 3] claim. Fourth 【2】.")
    assert parsed == [("First claim.", [1]), ("Second claim.", [2]), ("Third claim.", [1, 3]),
                      ("Fourth.", [2])]


def test_verify_drops_out_of_range_markers_and_renumbers(essay_assistant):
    passages = essay_assistant.retriever.passages("arms to Armenia and Azerbaijan", k=3)
    quote = collapse(passages[1].chunk.text.split(".")[0]) + "."
    draft = Draft(question="q", text=f"{quote} [2][7]", refused=False, passages=passages, answerer="test")
    answer = verify(draft)
    assert answer.text == f"{quote} [1]" and len(answer.citations) == 1
    assert answer.citations[0].text == passages[1].chunk.text and answer.sentences[0].supported
    assert supports(quote, [passages[1].chunk.text])
    nothing = verify(Draft(question="q", text="Unsupported claim [9].", refused=False, passages=passages,
                           answerer="test"))
    assert nothing.refused and nothing.citations == []


def test_a_copied_document_does_not_duplicate_passages_or_sentences(settings, embeddings):
    from assistant.chain import build_assistant

    copy = settings.knowledge_dir / "copy-of-essay.txt"
    copy.write_text((settings.knowledge_dir / "russia-crisis-responses.txt").read_text())
    assistant = build_assistant(settings, embeddings=embeddings)
    assistant.ensure_corpus()
    assert len(assistant.store.manifest.documents) == 2
    answer = assistant.ask("What could Russia have done to help Kyrgyzstan?")
    texts = [p.chunk.text for p in answer.passages]
    assert len(texts) == len(set(texts)) == assistant.settings.top_k
    sentences = [s.text for s in answer.sentences]
    assert len(sentences) == len(set(sentences))
    assert len({c.text for c in answer.citations}) == len(answer.citations)


def test_names_the_sources_never_mention_are_reported(essay_assistant):
    china = essay_assistant.ask("What role did China play in responding to the unrest in Kyrgyzstan?")
    assert china.unmentioned == ["China"] and china.to_json()["unmentioned"] == ["China"]
    assert essay_assistant.ask("What sanctions did the European Union impose on Belarus?").unmentioned == \
        ["European Union"]
    assert essay_assistant.ask("How did Russia respond to the crisis in Belarus?").unmentioned == []
    from assistant.render import answer_html

    assert "The sources never mention: China." in answer_html(china)
