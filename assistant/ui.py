"""The Gradio web chat: `create_app` builds it (no server), `launch` serves it on loopback."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from html import escape
from importlib.resources import files
from pathlib import Path

from .chain import Assistant, QuestionError
from .documents import SUPPORTED_SUFFIXES, DocumentError, load
from .ingest import ingest, remove_document
from .models import Answer
from .render import answer_html, conversation_html, conversation_markdown

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

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


class ChatService:
    """What the UI and the API endpoints call; one per app, sharing the assistant's model and store."""

    def __init__(self, *, assistant: Assistant) -> None:
        self.assistant = assistant
        self.write_lock = threading.Lock()
        self.export_dir = Path(tempfile.mkdtemp(prefix="assistant-export-"))

    def ask(self, message: str, answers: list[Answer], k: int) -> Answer:
        """Answer a chat message, resolving follow-ups against the earlier search queries."""
        history = [a.search_query or a.question for a in answers]
        return self.assistant.ask(message, history=history, k=int(k))

    def documents(self) -> list[dict]:
        """The stored documents, newest manifest first."""
        self.assistant.store.reload_manifest()
        docs = self.assistant.store.manifest.documents
        return [{"doc_id": d, "title": e["title"], "source": e["source"], "chunks": len(e["chunk_ids"]),
                 "ingested_at": e["ingested_at"]} for d, e in sorted(docs.items())]

    def add_files(self, paths: list[Path], progress=None) -> tuple[list[str], list[str]]:
        """Validate uploads, copy the good ones into the uploads folder and ingest them."""
        limit = self.assistant.settings.max_upload_mb
        done, errors = [], []
        for i, path in enumerate(paths):
            if progress:
                progress((i, len(paths)), desc=f"Ingesting {path.name}")
            name = _original_name(path)
            try:
                _check_upload(path, name, limit)
                done.append(self._ingest_one(path, name))
            except DocumentError as exc:
                errors.append(str(exc))
        return done, errors

    def _ingest_one(self, path: Path, name: str) -> str:
        """Copy one validated upload into place and ingest it; the copy is undone if ingest fails."""
        target = self.assistant.settings.uploads_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.write_lock:
            backup = target.read_bytes() if target.exists() else None
            shutil.copyfile(path, target)
            report = ingest([target], store=self.assistant.store, embeddings=self.assistant.embeddings)
            if report.errors:
                target.write_bytes(backup) if backup is not None else target.unlink()
                raise DocumentError(report.errors[0])
        verb = "added" if report.added else "updated" if report.updated else "unchanged"
        return f"{name}: {verb} ({report.chunks} chunks)"

    def remove(self, doc_id: str) -> str:
        """Remove a document and, for uploads, its file."""
        with self.write_lock:
            entry = self.assistant.store.manifest.documents.get(doc_id)
            removed = remove_document(self.assistant.store, doc_id)
        upload = self.assistant.settings.uploads_dir / Path(entry["source"]).name if entry else None
        if upload and upload.is_file() and str(upload.resolve()) == entry["source"]:
            upload.unlink()
        return f"removed {doc_id} ({removed} chunks)"

    def export(self, answers: list[Answer]) -> str | None:
        """Write the conversation as Markdown and return the file for download."""
        if not answers:
            return None
        path = Path(tempfile.mkdtemp(dir=self.export_dir)) / "conversation.md"
        path.write_text(conversation_markdown(answers), encoding="utf-8")
        return str(path)


def _original_name(path: Path) -> str:
    """The uploaded file's own name (Gradio keeps it as the temp file's name), made safe."""
    name = Path(path).name.replace("/", "_").replace("\\", "_").lstrip(".")
    return name or "upload.txt"


def _check_upload(path: Path, name: str, limit_mb: float) -> None:
    """Reject unsupported, oversized, binary, non-UTF-8 and empty uploads before anything is stored."""
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type; upload {', '.join(SUPPORTED_SUFFIXES)} files")
    size = path.stat().st_size
    if size > limit_mb * 1024 * 1024:
        raise DocumentError(f"{name}: {size / 1048576:.1f} MB is over the {limit_mb:g} MB upload limit")
    try:
        load(path)
    except DocumentError as exc:
        raise DocumentError(str(exc).replace(str(path), name)) from None


def documents_html(docs: list[dict]) -> str:
    """The corpus table, escaped."""
    if not docs:
        return '<p class="hint">No documents yet: upload .txt or .md files.</p>'
    rows = "".join(f"<tr><td>{escape(d['title'])}</td><td><code>{escape(d['doc_id'])}</code></td>"
                   f"<td>{escape(d['source'])}</td><td>{d['chunks']}</td><td>{escape(d['ingested_at'])}</td></tr>"
                   for d in docs)
    return ('<table class="corpus"><thead><tr><th>Title</th><th>Id</th><th>Source</th><th>Chunks</th>'
            f"<th>Ingested</th></tr></thead><tbody>{rows}</tbody></table>")


def _render(answers: list[Answer], partial: Answer | None = None, upto: int | None = None) -> str:
    """The conversation, optionally with an answer still streaming at the end."""
    turns = [(a.question, answer_html(a)) for a in answers]
    if partial is not None:
        turns.append((partial.question, answer_html(partial, upto=upto, final=False)))
    return conversation_html(turns)


