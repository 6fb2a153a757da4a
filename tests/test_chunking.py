"""Chunks are whole sentences whose spans map back to the exact normalised source text."""

import random
import statistics
from pathlib import Path

import pytest

from assistant.chunking import chunk_document, is_heading, split_sentences
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
def test_chunks_end_on_sentence_bounds_and_cover_the_whole_text(size, overlap):
    doc = load(ESSAY, root=ESSAY.parent)
    sentences = split_sentences(doc)
    starts, ends = {s for s, _, _ in sentences}, {e for _, e, _ in sentences}
    long = [(s, e) for s, e, _ in sentences if e - s > size]
    chunks = chunk_document(doc, size=size, overlap=overlap)
    for chunk in chunks:
        assert len(chunk.text) <= size
        assert chunk.start in starts or any(s < chunk.start < e for s, e in long)
        assert chunk.end in ends or any(s < chunk.end < e for s, e in long)
        assert chunk.end == len(doc.text) or doc.text[chunk.end].isspace()
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


def _markdown_corpus(documents: int) -> list[SourceDocument]:
    """Documentation-like markdown: headings, one-line paragraphs, lists and the odd long paragraph."""
    rng = random.Random(7)
    vocabulary = ("the module returns a value for each argument when the caller passes an optional timeout "
                  "object list string path file default error raised if not found otherwise")
    words = vocabulary.split()

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    docs = []
    for d in range(documents):
        parts = [f"# Module {d}"]
        for section in range(rng.randint(3, 8)):
            parts.append(f"## function f{section}(x, y)")
            parts += [sentence(rng.randint(4, 12)) for _ in range(rng.randint(1, 3))]
            parts.append("Args:")
            parts.append("\n".join(f"- {sentence(rng.randint(3, 8))}" for _ in range(rng.randint(1, 4))))
            if rng.random() < 0.3:
                parts.append(" ".join(sentence(rng.randint(8, 20)) for _ in range(rng.randint(4, 12))))
        docs.append(SourceDocument(doc_id=f"m{d}", title="t", source="s", text="\n\n".join(parts), sha256="x"))
    return docs


def test_a_sentence_longer_than_the_target_is_cut_on_spaces_into_capped_pieces():
    long_sentence = "This sentence " + "goes on and on " * 40 + "until it ends."
    doc = _doc(f"Short one. {long_sentence} Another short one.")
    chunks = chunk_document(doc, size=100, overlap=0)
    assert all(len(c.text) <= 100 for c in chunks) and len(chunks) >= len(long_sentence) // 100
    assert " ".join(c.text for c in chunks) == doc.text


def test_short_paragraphs_merge_up_to_the_target_and_headings_stay_with_what_follows():
    size, lengths = 700, []
    for doc in _markdown_corpus(60):
        paragraphs = paragraph_spans(doc.text)
        chunks = chunk_document(doc, size=size, overlap=150)
        for chunk in chunks:
            lengths.append(len(chunk.text))
            assert doc.text[chunk.start:chunk.end] == chunk.text and len(chunk.text) <= size
            start, end = paragraphs[chunk.paragraph - 1]
            assert start <= chunk.start < end
            last_line = chunk.text.rsplit("\n", 1)[-1]
            assert not (is_heading(last_line) and chunk.end < len(doc.text)), chunk.text
        assert any(c.text.count("\n\n") >= 2 for c in chunks)
    assert statistics.median(lengths) >= 0.6 * size


def test_a_chunk_prefers_to_end_where_a_paragraph_ends():
    paragraphs = [" ".join(f"Paragraph {p} sentence {i} is here." for i in range(8)) for p in range(6)]
    text = "\n\n".join(paragraphs)
    doc = _doc(text)
    ends = {e for _, e in paragraph_spans(doc.text)}
    chunks = chunk_document(doc, size=500, overlap=0)
    assert sum(c.end in ends for c in chunks) >= len(paragraphs) - 1
    assert all(len(c.text) <= 500 for c in chunks)


