"""LLM backends chosen by one setting string: extractive, openai:MODEL, ollama:MODEL or llamacpp:/path.gguf.

The integrations (langchain-openai, langchain-ollama, llama-cpp-python) are optional extras, imported only
when the backend that needs them is configured, so the default install never loads them.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.exceptions import ModelError
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from .errors import LLMConfigError, LLMUnavailable  # defined apart so the CLI can catch them cheaply
from .settings import Settings

PROVIDERS = ("extractive", "openai", "ollama", "llamacpp")
OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434"
_FORMS = "extractive, openai:MODEL, ollama:MODEL or llamacpp:/path/model.gguf"
_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


@dataclass(frozen=True, kw_only=True)
class LLMSpec:
    """A parsed ASSISTANT_LLM value: which provider, and which model (or GGUF path) it should run."""

    provider: str
    model: str = ""

    @property
    def label(self) -> str:
        """The setting string back, used as the answerer's name."""
        return self.provider if self.provider == "extractive" else f"{self.provider}:{self.model}"


def parse_llm_spec(text: str) -> LLMSpec:
    """Split 'provider:model' and check it, so a typo fails at start-up rather than at the first question."""
    text = (text or "").strip()
    provider, _, model = text.partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if provider in ("", "extractive") and not model:
        return LLMSpec(provider="extractive")
    if provider not in PROVIDERS or provider == "extractive":
        raise LLMConfigError(f"ASSISTANT_LLM={text!r}: unknown LLM provider {provider!r}; use {_FORMS}")
    if not model:
        raise LLMConfigError(f"ASSISTANT_LLM={text!r}: no model given; use {provider}:MODEL")
    if provider == "llamacpp":
        path = Path(model).expanduser()
        if not path.is_file():
            raise LLMConfigError(f"ASSISTANT_LLM={text!r}: GGUF model file not found: {path}")
        model = str(path)
    return LLMSpec(provider=provider, model=model)


def make_chat_model(settings: Settings) -> BaseChatModel | None:
    """The chat model ASSISTANT_LLM names, or None for the extractive answerer (no LLM)."""
    spec = parse_llm_spec(settings.llm)
    builders = {"openai": _openai_model, "ollama": _ollama_model, "llamacpp": _llamacpp_model}
    builder = builders.get(spec.provider)
    return builder(spec, settings) if builder else None


def base_url(spec: LLMSpec, settings: Settings) -> str:
    """Where the backend is reached: the setting, else the provider's usual environment variable."""
    if spec.provider == "openai":
        return settings.llm_base_url or os.environ.get("OPENAI_BASE_URL", "")
    if spec.provider == "ollama":
        url = settings.llm_base_url or os.environ.get("OLLAMA_HOST", "") or OLLAMA_DEFAULT_URL
        return url if "://" in url else f"http://{url}"
    return ""


def _openai_model(spec: LLMSpec, settings: Settings) -> BaseChatModel:
    """ChatOpenAI against api.openai.com or any OpenAI-compatible server (vLLM, llama.cpp, LM Studio)."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise LLMConfigError(_missing(spec, "langchain-openai", "openai")) from None
    url = base_url(spec, settings)
    key = settings.llm_api_key or os.environ.get("OPENAI_API_KEY", "")
    if not key and not url:
        raise LLMConfigError(f"{spec.label} needs an API key: set ASSISTANT_LLM_API_KEY or OPENAI_API_KEY "
                             "(or ASSISTANT_LLM_BASE_URL for a local server)")
    # ChatOpenAI sends max_completion_tokens, which some compatible servers (llama-cpp-python) ignore
    extra = {"max_tokens": settings.llm_max_tokens} if url else None
    return ChatOpenAI(base_url=url or None, api_key=key or "not-needed", model=spec.model,
                      timeout=settings.llm_timeout, max_retries=0, temperature=0,
                      max_tokens=settings.llm_max_tokens, extra_body=extra)


def _ollama_model(spec: LLMSpec, settings: Settings) -> BaseChatModel:
    """ChatOllama against a local or remote Ollama server."""
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise LLMConfigError(_missing(spec, "langchain-ollama", "ollama")) from None
    return ChatOllama(model=spec.model, base_url=base_url(spec, settings), temperature=0,
                      num_predict=settings.llm_max_tokens, client_kwargs={"timeout": settings.llm_timeout})


def _missing(spec: LLMSpec, package: str, extra: str) -> str:
    """The one-line message for a backend whose optional package is not installed."""
    return f"{spec.label} needs {package}: pip install 'analysis-assistant[{extra}]'"


def _llamacpp_model(spec: LLMSpec, settings: Settings) -> BaseChatModel:
    """An in-process llama.cpp model over a GGUF file (loaded on first use)."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMConfigError(_missing(spec, "llama-cpp-python", "llamacpp"))
    return LlamaCppChatModel(model_path=spec.model, max_tokens=settings.llm_max_tokens)


