"""The Gradio web chat: `create_app` builds it (no server), `launch` serves it on loopback."""

from __future__ import annotations

import json
import logging
import os
from html import escape

from .chain import Assistant
from .chat_tab import build_chat_tab, load_conversations
from .corpus_tab import build_corpus_tab, wire_corpus
from .documents import SUPPORTED_SUFFIXES
from .guard import guard_handlers
from .inputs import InputError
from .picker import build_picker, wire_picker
from .service import ChatService
from .store import StoreError
from .webtext import asset, failure, public

logger = logging.getLogger("assistant.web")

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
HEADER = ('<header class="app-header"><h1 class="app-title">Analysis assistant</h1><p class="app-sub">Answers '
          "quote numbered passages of the sources; questions the sources do not cover are declined.</p></header>")


def create_app(assistant: Assistant):
    """Build the Blocks app for this assistant without starting a server."""
    import gradio as gr

    service = ChatService(assistant=assistant)
    with gr.Blocks(title="Analysis assistant", analytics_enabled=False) as app:
        app.service = service
        with gr.Row(elem_id="top-bar"):
            gr.HTML(HEADER, padding=False, min_width=300, scale=3)
            with gr.Column(scale=1, min_width=240, elem_id="collection-box"):
                picker = build_picker(gr, service)
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat"):
                chat = build_chat_tab(gr, service, _settings_html(assistant), picker.dropdown)
            with gr.Tab("Corpus", id="corpus"):
                corpus = build_corpus_tab(gr, service)
        load_conversations(gr, app, service, chat)
        views = wire_corpus(gr, service, corpus, chat)
        wire_picker(gr, app, service, picker, chat, views)
        _api(gr, service)
    guard_handlers(app, lambda exc: failure(exc, assistant.settings))
    return app


def _api(gr, service: ChatService) -> None:
    """Stable scripted endpoints: /chat, /documents, /remove and /collections (see README); /upload is the upload
    button. Every
    field is checked (inputs.py); any failure is {"error": "one line"}, never an exception."""
    settings = service.assistant.settings

    def chat(message: str, history: list[str] | None = None, k: int | None = None,
             collection: str | None = None) -> dict:
        """Answer a question (with earlier questions for follow-ups) from a collection (default: the server's);
        returns the `ask --json` object."""
        return _answering(lambda: service.ask(message, history=history, k=k, collection=collection).to_json(),
                          settings)

    def documents(collection: str | None = None) -> list[dict] | dict:
        """The documents in a collection (default: the server's)."""
        return _answering(lambda: service.documents(collection), settings)

    def remove(doc_id: str, collection: str | None = None) -> dict:
        """Remove a document by id from a collection (default: the server's)."""
        return _answering(lambda: {"removed": doc_id, "message": service.remove(doc_id, collection)}, settings)

    def collections() -> list[dict]:
        """Every collection with its documents, chunks, embedding model and chunking."""
        return _answering(service.collections, settings)

    gr.api(chat, api_name="chat")
    gr.api(documents, api_name="documents")
    gr.api(remove, api_name="remove")
    gr.api(collections, api_name="collections")


def _answering(call, settings):
    """The call's result, or {"error": one line}: bad input as it is; the store's refusals and failures, and anything
    else (a model failing), logged as one line too."""
    try:
        return call()
    except InputError as exc:
        return {"error": str(exc)}
    except StoreError as exc:  # the store refused (busy, read-only) or failed (a server gone): worth one log line
        logger.warning("request refused: %s", public(str(exc), settings))
        return {"error": public(str(exc), settings)}
    except KeyError as exc:
        return {"error": str(exc.args[0]) if exc.args else "not found"}
    except Exception as exc:  # noqa: BLE001 (a failing backend: the caller gets a reason, the log one line)
        message = failure(exc, settings)
        logger.error("request failed: %s", message)
        logger.debug("request failed", exc_info=True)  # the stack, for whoever turns on debug logging
        return {"error": message}


def _settings_html(assistant: Assistant) -> str:
    """Which answerer, backend, default collection (the picker's first choice) and store are in use."""
    s = assistant.settings
    store = f"Chroma server {s.chroma_host}:{s.chroma_port}" if s.chroma_host else "embedded Chroma"
    answerer = getattr(assistant.answerer, "name", "extractive")
    backend = "none (extractive answers quote the sources)" if answerer == "extractive" else answerer
    return (f'<dl class="settings"><dt>Answerer</dt><dd>{escape(answerer)}</dd><dt>LLM backend</dt>'
            f"<dd>{escape(backend)}</dd><dt>Default collection</dt><dd>{escape(s.collection)}</dd><dt>Store</dt>"
            f"<dd>{escape(store)}</dd></dl>")


def theme():
    """Default theme with system fonts only (nothing fetched from the network), its softer text and button fills
    darkened so every text meets WCAG AA contrast in the light and dark modes."""
    import gradio as gr

    base = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    return base.set(
        body_text_color_subdued="*neutral_600", body_text_color_subdued_dark="*neutral_300",
        button_primary_background_fill="*primary_700", button_primary_background_fill_dark="*primary_700",
        button_primary_background_fill_hover="*primary_800", button_primary_background_fill_hover_dark="*primary_800",
        button_primary_text_color="white", button_primary_text_color_dark="white",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_dark="#b91c1c",
        button_cancel_background_fill_hover="#991b1b", button_cancel_background_fill_hover_dark="#991b1b",
        button_cancel_text_color="white", button_cancel_text_color_dark="white")


def _page_js(settings) -> str:
    """Page-wide behaviour (drag-and-drop onto the chat, checking files before upload), told what ingest
    accepts."""
    config = {"types": list(SUPPORTED_SUFFIXES), "maxBytes": int(settings.max_upload_mb * 1024 * 1024),
              "maxMb": settings.max_upload_mb, "readOnly": settings.read_only}
    return asset("page.js").replace("__CONFIG__", json.dumps(config))


LAUNCH_TRIES = 3


class ServeError(RuntimeError):
    """The web chat could not start; the message says why in one line."""


def launch(assistant: Assistant, *, block: bool = True):
    """Serve the app (no share link, no analytics, optional login, guarded requests); returns (app, url)."""
    from starlette.middleware import Middleware

    from .access import AccessGate
    from .guard import MAX_SESSIONS, RequestGuard

    settings = assistant.settings
    app = create_app(assistant)
    app.queue(default_concurrency_limit=settings.concurrency)
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user else None
    middleware = [Middleware(AccessGate, max_failures=settings.login_max_failures,
                             lockout=settings.login_lockout_seconds),
                  Middleware(RequestGuard, read_only=settings.read_only)]
    options = dict(server_name=settings.host, server_port=settings.port, share=False, auth=auth,
                   prevent_thread_lock=not block, quiet=True, footer_links=["api"],
                   max_file_size=int(settings.max_upload_mb * 1024 * 1024), theme=theme(), css=asset("chat.css"),
                   js=_page_js(settings), app_kwargs={"middleware": middleware}, state_session_capacity=MAX_SESSIONS)
    for _ in range(LAUNCH_TRIES):
        try:
            _, url, _ = app.launch(**options)
            return app, url
        except ValueError as exc:  # Gradio's own check of the page (3 s) timed out: a busy machine
            app.close()
            if "localhost is not accessible" not in str(exc):
                raise
    raise ServeError(f"the web chat on {settings.host}:{settings.port} did not answer Gradio's start-up check "
                     f"{LAUNCH_TRIES} times (is the machine very busy?); try again")
