"""The Corpus tab (documents, one-step upload, removal by title) and the views that show what is stored,
kept fresh in every open page: read on page load, after each change, and when another page or process
changed the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from itertools import zip_longest
from pathlib import Path
from typing import Any

from .chat_tab import ChatTab, collection_html
from .documents import SUPPORTED_SUFFIXES
from .examples import example_questions
from .render import file_name
from .service import READ_ONLY, ChatService
from .store import StoreError
from .webtext import progress_html, public, status_html

SYNC_SECONDS = 3.0
READ_ONLY_NOTE = "This server is read-only: documents cannot be added or removed here."


@dataclass(kw_only=True)
class CorpusTab:
    """The corpus tab's components."""

    table: Any
    upload: Any
    status: Any
    picker: Any
    remove: Any
    confirm_row: Any
    confirm_text: Any
    confirm: Any
    cancel: Any
    revision: Any


def types_label(limit_mb: float) -> str:
    """The accepted file types and size, from what ingest supports."""
    return f"{', '.join(SUPPORTED_SUFFIXES)}; at most {limit_mb:g} MB each"


def build_corpus_tab(gr, service: ChatService) -> CorpusTab:
    """Document table, upload area and removal with confirmation."""
    limit, writable = service.assistant.settings.max_upload_mb, not service.assistant.settings.read_only
    table = gr.HTML(documents_html([]), elem_id="corpus-table")
    if not writable:
        gr.HTML(f'<p class="hint" id="read-only">{READ_ONLY_NOTE}</p>', padding=False)
    upload = gr.File(file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload",
                     label=f"Add documents ({types_label(limit)}): choose or drop files; they are added at once",
                     visible=writable, interactive=writable)
    status = gr.HTML("", elem_id="corpus-status", padding=False)
    with gr.Row(elem_id="remove-row", visible=writable):
        picker = gr.Dropdown(choices=[], value=None, label="Document to remove", scale=3, elem_id="remove-choice")
        remove = gr.Button("Remove…", variant="stop", scale=1, elem_id="remove")
    with gr.Row(visible=False, elem_id="confirm-row") as confirm_row:
        confirm_text = gr.HTML("", padding=False)
        confirm = gr.Button("Yes, remove it", variant="stop", elem_id="confirm-remove", scale=0)
        cancel = gr.Button("Cancel", elem_id="cancel-remove", scale=0)
    return CorpusTab(table=table, upload=upload, status=status, picker=picker, remove=remove,
                     confirm_row=confirm_row, confirm_text=confirm_text, confirm=confirm, cancel=cancel,
                     revision=gr.State(None))


