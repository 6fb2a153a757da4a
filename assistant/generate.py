"""The LLM answerer: a chat model writes the draft from fenced, numbered passages; citations.verify checks it.

Same input and output as ExtractiveAnswerer ({question, search_query, passages, k, timings_ms} -> Draft), so
it drops into chain.build_chain unchanged. Verification (dropping markers that point nowhere, the support
check, strict mode, renumbering) stays in citations.verify; this module only normalises marker styles.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from pydantic import ConfigDict

from .llm import LLMConfigError, LLMUnavailable, make_chat_model, one_line, parse_llm_spec, unavailable_errors
from .models import Check, Draft, Passage
from .prompts import load_prompt
from .settings import Settings
from .support import attribute
from .text import collapse

FALLBACK_ANSWERER = "extractive (fallback)"
_MARKER_GROUP = re.compile(
    r"[\[【]\s*\^?\s*(?:(?:passages?|sources?)\s*)?(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\s*[\]】]", re.I)
_ANY_MARKER = re.compile(r"\[\d+\]")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)
_MAX_RANGE = 20


def normalise_markers(text: str) -> str:
    """Rewrite the marker styles models emit (【1】, [^1], [1, 2], [1-3], [passage 1]) as [1][2]..."""
    return _MARKER_GROUP.sub(lambda m: "".join(f"[{n}]" for n in _marker_numbers(m.group(1))), text)


def _marker_numbers(group: str) -> list[int]:
    """The passage numbers inside one bracket, with short ranges like 1-3 expanded."""
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        bounds = [int(n) for n in re.findall(r"\d+", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_RANGE:
            bounds = list(range(bounds[0], bounds[1] + 1))
        out.extend(bounds)
    return list(dict.fromkeys(out))


def clean_reply(text: str) -> str:
    """The model's reply with reasoning blocks removed and markers normalised, ready for citations.verify."""
    return normalise_markers(_THINKING.sub("", text or "")).strip()


def is_refusal(text: str) -> bool:
    """An empty reply, or one that opens with the refusal sentence (markers and case ignored)."""
    body = collapse(_ANY_MARKER.sub("", text)).lower().rstrip(" .")
    refusal = load_prompt("refusal").lower().rstrip(" .")
    return not body or body.startswith(refusal) or body.startswith(refusal.split(",")[0])


def fence(number: int, passage: Passage) -> str:
    """One passage in its tag; < and > are escaped so passage text can never close or open a fence."""
    title = _escape(passage.chunk.title).replace('"', "&quot;")
    return f'<passage id="{number}" title="{title}">\n{_escape(collapse(passage.chunk.text))}\n</passage>'


def _escape(text: str) -> str:
    """Escape the characters that could forge a passage tag."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def build_messages(question: str, passages: list[Passage]) -> list[BaseMessage]:
    """System rules first, then the fenced numbered passages and the question as the user turn."""
    system = load_prompt("answer_system").format(refusal=load_prompt("refusal"))
    fenced = "\n\n".join(fence(n, p) for n, p in enumerate(passages, start=1))
    user = load_prompt("answer_user").format(passages=fenced, question=question)
    return [SystemMessage(content=system), HumanMessage(content=user)]


class LLMAnswerer(RunnableSerializable[dict, Draft]):
    """Asks a chat model to answer from the numbered passages; falls back to the extractive answerer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chat_model: BaseChatModel
    name: str = "llm"
    fallback: Runnable | None = None

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Draft:
        """One complete reply as a Draft; with no passages, a refusal without calling the model."""
        if not input["passages"]:
            return self._draft(input, "")
        try:
            reply = self.chat_model.invoke(build_messages(input["question"], input["passages"]), config)
        except unavailable_errors() as exc:
            return self._fall_back(input, exc, config)
        return self._draft(input, reply.text)

    def stream_draft(self, input: dict, config: RunnableConfig | None = None) -> Iterator[str | Draft]:
        """Text tokens as the model produces them, then the final Draft (which is authoritative)."""
        if not input["passages"]:
            yield self._draft(input, "")
            return
        parts: list[str] = []
        try:
            for chunk in self.chat_model.stream(build_messages(input["question"], input["passages"]), config):
                if chunk.text:
                    parts.append(chunk.text)
                    yield chunk.text
        except unavailable_errors() as exc:
            yield self._fall_back(input, exc, config)
            return
        yield self._draft(input, "".join(parts))

    def _draft(self, input: dict, reply: str) -> Draft:
        """The reply as a Draft; an empty reply or the refusal sentence becomes a refusal."""
        text = clean_reply(reply)
        draft = Draft(question=input["question"], text=text, refused=False, passages=input["passages"],
                      answerer=self.name, search_query=input.get("search_query") or input["question"],
                      timings_ms=dict(input.get("timings_ms") or {}))
        if is_refusal(text):
            draft.text, draft.refused, draft.decision = load_prompt("refusal"), True, "declined"
            draft.notice = "" if text or not input["passages"] else "the model returned an empty answer"
            draft.checks.append(Check(check="model", passed=False, detail=draft.notice or
                                      "the model said the sources do not cover the question"))
            return draft
        draft.text = attribute(text, [p.chunk.text for p in input["passages"]])
        return draft

    def _fall_back(self, input: dict, exc: BaseException, config: RunnableConfig | None) -> Draft:
        """The extractive answer with a notice saying why, or LLMUnavailable when there is no fallback."""
        reason = one_line(exc)
        if self.fallback is None:
            raise LLMUnavailable(f"{self.name}: {reason}") from exc
        draft = self.fallback.invoke(input, config)
        draft.answerer = FALLBACK_ANSWERER
        draft.notice = f"LLM backend unavailable ({reason}); showing the extractive answer"
        return draft


def build_llm_answerer(settings: Settings, *, fallback: Runnable | None = None) -> Runnable:
    """The answerer ASSISTANT_LLM asks for: an LLMAnswerer, or the fallback itself for 'extractive'."""
    model = make_chat_model(settings)
    if model is None:
        if fallback is None:
            raise LLMConfigError("ASSISTANT_LLM=extractive: pass the ExtractiveAnswerer as fallback")
        return fallback
    return LLMAnswerer(chat_model=model, name=parse_llm_spec(settings.llm).label, fallback=fallback)
