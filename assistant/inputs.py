"""What callers may send (a question, earlier questions, k, a document id), checked into clean values or a one-line
error naming the field: the same rules for the CLI, the API endpoints and the web chat."""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

MAX_HISTORY = 20  # earlier questions a follow-up is resolved against (more are an error, not silently cut)
MAX_TOP_K = 20
MAX_DOC_ID = 300
MAX_COLLECTION = 512  # characters in a collection name (Chroma's limit, see manifest.check_collection_name)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DOC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class InputError(ValueError):
    """A request field of the wrong type or out of range; the message is one line naming the field."""


class QuestionError(InputError):
    """A question that cannot be asked (not text, empty, too long, not valid Unicode)."""


def kind(value: Any) -> str:
    """How a value's type is named in messages: JSON's names, since most callers send JSON."""
    names = {type(None): "null", bool: "true/false", int: "a number", float: "a number", str: "text",
             list: "a list", tuple: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def check_question(question: Any, *, max_chars: int, field: str = "the question") -> str:
    """The question cleaned (control characters as spaces, NFC, whitespace collapsed), or a QuestionError."""
    if not isinstance(question, str):
        raise QuestionError(f"{field} must be text, not {kind(question)}")
    bad = _SURROGATE.search(question)
    if bad:
        raise QuestionError(f"{field} is not valid text: character {bad.start() + 1} is {_describe(bad.group())}")
    if len(question) > 4 * max_chars:  # refuse before the work of cleaning it
        raise QuestionError(_too_long(field, len(question.strip()), max_chars))
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", question)).split())
    if not text:
        raise QuestionError(f"{field} is empty")
    if len(text) > max_chars:
        raise QuestionError(_too_long(field, len(text), max_chars))
    return text


def _too_long(field: str, length: int, max_chars: int) -> str:
    """The message for an over-long question, naming the limit."""
    return f"{field} is {length:,} characters long; questions can be at most {max_chars:,} characters"


def _describe(surrogate: str) -> str:
    """A lone surrogate from the command line is an undecodable byte (Python's surrogateescape); say so."""
    code = ord(surrogate)
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02x}, which is not UTF-8"
    return f"a lone surrogate (U+{code:04X}), which is not a character"


def check_history(history: Any, *, max_chars: int) -> list[str]:
    """Earlier questions for a follow-up: a list of at most MAX_HISTORY texts, each no longer than a question."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise QuestionError(f"history must be a list of earlier questions, not {kind(history)}")
    if len(history) > MAX_HISTORY:
        raise QuestionError(f"history holds {len(history):,} questions; at most {MAX_HISTORY} are used")
    out = []
    for number, item in enumerate(history, start=1):
        if isinstance(item, str) and not item.strip():
            continue
        out.append(check_question(item, max_chars=max_chars, field=f"history item {number}"))
    return out


def check_k(k: Any) -> int | None:
    """Passages to retrieve: a whole number from 1 to MAX_TOP_K, or None for the configured default."""
    if k is None:
        return None
    number = k if isinstance(k, int | float) and not isinstance(k, bool) else None
    if number is None or not math.isfinite(number) or number != int(number) or not 1 <= number <= MAX_TOP_K:
        shown = str(k).lower() if isinstance(k, bool) else repr(k)[:40] if isinstance(k, str | int | float) else kind(k)
        raise QuestionError(f"k must be a whole number from 1 to {MAX_TOP_K} (got {shown})")
    return int(number)


def check_doc_id(doc_id: Any) -> str:
    """A document id as `documents` lists them (letters, digits, '.', '_' and '-')."""
    if not isinstance(doc_id, str):
        raise InputError(f"doc_id must be text, not {kind(doc_id)}")
    if not doc_id.strip():
        raise InputError("doc_id is empty: pass an id from /documents")
    if len(doc_id) > MAX_DOC_ID or not _DOC_ID.fullmatch(doc_id):
        raise InputError(f"doc_id {doc_id[:40]!r} is not a document id: pass an id from /documents")
    return doc_id


def check_collection(name: Any) -> str | None:
    """A collection name (Chroma's naming rule), or None for the configured collection."""
    from .manifest import StoreError, check_collection_name

    if name is None or (isinstance(name, str) and not name.strip()):
        return None
    if not isinstance(name, str):
        raise InputError(f"collection must be text, not {kind(name)}")
    if len(name) > MAX_COLLECTION:
        raise InputError(f"collection is {len(name):,} characters long; names have at most {MAX_COLLECTION}")
    try:
        return check_collection_name(name.strip())
    except StoreError as exc:
        raise InputError(str(exc)) from None
