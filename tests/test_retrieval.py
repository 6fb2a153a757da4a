"""Hybrid retrieval over real Chroma with the real model."""

from langchain_core.documents import Document

from assistant.retrieval import document_to_passage


def test_hybrid_passages_carry_scores_spans_and_ids(essay_assistant):
    passages = essay_assistant.retriever.passages("Why did Russia's response in Belarus backfire?", k=3)
    assert len(passages) == 3 and [p.rank for p in passages] == [1, 2, 3]
    assert passages[0].score >= passages[1].score >= passages[2].score
    text = essay_assistant.settings.knowledge_dir.joinpath("russia-crisis-responses.txt").read_text()
    for p in passages:
        assert p.chunk.doc_id == "russia-crisis-responses" and text[p.chunk.start:p.chunk.end] == p.chunk.text
    assert "Belarus" in passages[0].chunk.text


def test_k_is_configurable_and_the_retriever_is_a_langchain_runnable(essay_assistant):
    retriever = essay_assistant.retriever
    docs = retriever.invoke("ceasefire in Nagorno-Karabakh")
    assert len(docs) == retriever.k and all(isinstance(d, Document) for d in docs)
    assert {"score", "start", "end", "doc_id", "title", "source"} <= set(docs[0].metadata)
    assert any("ceasefire" in d.page_content for d in docs[:2])
    assert document_to_passage(docs[0]).chunk.chunk_id == docs[0].id
    assert len(retriever.passages("ceasefire", k=2)) == 2


def test_lexical_side_finds_a_rare_exact_term(essay_assistant):
    lexical = essay_assistant.retriever.lexical("remittances", 3)
    assert lexical and "remittances" in lexical[0][0].text
    assert essay_assistant.retriever.lexical("zzzqqq", 3) == []


def test_dense_side_finds_a_paraphrase_with_no_shared_words(essay_assistant):
    passages = essay_assistant.retriever.passages("money that migrant laborers transfer to their families", k=2)
    assert any("remittances" in p.chunk.text for p in passages)
    assert passages[0].dense_score is not None