def test_a_run_longer_than_the_target_is_cut_on_word_boundaries():
    long_sentence = "This sentence " + "goes on and on " * 40 + "until it ends"
    doc = _doc(f"Short one. {long_sentence} and never stops\n\nAnother short one.")
    chunks = chunk_document(doc, size=100, overlap=0)
    assert len(chunks) >= 7 and all(0 < len(c.text) <= 100 for c in chunks)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text and c.text == c.text.strip()
        assert c.end == len(doc.text) or doc.text[c.end].isspace()
        assert c.start == 0 or doc.text[c.start - 1].isspace()
    unbroken = _doc("x" * 250)
    assert [len(c.text) for c in chunk_document(unbroken, size=100, overlap=0)] == [100, 100, 50]


def test_headings_are_recognised():
    assert is_heading("## function f(x)") and is_heading("Args:") and is_heading("Parameters\n----------")
    assert is_heading("Installing from source")
    assert not is_heading("A full sentence ends here.") and not is_heading("one\ntwo\nthree")
    assert not is_heading("x" * 150)


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
    copy = SourceDocument(doc_id="copy", title="t", source="s", text=doc.text, sha256="z")
    assert [c.chunk_id for c in chunk_document(copy)] == [c.chunk_id for c in chunk_document(doc)]


def test_bad_chunk_settings_are_rejected():
    with pytest.raises(ValueError, match="overlap"):
        chunk_document(_doc("A sentence."), size=100, overlap=100)


def test_windows_newlines_and_bom_are_normalised(tmp_path: Path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("\ufeffFirst line.\r\nSecond line.\r\n".encode())
    doc = load(path)
    assert doc.text == "First line.\nSecond line.\n"


def _sectioned(title: str, a: str, b: str) -> str:
    """A title, then section A with four paragraphs (several chunks' worth) and section B with two."""
    def paragraph(topic: str, n: int) -> str:
        return " ".join(f"The {topic} record {n}.{i} lists one more dated entry for the archive." for i in range(3))

    return "\n\n".join([title, a, *(paragraph("harbour", n) for n in range(4)), b,
                        *(paragraph("railway", n) for n in range(2))]) + "\n"


@pytest.mark.parametrize(("title", "a", "b"), [
    ("# Port towns", "## Section A", "## Section B"),
    ("Port towns\n==========", "Section A\n---------", "Section B\n---------"),
])
def test_a_chunk_records_the_heading_it_stands_under_in_words_only(title, a, b):
    doc = _doc(_sectioned(title, a, b))
    chunks = chunk_document(doc, size=300, overlap=0)
    in_a = [c for c in chunks if doc.text.index(a) < c.start < doc.text.index(b)]
    starts_b = [c for c in chunks if c.text.startswith(b)]
    after_b = [c for c in chunks if c.start > doc.text.index(b) and not c.text.startswith(b)]
    assert len(in_a) >= 2 and len(starts_b) == 1 and after_b
    assert chunks[0].section == "" and chunks[0].text.startswith(title)
    assert [c.section for c in in_a if not c.text.startswith(a)] == ["Section A"] * len(in_a)
    assert starts_b[0].section == ""
    assert {c.section for c in after_b} == {"Section B"}
    assert all(c.section in ("", "Section A", "Section B") for c in chunks)


def test_chunk_ids_hash_the_chunker_version_with_the_text(monkeypatch):
    import hashlib

    from assistant import chunking

    doc = _doc(_sectioned("# Port towns", "## Section A", "## Section B"))
    first = chunk_document(doc, size=300, overlap=0)
    assert all(c.chunk_id != "c" + hashlib.sha256(c.text.encode()).hexdigest()[:24] for c in first)
    monkeypatch.setattr(chunking, "CHUNKER", chunking.CHUNKER + 1)
    second = chunk_document(doc, size=300, overlap=0)
    assert [c.text for c in second] == [c.text for c in first]
    assert not {c.chunk_id for c in second} & {c.chunk_id for c in first}
    assert len({c.chunk_id for c in second}) == len({c.text for c in second})
