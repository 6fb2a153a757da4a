"""Failures the CLI turns into one-line errors, kept apart so `main()` can name them without importing the
modules that raise them (onnxruntime, the chat-model stack).

Each error class is defined once. Those whose modules are light to import stay there: StoreError (and its
StoreBusy, SettingsMismatch, ReadOnly) in manifest.py, InputError and QuestionError in inputs.py, DocumentError in
documents.py, FormatError in formats.py.
"""

from __future__ import annotations


class EmbeddingModelMissing(RuntimeError):
    """The package that ships the model weights or tokenizer is not installed."""


class LLMConfigError(ValueError):
    """ASSISTANT_LLM (or its companions) names a backend that cannot be built; the message is one line."""


class LLMUnavailable(RuntimeError):
    """A configured backend failed at run time (unreachable, timeout, HTTP error); the message is one line."""
