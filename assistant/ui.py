"""The Gradio web chat: `create_app` builds it (no server), `launch` serves it on loopback."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from html import escape
from importlib.resources import files
from pathlib import Path

from .chain import Assistant, QuestionError
from .documents import SUPPORTED_SUFFIXES
from .models import Answer
from .render import answer_html, conversation_html, streaming_html
from .service import ChatService
from .store import StoreError

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
logger = logging.getLogger(__name__)

EXAMPLES = [
    "How did Russia respond to the crisis in Belarus?",
    "Why was Moscow caught unprepared by the fighting in Nagorno-Karabakh?",
    "What could Russia have done to help Kyrgyzstan?",
    "What do the three crises say about Russia's capacity to manage crises?",
]


def _asset(name: str) -> str:
    """A CSS/JS file shipped in the package."""
    return files("assistant").joinpath("static", name).read_text(encoding="utf-8")


def _status(message: str, ok: bool = True) -> str:
    """A one-line status message, escaped."""
    return f'<div class="status {"ok" if ok else "error"}">{escape(message)}</div>'


def documents_html(docs: list[dict]) -> str:
    """The corpus table, escaped."""
    if not docs:
        return '<p class="hint">No documents yet: upload .txt or .md files.</p>'
    rows = "".join(f"<tr><td>{escape(d['title'])}</td><td><code>{escape(d['doc_id'])}</code></td>"
                   f"<td>{escape(d['source'])}</td><td>{d['chunks']}</td><td>{escape(d['ingested_at'])}</td></tr>"
                   for d in docs)
    return ('<table class="corpus"><thead><tr><th>Title</th><th>Id</th><th>Source</th><th>Chunks</th>'
            f"<th>Ingested</th></tr></thead><tbody>{rows}</tbody></table>")


def _turns(answers: list[Answer]) -> list[tuple[str, str]]:
    """Finished turns as (question, answer HTML), rendered once per chat event, not once per streamed token."""
    return [(a.question, answer_html(a)) for a in answers]


def _render(answers: list[Answer] | list[tuple[str, str]], partial: Answer | None = None, upto: int | None = None,
            writing: tuple[str, str] | None = None) -> str:
    """The conversation (answers, or turns already rendered), optionally ending with an answer still streaming."""
    turns = [t if isinstance(t, tuple) else (t.question, answer_html(t)) for t in answers]
    if partial is not None:
        turns.append((partial.question, answer_html(partial, upto=upto, final=False)))
    if writing is not None:
        turns.append((writing[0], streaming_html(writing[1])))
    return conversation_html(turns)


def create_app(assistant: Assistant):
    """Build the Blocks app for this assistant without starting a server."""
    import gradio as gr

    service = ChatService(assistant=assistant)
    with gr.Blocks(title="Analysis assistant", analytics_enabled=False) as app:
        app.service = service
        gr.HTML('<h1 class="app-title">Analysis assistant</h1><p class="app-sub">Answers quote numbered '
                "passages of the sources; questions the sources do not cover are declined.</p>", padding=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(gr, service)
            with gr.Tab("Corpus", id="corpus"):
                _corpus_tab(gr, service)
        _api(gr, service)
    return app


def _chat_tab(gr, service: ChatService) -> None:
    """Conversation, question box, examples, new chat, export and the settings panel."""
    answers = gr.State([])
    with gr.Row():
        with gr.Column(scale=4):
            conversation = gr.HTML(_render([]), elem_id="conversation", js_on_load=_asset("chat.js"))
            with gr.Row(elem_id="examples") as examples_row:
                example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
            with gr.Row():
                box = gr.Textbox(placeholder="Ask about the sources…", show_label=False, scale=6,
                                 elem_id="question", max_lines=4, autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
            with gr.Row():
                new_chat = gr.Button("New chat", size="sm", elem_id="new-chat")
                export = gr.DownloadButton("Export conversation (Markdown)", size="sm", visible=False,
                                           elem_id="export")
        with gr.Column(scale=1, min_width=240), gr.Accordion("Settings", open=True, elem_id="settings"):
            k = gr.Slider(1, 10, value=service.assistant.settings.top_k, step=1, label="Passages retrieved (k)")
            gr.HTML(_settings_html(service.assistant), padding=False)
    outputs = [conversation, answers, box, export, examples_row]
    on_chat = _chat_handler(gr, service)
    send.click(on_chat, [box, answers, k], outputs, api_name="ui_chat", api_visibility="undocumented")
    box.submit(on_chat, [box, answers, k], outputs, api_visibility="private")
    for button in example_buttons:
        button.click(on_chat, [button, answers, k], outputs, api_visibility="private")
    new_chat.click(lambda: (_render([]), [], "", gr.DownloadButton(visible=False), gr.Row(visible=True)),
                   None, outputs, api_name="new_chat", api_visibility="private")


def _chat_handler(gr, service: ChatService):
    """The streaming chat event: (message, answers, k) -> conversation, answers, box, export, examples."""

    def on_chat(message: str, state: list[Answer], passages: int) -> Iterator[tuple]:
        """Stream one answer into the conversation: LLM tokens as they come, then verified sentences."""
        if not (message or "").strip():
            yield _render(state), state, message, gr.skip(), gr.skip()
            return
        written, answer, done = "", None, _turns(state)
        try:
            for item in service.stream(message, state, passages):
                if isinstance(item, str):
                    written += item
                    yield _render(done, writing=(message, written)), state, "", gr.skip(), gr.Row(visible=False)
                else:
                    answer = item
        except QuestionError as exc:
            yield _render(state) + _status(f"Cannot ask that: {exc}", ok=False), state, message, gr.skip(), \
                gr.skip()
            return
        except Exception as exc:  # a failing store or backend is reported in the chat, not as a stack trace
            logger.exception("answering failed")
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            yield _render(state) + _status(f"Could not answer: {reason}", ok=False), state, message, gr.skip(), \
                gr.skip()
            return
        for upto in range(1, len(answer.sentences) if not written else 0):
            yield _render(done, answer, upto), state, "", gr.skip(), gr.Row(visible=False)
        state = state + [answer]
        yield _render(state), state, "", gr.DownloadButton(value=service.export(state), visible=True), \
            gr.Row(visible=False)

    return on_chat


def _corpus_tab(gr, service: ChatService) -> None:
    """Document table, upload with progress, and removal with confirmation."""
    limit = service.assistant.settings.max_upload_mb
    table, choices = _corpus_views(service)
    docs_view = gr.HTML(table, elem_id="corpus-table")
    uploads = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload",
                      label=f"Add documents (.txt, .md; at most {limit:g} MB each)")
    add = gr.Button("Add to corpus", variant="primary", elem_id="add-docs")
    with gr.Row():
        doc_choice = gr.Dropdown(choices=choices, label="Document", scale=3, elem_id="remove-choice")
        remove = gr.Button("Remove…", variant="stop", scale=1, elem_id="remove")
    with gr.Row(visible=False) as confirm_row:
        confirm_text = gr.HTML("")
        confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove")
        cancel = gr.Button("Cancel", elem_id="cancel-remove")
    status = gr.HTML("", elem_id="corpus-status")

    def on_add(paths: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008 (Gradio's idiom)
        """Ingest the uploaded files and refresh the corpus views."""
        if not paths:
            return _status("Choose one or more .txt or .md files first.", ok=False), gr.skip(), gr.skip(), None
        done, errors = service.add_files([Path(p) for p in paths], progress)
        messages = [_status(m) for m in done] + [_status(f"Rejected: {e}", ok=False) for e in errors]
        table, choices = _corpus_views(service)
        return "".join(messages), table, gr.Dropdown(choices=choices), None

    def on_remove_request(doc_id: str | None) -> tuple:
        """Ask for confirmation before removing."""
        if not doc_id:
            return gr.Row(visible=False), "", _status("Choose a document to remove.", ok=False)
        return gr.Row(visible=True), f"<b>Remove {escape(doc_id)} and all its chunks?</b>", ""

    def on_remove(doc_id: str | None) -> tuple:
        """Remove the chosen document and refresh the corpus views."""
        try:
            message, ok = service.remove(doc_id or ""), True
        except (KeyError, StoreError) as exc:
            message, ok = str(exc.args[0]), False
        table, choices = _corpus_views(service)
        return gr.Row(visible=False), _status(message, ok), table, gr.Dropdown(choices=choices, value=None)

    add.click(on_add, [uploads], [status, docs_view, doc_choice, uploads], api_name="upload")
    remove.click(on_remove_request, [doc_choice], [confirm_row, confirm_text, status], api_visibility="private")
    cancel.click(lambda: (gr.Row(visible=False), ""), None, [confirm_row, status], api_visibility="private")
    confirm.click(on_remove, [doc_choice], [confirm_row, status, docs_view, doc_choice], api_visibility="private")


def _api(gr, service: ChatService) -> None:
    """Stable scripted endpoints: /chat, /documents and /remove (see README); /upload is the upload button."""

    def chat(message: str, history: list[str] | None = None, k: int = 0) -> dict:
        """Answer a question (with earlier questions for follow-ups); returns the `ask --json` object."""
        try:
            answer = service.assistant.ask(message, history=list(history or []), k=int(k) or None)
        except QuestionError as exc:
            return {"error": str(exc)}
        return answer.to_json()

    def documents() -> list[dict]:
        """The documents in the store."""
        return service.documents()

    def remove(doc_id: str) -> dict:
        """Remove a document by id."""
        try:
            return {"removed": doc_id, "message": service.remove(doc_id)}
        except (KeyError, StoreError) as exc:
            return {"error": str(exc.args[0])}

    gr.api(chat, api_name="chat")
    gr.api(documents, api_name="documents")
    gr.api(remove, api_name="remove")


def _corpus_views(service: ChatService) -> tuple[str, list[tuple[str, str]]]:
    """The corpus table and the removal dropdown's entries (title (id) -> id), from one manifest read."""
    docs = service.documents()
    return documents_html(docs), [(f"{d['title']} ({d['doc_id']})", d["doc_id"]) for d in docs]


