"""Chunks are whole sentences whose spans map back to the exact normalised source text."""

from pathlib import Path

import pytest

from assistant.chunking import chunk_document, split_sentences
from assistant.documents import load
from assistant.models import SourceDocument
from assistant.text import normalise, paragraph_spans, sentence_spans

from .conftest import ESSAY


def _doc(text: str) -> SourceDocument:
    return SourceDocument(doc_id="d", title="t", source="s", text=normalise(text), sha256="x")


def test_essay_chunk_spans_map_back_to_the_exact_source_text():
    doc = load(ESSAY, root=ESSAY.parent)
    chunks = chunk_document(doc, size=500, overlap=120)
    assert len(chunks) >= 5
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert normalise(ESSAY.read_text(encoding="utf-8"))[chunk.start:chunk.end] == chunk.text


@pytest.mark.parametrize(("size", "overlap"), [(200, 0), (500, 120), (700, 150), (2000, 300)])
def test_chunks_never_cut_a_sentence_and_cover_the_whole_text(size, overlap):
    doc = load(ESSAY, root=ESSAY.parent)
    sentences = split_sentences(doc)
    starts, ends = {s for s, _, _ in sentences}, {e for _, e, _ in sentences}
    chunks = chunk_document(doc, size=size, overlap=overlap)
    longer = [(s, e) for s, e, _ in sentences if e - s > size]  # only these may be cut (on a space)
    for chunk in chunks:
        assert chunk.start in starts or any(s < chunk.start < e for s, e in longer)
        assert chunk.end in ends or any(s < chunk.end < e and doc.text[chunk.end] == " " for s, e in longer)
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for s, e, _ in sentences for i in range(s, e) if not doc.text[i].isspace())


def test_overlap_repeats_trailing_sentences_and_size_is_respected():
    text = " ".join(f"Sentence number {i} says something about topic {i}." for i in range(40))
    chunks = chunk_document(_doc(text), size=300, overlap=100)
    assert all(len(c.text) <= 300 for c in chunks)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))
    no_overlap = chunk_document(_doc(text), size=300, overlap=0)
    assert all(b.start > a.end for a, b in zip(no_overlap, no_overlap[1:], strict=False))


def test_chunks_stay_inside_one_paragraph():
    doc = load(ESSAY, root=ESSAY.parent)
    paragraphs = paragraph_spans(doc.text)
    for chunk in chunk_document(doc, size=2000, overlap=300):
        start, end = paragraphs[chunk.paragraph - 1]
        assert start <= chunk.start and chunk.end <= end


def test_a_sentence_longer_than_the_target_is_cut_on_spaces_into_capped_pieces():
    long_sentence = "This sentence " + "goes on and on " * 40 + "until it ends."
    doc = _doc(f"Short one. {long_sentence} Another short one.")
    chunks = chunk_document(doc, size=100, overlap=0)
    assert all(len(c.text) <= 100 for c in chunks) and len(chunks) >= len(long_sentence) // 100
    assert " ".join(c.text for c in chunks) == doc.text


def test_sentence_splitter_keeps_abbreviations_and_initials_together():
    text = "Mr. Smith met Dr. J. Jones in the U.S. capital. They talked. Then e.g. lunch followed!"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Mr. Smith met Dr. J. Jones in the U.S. capital.", "They talked.", "Then e.g. lunch followed!"]


def test_paragraphs_from_blank_lines_and_from_hard_wrapped_short_lines():
    assert len(paragraph_spans("One.\n\nTwo.\n\n\nThree.")) == 3
    doc = load(ESSAY, root=ESSAY.parent)
    paragraphs = paragraph_spans(doc.text)
    assert len(paragraphs) == 3
    assert doc.text[paragraphs[1][0]:].startswith("Russia's response to the escalation")


def test_chunk_ids_are_content_derived_and_stable():
    doc = load(ESSAY, root=ESSAY.parent)
    assert [c.chunk_id for c in chunk_document(doc)] == [c.chunk_id for c in chunk_document(doc)]
    changed = SourceDocument(doc_id=doc.doc_id, title=doc.title, source=doc.source,
                             text=doc.text.replace("Minsk", "Minsk city"), sha256="y")
    before = {c.chunk_id for c in chunk_document(doc)}
    after = {c.chunk_id for c in chunk_document(changed)}
    assert before != after and len(before & after) >= 1


def test_bad_chunk_settings_are_rejected():
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(_doc("A sentence."), size=100, overlap=100)


def test_windows_newlines_and_bom_are_normalised(tmp_path: Path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffFirst line.\r\nSecond line.\r\n".encode())
    doc = load(path)
    assert doc.text == "First line.\nSecond line.\n"
