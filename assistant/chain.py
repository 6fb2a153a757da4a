"""Wires the stages once (model, store, retriever, answerer) into an LCEL chain: question -> Answer."""

from __future__ import annotations

import time
from dataclasses import dataclass

from langchain_core.runnables import Runnable, RunnableLambda

from .answer import Draft, ExtractiveAnswerer
from .citations import verify
from .conversation import rewrite_query, rewrite_with_model
from .embeddings import MiniLMEmbeddings
from .generate import build_llm_answerer
from .ingest import IngestReport, ingest
from .models import Answer
from .retrieval import HybridRetriever
from .settings import DEFAULT_COLLECTION, Settings
from .store import Store


class QuestionError(ValueError):
    """A question that cannot be asked (empty, too long)."""


def check_question(question: str, *, max_chars: int) -> str:
    """The question stripped, or a one-line error naming the problem."""
    question = (question or "").strip()
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars} "
                            "(ASSISTANT_MAX_QUESTION_CHARS)")
    return question


def _timed(name: str, fn):
    """A Runnable step that records its own duration in the state's timings."""
    def step(state: dict) -> dict:
        began = time.perf_counter()
        out = fn(state)
        timings = dict(state.get("timings_ms", {}), **{name: (time.perf_counter() - began) * 1000})
        if isinstance(out, Draft):
            out.timings_ms = timings
            return out
        return {**state, **out, "timings_ms": timings}
    return RunnableLambda(step, name=name)


def build_chain(*, retriever: HybridRetriever, answerer: Runnable, strict: bool = False) -> Runnable:
    """question -> retrieve -> answer -> validated citations, as one LCEL Runnable."""
    retrieve = _timed("retrieve", lambda s: {"passages": retriever.passages(s["search_query"], s.get("k"))})
    answer = _timed("answer", lambda s: answerer.invoke(s))
    validate = RunnableLambda(lambda d: verify_timed(d, strict), name="citations")
    return retrieve | answer | validate


def verify_timed(draft: Draft, strict: bool) -> Answer:
    """Citation validation, timed like the other steps."""
    began = time.perf_counter()
    answer = verify(draft, strict=strict)
    answer.timings_ms["citations"] = (time.perf_counter() - began) * 1000
    return answer


@dataclass(kw_only=True)
class Assistant:
    """Everything expensive, built once per process and reused for every question."""

    settings: Settings
    embeddings: MiniLMEmbeddings
    store: Store
    retriever: HybridRetriever
    answerer: Runnable
    chain: Runnable

    def ask(self, question: str, *, history: list[str] | None = None, k: int | None = None) -> Answer:
        """Answer one question (resolved against earlier questions); raises QuestionError for unusable ones."""
        began = time.perf_counter()
        state = self.prepare(question, history=history, k=k)
        return self.finish(self.chain.invoke(state), began)

    def prepare(self, question: str, *, history: list[str] | None = None, k: int | None = None) -> dict:
        """The chain's input: a checked question, its standalone search query and k (fills an empty store)."""
        question = check_question(question, max_chars=self.settings.max_question_chars)
        self.ensure_corpus()
        return {"question": question, "search_query": self.search_query(question, history),
                "k": k or self.settings.top_k}

    def finish(self, answer: Answer, began: float) -> Answer:
        """Add what the sources never mention and the total time."""
        answer.unmentioned = self.retriever.unmentioned(answer.question)
        answer.timings_ms["total"] = (time.perf_counter() - began) * 1000
        return answer

    def search_query(self, question: str, history: list[str] | None) -> str:
        """The follow-up resolved against earlier questions: by the LLM when one is configured, else by rule."""
        previous = [h for h in history or [] if h.strip()]
        chat_model = getattr(self.answerer, "chat_model", None)
        if chat_model is not None:
            return rewrite_with_model(chat_model, question, previous)
        return rewrite_query(question, previous)

    def ensure_corpus(self) -> IngestReport | None:
        """Ingest the knowledge folder into the default collection while it is empty, so a fresh install just
        works (named collections hold only what is put in them)."""
        if (self.settings.collection != DEFAULT_COLLECTION or self.store.manifest.documents
                or not self.settings.knowledge_dir.is_dir()):
            return None
        return ingest([self.settings.knowledge_dir], store=self.store, embeddings=self.embeddings)


def build_assistant(settings: Settings, *, embeddings: MiniLMEmbeddings | None = None,
                    answerer: Runnable | None = None, fallback: bool = True) -> Assistant:
    """Load the model, open the store and wire the chain (LLM answerers fall back to extractive if asked)."""
    embeddings = embeddings or MiniLMEmbeddings()
    store = Store(settings=settings)
    retriever = HybridRetriever(store=store, embeddings=embeddings, k=settings.top_k)
    if answerer is None:
        extractive = ExtractiveAnswerer(embeddings=embeddings, idf=retriever.idf,
                                        min_evidence=settings.min_evidence, max_sentences=settings.max_answer_sentences)
        uses_llm = settings.llm.strip() not in ("", "extractive")
        answerer = build_llm_answerer(settings, fallback=extractive if fallback else None) if uses_llm else extractive
    chain = build_chain(retriever=retriever, answerer=answerer, strict=settings.strict)
    return Assistant(settings=settings, embeddings=embeddings, store=store, retriever=retriever,
                     answerer=answerer, chain=chain)
