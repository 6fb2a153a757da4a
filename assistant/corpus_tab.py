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
from .inputs import InputError
from .picker import collection_choices
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


def documents_html(docs: list[dict], collection: str = "", *, read_only: bool = False) -> str:
    """The corpus table of the picked collection, escaped; file names only, never the folders they are kept in."""
    name = f" in “{escape(collection)}”" if collection else ""
    if not docs:
        how = "" if read_only else f": add {', '.join(SUPPORTED_SUFFIXES)} files below"
        return f'<p class="hint">No documents yet{name}{how}.</p>'
    rows = "".join(f'<tr><td data-label="Title">{escape(d["title"])}</td><td data-label="File">'
                   f'{escape(file_name(d["source"]))}</td><td data-label="Passages">{d["chunks"]}</td>'
                   f'<td data-label="Added">{escape(d["ingested_at"][:16].replace("T", " "))}</td></tr>'
                   for d in docs)
    count = f"{len(docs)} document{'s' if len(docs) != 1 else ''}{name}"
    return (f'<table class="corpus"><caption>{count}</caption><thead><tr><th>Title</th><th>File</th>'
            f"<th>Passages</th><th>Added</th></tr></thead><tbody>{rows}</tbody></table>")


class CorpusViews:
    """Everything derived from the stored documents of the picked collection; each collection's documents and
    examples are read once per store revision and shared by all pages."""

    def __init__(self, gr, service: ChatService, tab: CorpusTab, chat: ChatTab) -> None:
        self.gr, self.service, self.tab, self.chat = gr, service, tab, chat
        self.outputs = [tab.table, tab.picker, tab.revision, chat.collection, chat.picker, *chat.example_buttons]
        self._cached: dict[str, tuple[Any, list[dict], list[str]]] = {}
        self._choices: tuple[Any, list] = (None, [])

    def _read(self, collection: str) -> tuple[Any, list[dict], list[str]]:
        """(revision, documents, example questions) of a collection, re-read when the store changed; an unknown
        (new) collection has none."""
        revision = self.service.revision(collection)
        cached = self._cached.get(collection)
        if cached is None or cached[0] != revision:
            try:
                docs = self.service.documents(collection)
                limit = len(self.chat.example_buttons)
                chunks = self._recent_chunks(self.service.assistant_for(collection).store, docs, limit)
            except KeyError:
                docs, chunks = [], []
            cached = (revision, docs, example_questions(docs, chunks, len(self.chat.example_buttons)))
            self._cached[collection] = cached
        return cached

    @staticmethod
    def _recent_chunks(store, docs: list[dict], count: int) -> list:
        """The first chunks of the most recently added documents: enough for example questions, whatever the
        store's size."""
        from dataclasses import replace

        chunks = []
        for doc in sorted(docs, key=lambda d: d.get("ingested_at", ""), reverse=True)[:count]:
            ids = (store.manifest.documents.get(doc["doc_id"]) or {}).get("chunk_ids", [])[:40]
            found = store.get_chunks(ids)  # a chunk shared with another document names that one: take it as ours
            chunks += [replace(found[i], doc_id=doc["doc_id"]) for i in dict.fromkeys(ids) if i in found]
        return chunks

    def current(self, collection: str | None = None, *, clear_choice: bool = False) -> dict:
        """Updates for every view of the collection: the table, the removal picker, the collection line and
        picker's choices, and the examples."""
        gr, name = self.gr, self.name(collection)
        revision, docs, examples = self._read(name)
        read_only = self.service.assistant.settings.read_only
        choices = [(f"{d['title']} ({file_name(d['source'])})", d["doc_id"]) for d in docs]
        views = {self.tab.table: documents_html(docs, name, read_only=read_only), self.tab.revision: revision,
                 self.tab.picker: gr.Dropdown(choices=choices, value=None) if clear_choice else
                 gr.Dropdown(choices=choices),
                 self.chat.collection: collection_html(docs, name, read_only=read_only),
                 self.chat.picker: gr.Dropdown(choices=self.choices(revision))}
        for button, question in zip_longest(self.chat.example_buttons, examples):
            views[button] = gr.Button(value=question or "", visible=bool(question))
        return views

    def choices(self, revision: tuple) -> list:
        """The collection picker's entries, re-read only when some collection changed."""
        if self._choices[0] != revision[1]:
            self._choices = (revision[1], collection_choices(self.service.collections()))
        return self._choices[1]

    def name(self, collection: str | None) -> str:
        """The collection to show: the one given, or the app's own when that is no collection name."""
        try:
            return self.service.collection_name(collection)
        except InputError:
            return self.service.assistant.settings.collection

    def if_changed(self, seen, collection: str | None = None) -> dict:
        """Updates only when the store changed since this page last looked (nothing otherwise)."""
        if seen == self.service.revision(self.name(collection)):
            return {output: self.gr.skip() for output in self.outputs}
        return self.current(collection)


