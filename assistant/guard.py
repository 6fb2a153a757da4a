"""What reaches the web chat's handlers, and what leaves them: request bodies of bounded size, event inputs of the
right number, type and size, files only from this server's upload folder; and any failure of a handler as a
one-line error, never a stack trace in the response or the server log."""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import logging
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .inputs import MAX_COLLECTION, kind

logger = logging.getLogger("assistant.web")
UPLOAD_ROUTE = "/gradio_api/upload"
MAX_TEXT = 100_000  # characters in one text input of a page event (the chat reports its own, smaller limit)
MAX_BODY = 256 * 1024  # bytes of any request but an upload (Gradio's max_file_size) or one carrying conversations
MAX_CONVERSATIONS_BODY = 4 * 1048576  # a page event carrying the browser's saved conversations (chats.MAX_BYTES)
MAX_SESSIONS = 200  # page and API sessions whose last inputs Gradio keeps in memory (the oldest are dropped)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_EVENT_ROUTE = re.compile(r"/gradio_api/(?:queue/join|(?:call(?:/v2)?|run|api)/(?P<api>[^/]+))/?$")
_TEXT = {"textbox", "button", "html", "markdown"}
_NUMBER = {"slider", "number"}
_CHOICE = {"radio", "dropdown"}
_FILES = {"file", "uploadbutton", "files"}
_ANY = {"state", "browserstate", "api"}
# characters of named fields: endpoints' parameters, and components by elem_id (the collection picker)
FIELD_LIMITS = {"collection": MAX_COLLECTION, "collection-picker": MAX_COLLECTION}


class RequestGuard:
    """ASGI middleware in front of Gradio (passed through `launch(app_kwargs=...)`): bodies over the limit get 413,
    malformed event calls get 422 with a one-line reason, before Gradio parses (and keeps) them."""

    def __init__(self, app, *, read_only: bool = False) -> None:
        self.app, self.read_only = app, read_only

    async def __call__(self, scope, receive, send) -> None:
        """Check POST bodies (uploads are bounded by Gradio's own max_file_size, and refused on a read-only
        server); pass everything else on."""
        upload = scope["type"] == "http" and scope["path"].rstrip("/") == UPLOAD_ROUTE
        if upload and self.read_only:
            return await reject(send, 403, "this server is read-only: uploads are turned off")
        if scope["type"] != "http" or scope["method"] != "POST" or upload:
            return await self.app(scope, receive, send)
        if _declared_length(scope) > MAX_CONVERSATIONS_BODY:
            return await reject(send, 413, too_big(MAX_CONVERSATIONS_BODY))
        body = await _read_body(receive, MAX_CONVERSATIONS_BODY)
        if body is None:
            return await reject(send, 413, too_big(MAX_CONVERSATIONS_BODY))
        match = _EVENT_ROUTE.match(scope["path"])
        try:
            status, problem, body = check_event(scope["app"], match.group("api"), body) if match else \
                (413, too_big(MAX_BODY) if len(body) > MAX_BODY else "", body)
        except Exception as exc:  # noqa: BLE001 (a request this guard cannot read is refused, not a stack trace)
            logger.error("request refused: %s", type(exc).__name__)
            status, problem = 422, "the request could not be read"
        if problem:
            return await reject(send, status, problem)
        await self.app(_with_length(scope, len(body)), _replay(body), send)


def too_big(limit: int, name: str = "") -> str:
    """The 413 message, naming the limit."""
    size = f"{limit / 1048576:g} MB" if limit >= 1048576 else f"{limit // 1024} KB"
    return f"the request is over the {size} limit{' of ' + name if name else ''}"