class LlamaCppChatModel(BaseChatModel):
    """A chat model over llama_cpp.Llama: LangChain's maintained packages have no llama.cpp chat model."""

    model_path: str
    n_ctx: int = 4096
    max_tokens: int = 512
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        """Identifies the backend in LangChain callbacks and tracing."""
        return "llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """What distinguishes one instance from another, for callbacks and caching."""
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def _client(self) -> Any:
        """Load the GGUF once per instance, lazily, so importing this module never loads llama.cpp."""
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise LLMConfigError(_missing(LLMSpec(provider="llamacpp", model=self.model_path),
                                              "llama-cpp-python", "llamacpp")) from None
            try:
                self._llama = Llama(model_path=self.model_path, n_ctx=self.n_ctx, verbose=False)
            except (ValueError, RuntimeError, OSError) as exc:
                raise LLMUnavailable(f"llama.cpp could not load {self.model_path}: {one_line(exc)}") from None
        return self._llama

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kw: Any) -> Any:
        """Run create_chat_completion with our defaults, turning llama.cpp failures into LLMUnavailable."""
        payload = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        options = {"max_tokens": self.max_tokens, "temperature": self.temperature, "stop": stop} | kw
        try:
            return self._client().create_chat_completion(messages=payload, stream=stream, **options)
        except (ValueError, RuntimeError) as exc:
            raise LLMUnavailable(f"llama.cpp failed: {one_line(exc)}") from None

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        """One complete reply (llama.cpp is not thread-safe, so calls are serialised per instance)."""
        with self._lock:
            result = self._request(messages, stop, False, **kwargs)
        text = result["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """Tokens as llama.cpp produces them, reported to callbacks too."""
        with self._lock:
            for part in self._request(messages, stop, True, **kwargs):
                token = part["choices"][0].get("delta", {}).get("content") or ""
                if not token:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
                if run_manager:
                    run_manager.on_llm_new_token(token, chunk=chunk)
                yield chunk


@cache
def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'the backend failed', as opposed to a bug in our code."""
    kinds: list[type[BaseException]] = [LLMUnavailable, ModelError, ConnectionError, TimeoutError]
    for module, name in (("httpx", "HTTPError"), ("openai", "APIError"), ("ollama", "ResponseError")):
        if importlib.util.find_spec(module) is not None:
            kinds.append(getattr(__import__(module), name))
    return tuple(kinds)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """A short reason for an exception and its root cause ('Connection refused'), never a stack trace."""
    parts: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(parts) < 3:
        seen.add(id(exc))
        text = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        if not any(text in p or p in text for p in parts):
            parts.append(text)
        exc = exc.__cause__ or exc.__context__
    text = ": ".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_backend(settings: Settings, *, timeout: float = 15.0) -> tuple[bool, str]:
    """For `assistant doctor`: which backend is configured and whether it answers a tiny prompt."""
    try:
        spec = parse_llm_spec(settings.llm)
        if spec.provider == "extractive":
            return True, "extractive answerer (no LLM)"
        default = "api.openai.com" if spec.provider == "openai" else "in-process llama.cpp"
        where = base_url(spec, settings) or default
        model = make_chat_model(settings.with_overrides(llm_timeout=min(timeout, settings.llm_timeout)))
    except LLMConfigError as exc:
        return False, str(exc)
    began = time.perf_counter()
    try:
        _probe(model).invoke([HumanMessage(content="Reply with the single word OK.")])
    except Exception as exc:  # noqa: BLE001 (doctor reports any failure as one line)
        return False, f"{spec.label} at {where} does not answer: {one_line(exc)}"
    return True, f"{spec.label} at {where} answers ({time.perf_counter() - began:.1f} s)"


def _probe(model: BaseChatModel) -> BaseChatModel:
    """A copy of the model limited to a few output tokens, so the doctor's check stays quick."""
    fields = type(model).model_fields
    update: dict[str, Any] = {name: 8 for name in ("max_tokens", "num_predict") if name in fields}
    if "extra_body" in fields and getattr(model, "openai_api_base", None):
        # ChatOpenAI sends max_completion_tokens, which some compatible servers (llama-cpp-python) ignore
        update["extra_body"] = {**(model.extra_body or {}), "max_tokens": 8}
    return model.model_copy(update=update)