def create_app(assistant: Assistant):
    """Build the Blocks app for this assistant without starting a server."""
    import gradio as gr

    service = ChatService(assistant=assistant)
    settings = assistant.settings
    with gr.Blocks(title="Analysis assistant", analytics_enabled=False) as app:
        app.service = service
        answers = gr.State([])
        gr.HTML('<h1 class="app-title">Analysis assistant</h1><p class="app-sub">Answers quote numbered '
                "passages of the sources; questions the sources do not cover are declined.</p>", padding=False)
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"), gr.Row():
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
                    k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Passages retrieved (k)")
                    gr.HTML(_settings_html(assistant), padding=False)
            with gr.Tab("Corpus", id="corpus"):
                docs_view = gr.HTML(documents_html(service.documents()), elem_id="corpus-table")
                uploads = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                  label=f"Add documents (.txt, .md; at most {settings.max_upload_mb:g} MB each)",
                                  elem_id="upload")
                add = gr.Button("Add to corpus", variant="primary", elem_id="add-docs")
                with gr.Row():
                    doc_choice = gr.Dropdown(choices=_doc_choices(service), label="Document", scale=3,
                                             elem_id="remove-choice")
                    remove = gr.Button("Remove…", variant="stop", scale=1, elem_id="remove")
                with gr.Row(visible=False) as confirm_row:
                    confirm_text = gr.HTML("")
                    confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove")
                    cancel = gr.Button("Cancel", elem_id="cancel-remove")
                corpus_status = gr.HTML("", elem_id="corpus-status")

        chat_outputs = [conversation, answers, box, export, examples_row]

        def on_chat(message: str, state: list[Answer], passages: int) -> Iterator[tuple]:
            """Stream one answer into the conversation, sentence by sentence."""
            if not (message or "").strip():
                yield _render(state), state, message, gr.skip(), gr.skip()
                return
            try:
                answer = service.ask(message, state, passages)
            except QuestionError as exc:
                yield _render(state) + _status(f"Cannot ask that: {exc}", ok=False), state, message, \
                    gr.skip(), gr.skip()
                return
            for upto in range(1, len(answer.sentences)):
                yield _render(state, answer, upto), state, "", gr.skip(), gr.Row(visible=False)
            state = state + [answer]
            yield _render(state), state, "", gr.DownloadButton(value=service.export(state), visible=True), \
                gr.Row(visible=False)

        send.click(on_chat, [box, answers, k], chat_outputs, api_name="ui_chat", api_visibility="undocumented")
        box.submit(on_chat, [box, answers, k], chat_outputs, api_visibility="private")
        for button in example_buttons:
            button.click(on_chat, [button, answers, k], chat_outputs, api_visibility="private")
        new_chat.click(lambda: (_render([]), [], "", gr.DownloadButton(visible=False), gr.Row(visible=True)),
                       None, chat_outputs, api_name="new_chat", api_visibility="private")

        def on_add(paths: list[str] | None, progress=gr.Progress()) -> tuple:  # noqa: B008 (Gradio's idiom)
            """Ingest the uploaded files and refresh the corpus views."""
            if not paths:
                return _status("Choose one or more .txt or .md files first.", ok=False), gr.skip(), gr.skip(), None
            done, errors = service.add_files([Path(p) for p in paths], progress)
            messages = [_status(m) for m in done] + [_status(f"Rejected: {e}", ok=False) for e in errors]
            return "".join(messages), documents_html(service.documents()), \
                gr.Dropdown(choices=_doc_choices(service)), None

        add.click(on_add, [uploads], [corpus_status, docs_view, doc_choice, uploads], api_name="upload")

        def on_remove_request(doc_id: str | None) -> tuple:
            """Ask for confirmation before removing."""
            if not doc_id:
                return gr.Row(visible=False), "", _status("Choose a document to remove.", ok=False)
            return gr.Row(visible=True), f"<b>Remove {escape(doc_id)} and all its chunks?</b>", ""

        remove.click(on_remove_request, [doc_choice], [confirm_row, confirm_text, corpus_status],
                     api_visibility="private")
        cancel.click(lambda: (gr.Row(visible=False), ""), None, [confirm_row, corpus_status], api_visibility="private")

        def on_remove(doc_id: str | None) -> tuple:
            """Remove the chosen document and refresh the corpus views."""
            try:
                message, ok = service.remove(doc_id or ""), True
            except KeyError as exc:
                message, ok = str(exc.args[0]), False
            return gr.Row(visible=False), _status(message, ok), documents_html(service.documents()), \
                gr.Dropdown(choices=_doc_choices(service), value=None)

        confirm.click(on_remove, [doc_choice], [confirm_row, corpus_status, docs_view, doc_choice],
                      api_visibility="private")
        _api(gr, service)
    return app


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
        except KeyError as exc:
            return {"error": str(exc.args[0])}

    gr.api(chat, api_name="chat")
    gr.api(documents, api_name="documents")
    gr.api(remove, api_name="remove")


def _doc_choices(service: ChatService) -> list[tuple[str, str]]:
    """Dropdown entries: title (id) -> id."""
    return [(f"{d['title']} ({d['doc_id']})", d["doc_id"]) for d in service.documents()]


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
                           prevent_thread_lock=not block, quiet=not block, footer_links=["api"],
                           max_file_size=int(settings.max_upload_mb * 1024 * 1024), theme=theme(),
                           css=_asset("chat.css"))
    return app, url