def check_event(app, api_name: str | None, body: bytes) -> tuple[int, str, bytes]:
    """(200, '', body) for a well-formed call of a known event, possibly padded; else (status, one-line problem,
    body). Only events carrying the saved conversations may be larger than MAX_BODY."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return 422, "the request body is not valid JSON", body
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return 422, 'the request must be a JSON object whose "data" is a list of inputs', body
    fn = _event(app.get_blocks(), api_name, payload.get("fn_index"))
    if fn is None:
        return (200, "", body) if api_name and len(body) <= MAX_BODY else \
            (422, "the request names no event of this app", body)
    name = f"/{fn.api_name}" if fn.api_name else "this event"
    limit = MAX_CONVERSATIONS_BODY if any(_block_name(b) == "browserstate" for b in fn.inputs) else MAX_BODY
    if len(body) > limit:
        return 413, too_big(limit, name), body
    problem, body = _check_inputs(fn, payload, body, name, app.uploaded_file_dir, scripted=bool(api_name))
    return (422 if problem else 200), problem, body


def _check_inputs(fn, payload: dict, body: bytes, name: str, upload_dir: str, *,
                  scripted: bool) -> tuple[str, bytes]:
    """Enough inputs (scripted calls get defaults filled in), each acceptable to its component."""
    data, names = payload["data"], _field_names(fn)
    if _required(fn, names, scripted=scripted) <= len(data) < len(fn.inputs):
        payload["data"] = data = data + [None] * (len(fn.inputs) - len(data))  # scripted calls may leave out defaults
        body = json.dumps(payload).encode()
    if len(data) < len(fn.inputs):
        return f"{name} takes {len(fn.inputs)} inputs, not {len(data)}", body
    for number, (block, value) in enumerate(zip(fn.inputs, data, strict=False), start=1):
        problem = field_problem(names[number - 1], value)
        if problem:
            return f"input {number} of {name} ({names[number - 1]}) {problem}", body
        problem = input_problem(block, value, upload_dir) or _nested_problem(value, upload_dir)
        if problem:
            return f"input {number} of {name} ({_block_name(block)}) {problem}", body
    return "", body


def _required(fn, names: list[str], *, scripted: bool) -> int:
    """How many inputs a call must send: a scripted endpoint none (its defaults are filled in); a page event called
    by name may leave out its trailing named fields (the collection: the default one)."""
    if all(_block_name(b) == "api" for b in fn.inputs):
        return 0
    if not scripted:
        return len(fn.inputs)
    return len(fn.inputs) - len(list(itertools.takewhile(lambda n: n in FIELD_LIMITS, reversed(names))))


def _field_names(fn) -> list[str]:
    """Each input's name: a scripted endpoint's parameter names, a component's elem_id."""
    if fn.inputs and all(_block_name(b) == "api" for b in fn.inputs):
        try:
            params = list(inspect.signature(fn.fn).parameters)
        except (TypeError, ValueError):
            params = []
        return (params + [""] * len(fn.inputs))[:len(fn.inputs)]
    return [getattr(b, "elem_id", None) or "" for b in fn.inputs]


def field_problem(name: str, value: Any) -> str:
    """Why a value cannot be this named field ('' when it can): text (or null) of at most its limit."""
    limit = FIELD_LIMITS.get(name)
    if limit is None or value is None:
        return ""
    if not isinstance(value, str):
        return f"must be text, not {kind(value)}"
    return f"is {len(value):,} characters long; at most {limit:,}" if len(value) > limit else ""