def wire_corpus(gr, service: ChatService, tab: CorpusTab, chat: ChatTab) -> CorpusViews:
    """Uploads (both tabs), removal, and keeping every page's views in step with the store and the picked
    collection (the page load is wired with the picker, see picker.py)."""
    views = CorpusViews(gr, service, tab, chat)
    add = _adder(service, views)

    def on_upload(paths: list[str] | None, collection: str | None = None) -> Iterator[dict]:
        """Files chosen or dropped on the Corpus tab: add them at once to the picked collection, then clear the
        upload area."""
        yield from add(paths, collection, tab.status, {tab.upload: None})

    def on_attach(paths: list[str] | None, collection: str | None = None) -> Iterator[dict]:
        """Files chosen or dropped on the chat: add them at once to the picked collection."""
        yield from add(paths, collection, chat.attach_status, {})

    tab.upload.upload(on_upload, [tab.upload, chat.picker], [tab.status, *views.outputs, tab.upload],
                      api_name="upload", show_progress="hidden")
    chat.attach.upload(on_attach, [chat.attach, chat.picker], [chat.attach_status, *views.outputs],
                       api_visibility="private", show_progress="hidden")
    _wire_remove(gr, service, tab, views)
    timer = gr.Timer(SYNC_SECONDS)
    timer.tick(views.if_changed, [tab.revision, chat.picker], views.outputs, show_progress="hidden",
               concurrency_limit=None, api_visibility="private")
    return views


def _adder(service: ChatService, views: CorpusViews):
    """The upload handler: ingest the chosen files one by one, reporting progress and then each file's result
    next to the upload area."""
    settings = service.assistant.settings

    def add(paths: list[str] | None, collection: str | None, status, last: dict) -> Iterator[dict]:
        """Say which file is being added to which collection, add it, and finally refresh every view (and apply
        `last`)."""
        try:
            name = service.collection_name(collection)
        except InputError as exc:
            yield {status: status_html(f"Not added: {exc}", ok=False)} | last
            return
        if settings.read_only:
            yield views.current(name) | {status: status_html(f"Not added: {READ_ONLY}", ok=False)} | last
            return
        lines: list[str] = []
        for number, path in enumerate(map(Path, paths or []), start=1):
            yield {status: "".join(lines) + progress_html(f"Adding {path.name} ({number} of {len(paths)}) to "
                                                          f"“{name}”…")}
            done, errors = service.add_files([path], collection=name) if uploaded(path) else \
                ([], [f"{path.name}: not a file uploaded to this server"])
            lines += [status_html(public(m, settings)) for m in done]
            lines += [status_html(public(f"Not added: {e}", settings), ok=False) for e in errors]
        yield views.current(name) | {status: "".join(lines)} | last

    return add


def uploaded(path: Path) -> bool:
    """Whether a file is one Gradio received from a browser (inside its upload folder), not any file on the server."""
    from gradio.utils import get_upload_folder

    return path.resolve().is_relative_to(Path(get_upload_folder()).resolve())


def _wire_remove(gr, service: ChatService, tab: CorpusTab, views: CorpusViews) -> None:
    """Remove a document after a confirmation that names its title."""

    def title_of(doc_id: str | None, collection: str | None) -> str | None:
        """The stored title of a document id in the collection, or None when it is not stored there."""
        try:
            return next((d["title"] for d in service.documents(collection) if d["doc_id"] == doc_id), None)
        except (KeyError, InputError):
            return None

    def on_request(doc_id: str | None, collection: str | None = None) -> dict:
        """Ask for confirmation before removing."""
        title = title_of(doc_id, collection)
        if title is None:
            return {tab.confirm_row: gr.Row(visible=False), tab.status: status_html("Choose a document to remove.",
                                                                                      ok=False)}
        return {tab.confirm_row: gr.Row(visible=True), tab.status: "",
                tab.confirm_text: f"<p><b>Remove “{escape(title)}” and all its passages?</b></p>"}

    def on_remove(doc_id: str | None, collection: str | None = None) -> dict:
        """Remove the chosen document from the picked collection and refresh every view."""
        title = title_of(doc_id, collection)
        try:
            if title is None:
                raise KeyError(doc_id)
            service.remove(doc_id, collection)
            message, ok = f"Removed “{title}”.", True
        except KeyError:
            message, ok = "That document is no longer stored.", False
        except StoreError as exc:
            message, ok = str(exc), False
        return views.current(collection, clear_choice=True) | {tab.confirm_row: gr.Row(visible=False),
                                                                tab.status: status_html(message, ok)}

    # preprocess=False: the choice is checked against the stored documents here (see chat_tab's conversation list)
    tab.remove.click(on_request, [tab.picker, views.chat.picker], [tab.confirm_row, tab.confirm_text, tab.status],
                     api_visibility="private", preprocess=False)
    tab.cancel.click(lambda: {tab.confirm_row: gr.Row(visible=False), tab.status: ""}, None,
                     [tab.confirm_row, tab.status], api_visibility="private")
    tab.confirm.click(on_remove, [tab.picker, views.chat.picker], [tab.confirm_row, tab.status, *views.outputs],
                      api_visibility="private", preprocess=False)