def documents_html(docs: list[dict]) -> str:
    """The corpus table, escaped; file names only, never the folders they are kept in."""
    if not docs:
        return f'<p class="hint">No documents yet: add {", ".join(SUPPORTED_SUFFIXES)} files below.</p>'
    rows = "".join(f'<tr><td data-label="Title">{escape(d["title"])}</td><td data-label="File">'
                   f'{escape(file_name(d["source"]))}</td><td data-label="Passages">{d["chunks"]}</td>'
                   f'<td data-label="Added">{escape(d["ingested_at"][:16].replace("T", " "))}</td></tr>'
                   for d in docs)
    return ('<table class="corpus"><thead><tr><th>Title</th><th>File</th><th>Passages</th><th>Added</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


class CorpusViews:
    """Everything derived from the stored documents; the documents and examples are read once per store
    revision and shared by all pages."""

    def __init__(self, gr, service: ChatService, tab: CorpusTab, chat: ChatTab) -> None:
        self.gr, self.service, self.tab, self.chat = gr, service, tab, chat
        self.outputs = [tab.table, tab.picker, tab.revision, chat.collection, *chat.example_buttons]
        self._cached: tuple[Any, list[dict], list[str]] | None = None

    def _read(self) -> tuple[Any, list[dict], list[str]]:
        """(revision, documents, example questions), re-read when the store changed."""
        revision = self.service.assistant.store.revision
        if self._cached is None or self._cached[0] != revision:
            docs = self.service.documents()
            chunks = self.service.assistant.retriever.lexical_index().chunks
            self._cached = (revision, docs, example_questions(docs, chunks, len(self.chat.example_buttons)))
        return self._cached

    def current(self, *, clear_choice: bool = False) -> dict:
        """Updates for every view: the table, the removal picker, the collection line and the examples."""
        gr, (revision, docs, examples) = self.gr, self._read()
        choices = [(f"{d['title']} ({file_name(d['source'])})", d["doc_id"]) for d in docs]
        views = {self.tab.table: documents_html(docs), self.tab.revision: revision,
                 self.tab.picker: gr.Dropdown(choices=choices, value=None) if clear_choice else
                 gr.Dropdown(choices=choices),
                 self.chat.collection: collection_html(docs, self.service.assistant.settings.collection)}
        for button, question in zip_longest(self.chat.example_buttons, examples):
            views[button] = gr.Button(value=question or "", visible=bool(question))
        return views

    def if_changed(self, seen) -> dict:
        """Updates only when the store changed since this page last looked (nothing otherwise)."""
        if seen == self.service.assistant.store.revision:
            return {output: self.gr.skip() for output in self.outputs}
        return self.current()


def wire_corpus(gr, app, service: ChatService, tab: CorpusTab, chat: ChatTab) -> None:
    """Uploads (both tabs), removal, and keeping every page's views in step with the store."""
    views = CorpusViews(gr, service, tab, chat)
    add = _adder(service, views)

    def on_upload(paths: list[str] | None) -> Iterator[dict]:
        """Files chosen or dropped on the Corpus tab: add them at once, then clear the upload area."""
        yield from add(paths, tab.status, {tab.upload: None})

    def on_attach(paths: list[str] | None) -> Iterator[dict]:
        """Files chosen or dropped on the chat: add them at once."""
        yield from add(paths, chat.attach_status, {})

    tab.upload.upload(on_upload, [tab.upload], [tab.status, *views.outputs, tab.upload], api_name="upload",
                      show_progress="hidden")
    chat.attach.upload(on_attach, [chat.attach], [chat.attach_status, *views.outputs], api_visibility="private",
                       show_progress="hidden")
    _wire_remove(gr, service, tab, views)
    app.load(lambda: views.current(), None, views.outputs, api_visibility="private")
    timer = gr.Timer(SYNC_SECONDS)
    timer.tick(views.if_changed, [tab.revision], views.outputs, show_progress="hidden", concurrency_limit=None,
               api_visibility="private")


def _adder(service: ChatService, views: CorpusViews):
    """The upload handler: ingest the chosen files one by one, reporting progress and then each file's result
    next to the upload area."""
    settings = service.assistant.settings

    def add(paths: list[str] | None, status, last: dict) -> Iterator[dict]:
        """Say which file is being added, add it, and finally refresh every view (and apply `last`)."""
        if settings.read_only:
            yield views.current() | {status: status_html(f"Not added: {READ_ONLY}", ok=False)} | last
            return
        lines: list[str] = []
        for number, path in enumerate(map(Path, paths or []), start=1):
            yield {status: "".join(lines) + progress_html(f"Adding {path.name} ({number} of {len(paths)})…")}
            done, errors = service.add_files([path]) if uploaded(path) else \
                ([], [f"{path.name}: not a file uploaded to this server"])
            lines += [status_html(public(m, settings)) for m in done]
            lines += [status_html(public(f"Not added: {e}", settings), ok=False) for e in errors]
        yield views.current() | {status: "".join(lines)} | last

    return add


def uploaded(path: Path) -> bool:
    """Whether a file is one Gradio received from a browser (inside its upload folder), not any file on the server."""
    from gradio.utils import get_upload_folder

    return path.resolve().is_relative_to(Path(get_upload_folder()).resolve())


def _wire_remove(gr, service: ChatService, tab: CorpusTab, views: CorpusViews) -> None:
    """Remove a document after a confirmation that names its title."""

    def title_of(doc_id: str | None) -> str | None:
        """The stored title of a document id, or None when it is not stored."""
        return next((d["title"] for d in service.documents() if d["doc_id"] == doc_id), None)

    def on_request(doc_id: str | None) -> dict:
        """Ask for confirmation before removing."""
        title = title_of(doc_id)
        if title is None:
            return {tab.confirm_row: gr.Row(visible=False), tab.status: status_html("Choose a document to remove.",
                                                                                      ok=False)}
        return {tab.confirm_row: gr.Row(visible=True), tab.status: "",
                tab.confirm_text: f"<p><b>Remove “{escape(title)}” and all its passages?</b></p>"}

    def on_remove(doc_id: str | None) -> dict:
        """Remove the chosen document and refresh every view."""
        title = title_of(doc_id)
        try:
            if title is None:
                raise KeyError(doc_id)
            service.remove(doc_id)
            message, ok = f"Removed “{title}”.", True
        except KeyError:
            message, ok = "That document is no longer stored.", False
        except StoreError as exc:
            message, ok = str(exc), False
        return views.current(clear_choice=True) | {tab.confirm_row: gr.Row(visible=False),
                                                     tab.status: status_html(message, ok)}

    # preprocess=False: the choice is checked against the stored documents here (see chat_tab's conversation list)
    tab.remove.click(on_request, [tab.picker], [tab.confirm_row, tab.confirm_text, tab.status],
                     api_visibility="private", preprocess=False)
    tab.cancel.click(lambda: {tab.confirm_row: gr.Row(visible=False), tab.status: ""}, None,
                     [tab.confirm_row, tab.status], api_visibility="private")
    tab.confirm.click(on_remove, [tab.picker], [tab.confirm_row, tab.status, *views.outputs],
                      api_visibility="private", preprocess=False)