def _settings_html(assistant: Assistant) -> str:
    """Which answerer, backend and collection are in use."""
    s = assistant.settings
    store = f"Chroma server {s.chroma_host}:{s.chroma_port}" if s.chroma_host else f"embedded Chroma in {s.data_dir}"
    answerer = getattr(assistant.answerer, "name", "extractive")
    backend = "none (extractive answers quote the sources)" if answerer == "extractive" else answerer
    return (f'<dl class="settings"><dt>Answerer</dt><dd>{escape(answerer)}</dd><dt>LLM backend</dt>'
            f"<dd>{escape(backend)}</dd><dt>Collection</dt><dd>{escape(s.collection)}</dd><dt>Store</dt>"
            f"<dd>{escape(store)}</dd></dl>")


def theme():
    """Default theme with system fonts only: nothing fetched from the network."""
    import gradio as gr

    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(assistant: Assistant, *, block: bool = True):
    """Serve the app (no share link, no analytics, optional basic auth); returns (app, url)."""
    settings = assistant.settings
    app = create_app(assistant)
    app.queue(default_concurrency_limit=settings.concurrency)
    auth = (settings.auth_user, settings.auth_password) if settings.auth_user else None
    _, url, _ = app.launch(server_name=settings.host, server_port=settings.port, share=False, auth=auth,
                           prevent_thread_lock=not block, quiet=True, footer_links=["api"],
                           max_file_size=int(settings.max_upload_mb * 1024 * 1024), theme=theme(),
                           css=_asset("chat.css"))
    return app, url