def _nested_problem(value: Any, upload_dir: str) -> str:
    """Anywhere in a value: a lone surrogate (JSON can carry one; no text holds one and no reply could echo it),
    or a file reference Gradio would fetch, that is not an upload to this server (a path on disk, a URL)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            bad = _SURROGATE.search(item)
            if bad:
                return f"is not valid text: it holds a lone surrogate (U+{ord(bad.group()):04X})"
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            meta = item.get("meta")
            if isinstance(meta, dict) and meta.get("_type") == "gradio.FileData":
                problem = _files_problem(item, upload_dir)
                if problem:
                    return problem
            stack.extend(item.keys())
            stack.extend(item.values())
    return ""


def _event(blocks, api_name: str | None, fn_index: Any):
    """The event a call names, by api_name (scripted calls) or fn_index (the page's own calls)."""
    if api_name:
        return next((fn for fn in blocks.fns.values() if fn.api_name == api_name), None)
    return blocks.fns.get(fn_index) if isinstance(fn_index, int) and not isinstance(fn_index, bool) else None


def _block_name(block) -> str:
    """A component's kind, as Gradio names it ('textbox', 'slider', 'api', ...)."""
    return block.get_block_name() if hasattr(block, "get_block_name") else type(block).__name__.lower()


def input_problem(block, value: Any, upload_dir: str) -> str:
    """Why a value cannot be the input of this component ('' when it can): text of bounded length, finite numbers
    in the component's range, choices as text, and files only from this server's upload folder."""
    name = _block_name(block)
    if name in _ANY or (value is None and name not in _NUMBER):
        return ""
    if name in _TEXT | _CHOICE:
        if not isinstance(value, str) and not (name in _CHOICE and _finite(value)):
            return f"must be text, not {kind(value)}"
        return f"is {len(value):,} characters long; at most {MAX_TEXT:,}" if len(str(value)) > MAX_TEXT else ""
    if name in _NUMBER:
        low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
        if not _finite(value) or (low is not None and value < low) or (high is not None and value > high):
            shown = json.dumps(value)[:40] if _finite(value) else kind(value)
            return f"must be a number from {low} to {high}, not {shown}"
        return ""
    if name in _FILES:
        return _files_problem(value, upload_dir)
    return ""


def _finite(value: Any) -> bool:
    """A JSON number that is not NaN or infinite (true/false are not numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _files_problem(value: Any, upload_dir: str) -> str:
    """Files must be ones uploaded to this server: a path inside its upload folder, nothing else."""
    items = value if isinstance(value, list) else [value]
    root = Path(upload_dir).resolve()
    for item in items:
        path = item.get("path") if isinstance(item, dict) else item
        if not isinstance(path, str) or not path:
            return "must be files uploaded to this server"
        try:
            inside = Path(path).resolve().is_relative_to(root)
        except (OSError, ValueError):  # NUL bytes, lone surrogates, loops
            inside = False
        if not inside:
            return f"names a file that was not uploaded to this server ({ascii(Path(path).name)[1:-1][:60]})"
    return ""


def _declared_length(scope) -> int:
    """The Content-Length a request announces (0 when none or unreadable)."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _read_body(receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is over the limit."""
    parts, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(parts)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)


def _replay(body: bytes) -> Callable:
    """A receive function that hands the (checked) body on, then reports a disconnect."""
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _with_length(scope, length: int) -> dict:
    """The scope with a Content-Length matching the body handed on."""
    headers = [(k, v) for k, v in scope.get("headers", []) if k not in (b"content-length", b"transfer-encoding")]
    return {**scope, "headers": headers + [(b"content-length", str(length).encode())]}


async def reject(send, status: int, message: str, headers: list | None = None) -> None:
    """A JSON error response: {"error": "one line"}."""
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def guard_handlers(blocks, describe: Callable[[BaseException], str]) -> None:
    """Make every event handler of the app fail with a one-line error (logged as one line) instead of an exception
    with a stack trace: the last line of defence behind each handler's own error messages."""
    for fn in blocks.fns.values():
        if fn.fn is not None and not getattr(fn.fn, "guarded", False):
            fn.fn = _guarded(fn.fn, fn.api_name or getattr(fn.fn, "__name__", "event"), describe)


def _guarded(handler: Callable, name: str, describe: Callable[[BaseException], str]) -> Callable:
    """The handler (plain or generator) with unexpected exceptions turned into gr.Error(one line)."""
    import gradio as gr

    def fail(exc: Exception):
        if isinstance(exc, gr.Error):
            return exc
        message = describe(exc)
        logger.error("%s failed: %s", name, message)
        return gr.Error(message, print_exception=False)

    if inspect.iscoroutinefunction(handler) or inspect.isasyncgenfunction(handler):
        return handler  # none of ours; Gradio's own async handlers report their own errors
    if inspect.isgeneratorfunction(handler):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            try:
                yield from handler(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 (reported as one line, see fail)
                raise fail(exc) from None
    else:
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            try:
                return handler(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 (reported as one line, see fail)
                raise fail(exc) from None
    wrapper.guarded = True
    return wrapper
