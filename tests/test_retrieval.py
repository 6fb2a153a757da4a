"""Hybrid retrieval over real Chroma with the real model."""

from langchain_core.documents import Document

from assistant.ingest import ingest
from assistant.retrieval import HybridRetriever, document_to_passage
from assistant.settings import Settings
from assistant.store import Store


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


KYRGYZSTAN = """# Kyrgyzstan: parliament, protest and power, 2020

## Background

Kyrgyzstan held a parliamentary election on 4 October 2020. Several parties close to the president did well, and \
the opposition said votes had been bought across the country. Observers reported long queues, pressure on public \
employees and buses that carried voters between polling stations. Turnout was lower than at the previous \
election, and four parties passed the threshold, three of them close to the government. Opposition leaders met on \
election night and agreed to contest the count together.

## The October crisis

On the night after the vote, thousands of protesters gathered on the central square of the capital. They stormed \
the government building, freed a jailed former president from prison and forced the election commission to annul \
the result.

Within ten days the sitting president resigned. A nationalist politician released by the crowd became acting \
prime minister and then acting head of state, and a new vote was promised for the following year.

The new leader moved quickly. He named allies to run the security services, postponed the repeat election, and \
proposed a constitution that would give the presidency back most of the powers it had lost ten years before. \
Critics called it a seizure of power dressed up as reform.

In January he won the early presidential vote with nearly eighty per cent, and a referendum on the same day \
approved a return to a presidential system.
"""
APRICOTS = """# Apricot farming in Central Asia

Farmers in Kyrgyzstan, Tajikistan and Uzbekistan grow apricots on irrigated slopes. Kyrgyzstan sends most of its \
dried apricots to Russia, and the harvest in October decides how the growers will live through the winter.

Orchards are small, often under a hectare, and most families sell their fruit to traders who dry it in the sun.
"""


def test_a_passage_that_never_names_its_subject_is_found_through_its_title_and_heading(tmp_path, embeddings):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "kyrgyzstan-2020.md").write_text(KYRGYZSTAN, encoding="utf-8")
    (folder / "apricots.md").write_text(APRICOTS, encoding="utf-8")
    settings = Settings.from_env(env={}, data_dir=tmp_path / "data", knowledge_dir=folder)
    store = Store(settings=settings)
    ingest([folder], store=store, embeddings=embeddings)
    retriever = HybridRetriever(store=store, embeddings=embeddings)
    crisis = KYRGYZSTAN.index("## The October crisis")

    top, _ = retriever.dense("Who took power in Kyrgyzstan after the October crisis?", 4)[0]
    assert top.doc_id == "kyrgyzstan-2020" and top.section == "The October crisis"
    assert top.text.startswith("The new leader") and "Kyrgyz" not in top.text and "October" not in top.text
    hits = retriever.dense("What happened in Kyrgyzstan during the October crisis?", 4)
    assert [c.doc_id for c, _ in hits[:2]] == ["kyrgyzstan-2020"] * 2 and all(c.start >= crisis for c, _ in hits[:2])
    assert all("Kyrgyz" not in c.text for c, _ in hits[:2])
