"""Property-based (hypothesis): any text ingests (or is refused with a one-line error), any question answers
without an exception, and every citation span indexes the stored source exactly. Bounded so the suite stays fast:
a fixed number of examples, derandomised; HYPOTHESIS_PROFILE=long explores more, at random."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.chain import build_assistant
from assistant.documents import DocumentError, load
from assistant.ingest import ingest
from assistant.inputs import QuestionError

settings.register_profile("default", max_examples=30, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("long", max_examples=400, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Any Unicode a file can hold (no lone surrogates: they cannot be encoded), weighted towards what text has.
CHARACTERS = st.characters(blacklist_categories=("Cs",))
PROSE = st.sampled_from(["Moscow", "Minsk", "the", "envoy", "said", "Belarus", "treaty", "—", "«", "»", "e.g.",
                         "Dr.", "U.S.", "1991", "3.5%", ".", "!", "?", "\n", "\n\n", "\r\n", "\t", "# ", "- ", " ",
                         "\u00a0", "\u200b", "\ufeff", "é", "e\u0301", "ﬁ", "🇧🇾", "ǅ", "İ", "ß", "\x00", "\x1b[0m"])
TEXTS = st.one_of(st.text(CHARACTERS, max_size=400),
                  st.lists(st.one_of(PROSE, st.text(CHARACTERS, max_size=12)), max_size=120).map("".join))
QUESTIONS = st.one_of(st.text(CHARACTERS, max_size=200), st.lists(PROSE, max_size=25).map(" ".join))
NAMES = (f"doc-{n}.txt" for n in itertools.count())


@pytest.fixture(scope="module")
def store_assistant(tmp_path_factory, embeddings):
    from assistant.settings import PROJECT_ROOT, Settings

    root = tmp_path_factory.mktemp("properties")
    settings_ = Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=PROJECT_ROOT / "knowledge",
                                  collection="properties")
    assistant = build_assistant(settings_, embeddings=embeddings)
    return assistant, root


@given(text=TEXTS, question=QUESTIONS)
def test_any_text_ingests_and_any_question_answers_with_exact_spans(store_assistant, text, question):
    assistant, root = store_assistant
    path = root / next(NAMES)
    path.write_bytes(text.encode("utf-8"))
    report = ingest([path], store=assistant.store, embeddings=assistant.embeddings)
    if report.errors:  # only a file with nothing to ingest (or binary-looking) is refused, in one line
        assert len(report.errors) == 1 and "\n" not in report.errors[0]
        assert "empty file" in report.errors[0] or "binary" in report.errors[0]
        with pytest.raises(DocumentError):
            load(path)
    else:
        assert len(report.added) + len(report.unchanged) + len(report.updated) == 1
    sources = {doc_id: load(Path(entry["path"])).text for doc_id, entry in assistant.store.manifest.documents.items()}
    for asked in (question, _words_of(text) or question):
        try:
            answer = assistant.ask(asked)
        except QuestionError as exc:
            assert "\n" not in str(exc)
            continue
        for citation in answer.citations:
            assert sources[citation.doc_id][citation.start:citation.end] == citation.text
            for start, end in citation.sentences:  # highlights index the source too, inside the passage
                assert citation.start <= start < end <= citation.end


def _words_of(text: str) -> str:
    """A question made of the document's own words, so that some answers quote it."""
    words = [w for w in text.split() if any(c.isalpha() for c in w)][:8]
    return "What about " + " ".join(words) + "?" if words else ""
