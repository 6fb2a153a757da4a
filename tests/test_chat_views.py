"""The web chat's views without a browser: stored conversations, example questions from any corpus, partial
answers and answerability reasons, highlights per sentence, and messages without internal paths."""

import dataclasses
import json

from assistant import chats
from assistant.examples import example_questions, headings, short_title
from assistant.models import Chunk
from assistant.render import answer_html, conversation_markdown, highlight_owners, prose
from assistant.webtext import public


def _chunk(doc_id: str, text: str, start: int = 0, title: str = "Doc") -> Chunk:
    return Chunk(chunk_id=f"{doc_id}:{start}", doc_id=doc_id, title=title, source=f"{doc_id}.md", text=text,
                 start=start, end=start + len(text), paragraph=1, index=0)


def test_a_stored_answer_renders_exactly_like_the_original(essay_assistant):
    answer = essay_assistant.ask("How did Russia respond to the crisis in Belarus?")
    stored = json.loads(json.dumps(chats.record(answer)))
    again = chats.answer_from_record(stored)
    assert answer_html(again) == answer_html(answer)
    assert conversation_markdown([again]) == conversation_markdown([answer])
    assert len(stored["trace"]) == len(answer.passages) and stored["trace"][0]["rank"] == 1


def test_a_refusal_keeps_its_nearest_passages_whole_and_others_as_snippets(essay_assistant):
    answer = essay_assistant.ask("What is the best recipe for sourdough bread?", k=6)
    trace = chats.record(answer)["trace"]
    assert [t["text"] for t in trace[:chats.FULL_PASSAGES]] == [p.chunk.text for p in answer.passages[:3]]
    assert all(len(t["text"]) <= chats.SNIPPET_CHARS + 2 for t in trace[chats.FULL_PASSAGES:])


def test_conversations_new_switch_delete_and_damaged_storage():
    store = chats.normalised(None)
    first = store["active"]
    store = chats.with_turns(store, [{"question": "Q1", "answer": "", "refused": True}])
    assert chats.choices(store) == [("Q1", first)]
    store = chats.started(store)
    assert store["active"] != first and chats.started(store)["active"] == store["active"], "one empty chat at most"
    second = store["active"]
    assert chats.switched(store, first)["active"] == first and chats.switched(store, "nope") == store
    store = chats.deleted(store, second)
    assert [c["id"] for c in store["chats"]] == [first] and store["active"] == first
    damaged = {"active": "x", "chats": [{"id": "x", "turns": [{"no": "question"}]}, "junk"]}
    assert chats.normalised(damaged)["chats"][0]["turns"] == []
    assert chats.normalised({"chats": "junk"})["chats"][0]["turns"] == []


def test_a_conversation_keeps_to_one_collection():
    store = chats.normalised(None)
    first = store["active"]
    assert chats.asking(store, "glaciers", "knowledge")["active"] == first, "an empty conversation takes any"
    store = chats.with_turns(chats.asking(store, "glaciers", "knowledge"),
                             [{"question": "Q1", "answer": "", "refused": True, "collection": "glaciers"}])
    assert chats.collection_of(chats.active_chat(store), "knowledge") == "glaciers"
    assert chats.asking(store, "glaciers", "knowledge") == store
    moved = chats.asking(store, "knowledge", "knowledge")
    assert moved["active"] != first and chats.active_chat(moved)["turns"] == []
    assert chats.active_chat(moved)["collection"] == "knowledge"
    assert chats.choices(moved, "knowledge") == [("New chat", moved["active"]), ("Q1 · glaciers", first)]
    older = {"active": "x", "chats": [{"id": "x", "title": "Old", "turns": [{"question": "Q", "answer": "",
                                                                              "refused": True}]}]}
    assert chats.collection_of(chats.normalised(older)["chats"][0], "knowledge") == "knowledge"
    assert chats.asking(chats.normalised(older), "glaciers", "knowledge")["active"] != "x"


