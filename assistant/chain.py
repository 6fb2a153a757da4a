"""Wires the stages once (model, store, retriever, answerer) into one LCEL chain: question -> Answer.

retrieve -> answer -> answerability -> citations. `invoke` gives the Answer; `stream` gives an LLM's tokens
(str) as they come and then the same Answer, through the same steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda, RunnableSerializable
from pydantic import ConfigDict

from .answer import ExtractiveAnswerer
from .answerability import AnswerabilityCheck
from .citations import verify
from .conversation import rewrite_query, rewrite_with_model
from .embeddings import MiniLMEmbeddings
from .ingest import IngestReport, ingest
from .inputs import check_history, check_k, check_question
from .models import Answer, Draft
from .retrieval import HybridRetriever
from .settings import DEFAULT_COLLECTION, Settings
from .store import Store


class Stage(RunnableSerializable[Any, Any]):
    """A timed chain step over one item; streamed tokens (str) from an earlier step pass straight through."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    step: str
    run: Any

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Run the step and add its duration to the item's timings."""
        began = time.perf_counter()
        timings = dict(input.timings_ms)
        out = self.run(input)
        out.timings_ms = {**timings, self.step: (time.perf_counter() - began) * 1000}
        return out

    def transform(self, input: Iterator[Any], config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        """Pass tokens through; run the step on the one real item."""
        for item in input:
            yield item if isinstance(item, str) else self.invoke(item, config)


class AnswerStage(RunnableSerializable[dict, Draft]):
    """The answerer as a step: invoke gives the Draft; transform first yields an LLM's tokens, then the Draft."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    answerer: Runnable

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Draft:
        """The answerer's draft, timed."""
        began = time.perf_counter()
        return _timed_draft(self.answerer.invoke(input, config), input, began)

    def transform(self, input: Iterator[dict], config: RunnableConfig | None = None, **kwargs: Any) -> Iterator:
        """Tokens as the model writes them (when it can stream), then the timed Draft."""
        for state in input:
            began = time.perf_counter()
            if not hasattr(self.answerer, "stream_draft"):
                yield self.invoke(state, config)
                continue
            for item in self.answerer.stream_draft(state, config):
                yield _timed_draft(item, state, began) if isinstance(item, Draft) else item


def _timed_draft(draft: Draft, state: dict, began: float) -> Draft:
    """The draft with the retrieval timings carried over and the answer step's own duration."""
    draft.timings_ms = dict(state.get("timings_ms", {}), answer=(time.perf_counter() - began) * 1000)
    return draft


def build_chain(*, retriever: HybridRetriever, answerer: Runnable, answerability: Runnable | None = None,
                strict: bool = False) -> Runnable:
    """question state -> retrieve -> answer -> answerability -> citations, as one LCEL Runnable."""
    answerability = answerability or AnswerabilityCheck(embeddings=retriever.embeddings, idf=retriever.idf,
                                                        in_corpus=retriever.contains)
    def retrieve(state: dict) -> dict:
        began = time.perf_counter()
        passages = retriever.passages(state["search_query"], state.get("k"))
        return {**state, "passages": passages, "timings_ms": {"retrieve": (time.perf_counter() - began) * 1000}}

    check = Stage(step="answerability", run=answerability.invoke)
    cite = Stage(step="citations", run=lambda draft: verify(draft, strict=strict))
    return RunnableLambda(retrieve, name="retrieve") | AnswerStage(answerer=answerer) | check | cite


@dataclass(kw_only=True)
class Assistant:
    """Everything expensive, built once per process and reused for every question."""

    settings: Settings
    embeddings: MiniLMEmbeddings
    store: Store
    retriever: HybridRetriever
    answerer: Runnable
    answerability: Runnable
    chain: Runnable = field(init=False)

    def __post_init__(self) -> None:
        """Wire the chain from the parts (so dataclasses.replace with another answerer rewires it)."""
        self.chain = build_chain(retriever=self.retriever, answerer=self.answerer, answerability=self.answerability,
                                 strict=self.settings.strict)

    def ask(self, question: str, *, history: list[str] | None = None, k: int | None = None) -> Answer:
        """Answer one question (resolved against earlier questions); raises QuestionError for unusable ones."""
        began = time.perf_counter()
        return self.finish(self.chain.invoke(self.prepare(question, history=history, k=k)), began)

    def stream(self, question: str, *, history: list[str] | None = None, k: int | None = None) -> Iterator:
        """Like ask, through the same chain, but yields an LLM's tokens (str) first and the Answer last."""
        began = time.perf_counter()
        for item in self.chain.stream(self.prepare(question, history=history, k=k)):
            yield item if isinstance(item, str) else self.finish(item, began)

    def prepare(self, question: str, *, history: list[str] | None = None, k: int | None = None) -> dict:
        """The chain's input: a checked question, its standalone search query and k (fills an empty store)."""
        limit = self.settings.max_question_chars
        question, history, k = check_question(question, max_chars=limit), check_history(history, max_chars=limit), \
            check_k(k)
        self.ensure_corpus()
        return {"question": question, "search_query": self.search_query(question, history),
                "k": k or self.settings.top_k}

    def finish(self, answer: Answer, began: float) -> Answer:
        """Add the total time and the collection the answer came from."""
        answer.timings_ms["total"] = (time.perf_counter() - began) * 1000
        answer.collection = self.settings.collection
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
        works (named collections hold only what is put in them; a read-only server never writes)."""
        if (self.settings.read_only or self.settings.collection != DEFAULT_COLLECTION
                or self.store.manifest.documents or not self.settings.knowledge_dir.is_dir()):
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
        answerer = _llm_answerer(settings, fallback=extractive if fallback else None) if uses_llm else extractive
    answerability = AnswerabilityCheck(embeddings=embeddings, idf=retriever.idf, in_corpus=retriever.contains,
                                       min_key_coverage=settings.min_key_coverage, soft_match=settings.soft_match,
                                       min_semantic=settings.min_semantic,
                                       min_typed_coverage=settings.min_typed_coverage,
                                       predicate_match=settings.predicate_match)
    return Assistant(settings=settings, embeddings=embeddings, store=store, retriever=retriever,
                     answerer=answerer, answerability=answerability)


def _llm_answerer(settings: Settings, *, fallback: Runnable | None) -> Runnable:
    """The configured LLM answerer; the chat-model stack is imported only here, never on the extractive path."""
    from .generate import build_llm_answerer

    return build_llm_answerer(settings, fallback=fallback)