def test_examples_come_from_headings_then_title_names_then_the_title():
    survey = [_chunk("survey", "# Glacier survey\n\n## Retreat rates\n\nThe glacier lost 40 metres.", title="Glacier "
                     "survey"), _chunk("survey", "Lake Formation\n\nLakes formed below the ice.", 60,
                                       title="Glacier survey")]
    essay = [_chunk("essay", "Moscow watched Minsk.\nThen Minsk\nprotested. Minsk again.", title="Notes on Minsk")]
    plain = [_chunk("plain", "nothing capitalised here at all.", title="Untitled notes")]
    docs = [{"doc_id": "survey", "title": "Glacier survey", "ingested_at": "2026-01-03"},
            {"doc_id": "essay", "title": "Notes on Minsk", "ingested_at": "2026-01-02"},
            {"doc_id": "plain", "title": "Untitled notes", "ingested_at": "2026-01-01"}]
    assert headings(survey) == ["Glacier survey", "Retreat rates", "Lake Formation"]
    assert headings(essay) == [], "hard-wrapped lines are not headings"
    questions = example_questions(docs, survey + essay + plain)
    assert questions == ["What does “Glacier survey” say about Retreat rates?",
                         "What does “Notes on Minsk” say about Minsk?",
                         "What is “Untitled notes” about?",
                         "What does “Glacier survey” say about Lake Formation?"]
    assert example_questions([], []) == []
    assert example_questions(docs[1:2], essay) == ["What does the document say about Minsk?"]
    text = "The Tagus rises in Spain and reaches Lisbon. Ships on the Tagus leave Lisbon daily."
    report = [_chunk("report", text, title="Report")]
    assert example_questions([{"doc_id": "report", "title": "Report"}], report) == [
        "What does the document say about Tagus?", "What does the document say about Lisbon?"]


def test_long_titles_are_shortened_on_a_word_or_subtitle():
    assert short_title("War and Peace: A Study of Everything That Happened") == "War and Peace"
    long = "Russia's Responses to the 2020 Crises in Belarus, Nagorno-Karabakh and Kyrgyzstan"
    assert short_title(long).endswith("…") and len(short_title(long)) <= 49 and " " in short_title(long)


def test_a_partial_answer_is_never_called_verified_and_shows_its_passage(essay_assistant):
    answer = essay_assistant.ask("What is the population of Bishkek?")
    assert answer.partial and answer.decision == "partial"
    html = answer_html(answer)
    assert "Only partly covered by the sources" in html and "verified" not in html
    assert '<details class="sources" open>' in html and "<mark" in html
    assert "Decision:</b> partial" in html
    assert "failed</b> key_terms: the quoted passages say nothing about" in html and "population" in html
    stored = chats.answer_from_record(json.loads(json.dumps(chats.record(answer))))
    assert answer_html(stored) == html
    assert "**Only partly covered by the sources.**" in conversation_markdown([answer])


def test_answerability_reasons_explain_a_refusal(essay_assistant):
    answer = essay_assistant.ask("What did France do to stop the fighting in Nagorno-Karabakh?")
    html = answer_html(answer)
    assert "Not covered by the sources" in html
    assert "failed</b> unknown_names: the sources never mention France (France)" in html


def test_highlights_belong_to_the_sentence_they_support(essay_assistant):
    answer = essay_assistant.ask("How did Russia respond to the crisis in Belarus?")
    owners = highlight_owners(answer)
    assert sorted(i for who in owners.values() for i in who) == list(range(len(answer.sentences)))
    whole = dataclasses.replace(answer.citations[0])
    assert all(len(who) == 1 for who in owners.values()), owners
    assert whole.text.count("\n") > 0 and "\n" not in prose(whole.text) and len(prose(whole.text)) == len(whole.text)
    assert prose("one\ntwo\n\nthree") == "one two\n\nthree"


def test_messages_shown_to_users_name_no_internal_folder(settings):
    text = f"cannot open Chroma at {settings.chroma_dir}: locked; see {settings.uploads_dir / 'a.md'}"
    shown = public(text, settings)
    assert str(settings.data_dir) not in shown and "a.md" in shown and "the store" in shown


def test_a_quoted_list_item_is_highlighted_alone_and_list_items_keep_their_lines():
    from assistant.citations import _citation
    from assistant.models import AnswerSentence, Passage

    text = "Key dates:\n\n- 18 May 2022: both apply together.\n- 28 June 2022: a memorandum is signed.\n"
    assert prose(text).startswith("Key dates:\n\n- 18 May 2022: both apply together.\n- 28 June")  # lines kept
    chunk = Chunk(chunk_id="c1", doc_id="d", title="Briefing", source="b.md", text=text, start=100,
                  end=100 + len(text), paragraph=1, index=0)
    said = AnswerSentence(text="28 June 2022: a memorandum is signed.", citations=(1,), supported=True)
    citation = _citation(1, Passage(chunk=chunk, score=1.0, rank=1), [said])
    [(start, end)] = citation.sentences
    assert text[start - 100:end - 100] == "28 June 2022: a memorandum is signed."
