"""The Chat tab: conversation, question box with stop, regenerate and edit, example questions, and the list
of conversations kept in the browser's local storage (see chats.py)."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from typing import Any

from . import chats
from .documents import SUPPORTED_SUFFIXES
from .examples import MAX_EXAMPLES
from .inputs import InputError, QuestionError
from .models import Answer
from .render import answer_html, conversation_html, streaming_html
from .service import ChatService
from .webtext import asset, failure, public, status_html

logger = logging.getLogger(__name__)
STORAGE_KEY = "analysis-assistant-conversations"


@dataclass(kw_only=True)
class ChatTab:
    """The chat tab's components, for wiring events across tabs."""

    chats: Any
    conversation: Any
    collection: Any
    box: Any
    ask: Any
    stop: Any
    pending: Any
    editing: Any
    edit_bar: Any
    cancel_edit: Any
    actions: Any
    regenerate: Any
    edit: Any
    export: Any
    examples: Any
    example_buttons: list
    chat_list: Any
    new_chat: Any
    delete_chat: Any
    k: Any
    attach: Any
    attach_status: Any
    picker: Any


def build_chat_tab(gr, service: ChatService, settings_html: str, picker=None) -> ChatTab:
    """Lay out the chat tab (the conversation column, then the side column) and wire its events; questions go to
    the collection chosen in `picker` (without one, always the settings' collection)."""
    picker = picker if picker is not None else gr.State(service.assistant.settings.collection)
    with gr.Row(elem_id="chat-layout"):
        with gr.Column(scale=4, min_width=300, elem_id="chat-main"):
            parts = _main_column(gr, read_only=service.assistant.settings.read_only)
        with gr.Column(scale=1, min_width=240, elem_id="chat-side"):
            parts |= _side_column(gr, service, settings_html)
    tab = ChatTab(chats=gr.BrowserState(chats.empty_store(), storage_key=STORAGE_KEY,
                                        secret=_storage_secret(service)),
                  pending=gr.State(""), editing=gr.State(False), picker=picker, **parts)
    _wire(gr, service, tab)
    return tab


def _storage_secret(service: ChatService) -> str:
    """A per-install key, stable across restarts so saved conversations stay readable."""
    return hashlib.sha256(str(service.assistant.settings.data_dir.resolve()).encode()).hexdigest()[:32]


def _main_column(gr, *, read_only: bool) -> dict:
    """What the collection holds (with adding documents, unless the server is read-only), the conversation, turn
    actions, examples and the question box."""
    parts = {}
    with gr.Row(elem_id="collection-row"):
        parts["collection"] = gr.HTML("", elem_id="collection", padding=False, scale=1, min_width=240)
        parts["attach"] = gr.UploadButton("Add documents", file_count="multiple", size="sm", scale=0, min_width=140,
                                          file_types=list(SUPPORTED_SUFFIXES), elem_id="attach",
                                          visible=not read_only, interactive=not read_only)
    parts["attach_status"] = gr.HTML("", elem_id="attach-status", padding=False)
    parts["conversation"] = gr.HTML(conversation_html([]), elem_id="conversation", js_on_load=asset("chat.js"))
    with gr.Row(visible=False, elem_id="turn-actions") as parts["actions"]:
        parts["regenerate"] = gr.Button("Regenerate", size="sm", elem_id="regenerate", scale=0)
        parts["edit"] = gr.Button("Edit last question", size="sm", elem_id="edit-last", scale=0)
        parts["export"] = gr.DownloadButton("Export (Markdown)", size="sm", elem_id="export", scale=0)
    with gr.Accordion("Example questions", open=True, elem_id="examples") as parts["examples"]:
        parts["example_buttons"] = [gr.Button("", visible=False, size="sm", variant="secondary",
                                              elem_classes=["example"]) for _ in range(MAX_EXAMPLES)]
    with gr.Row(visible=False, elem_id="edit-bar") as parts["edit_bar"]:
        gr.HTML('<p class="hint">Editing your last question: asking again replaces its answer.</p>', padding=False)
        parts["cancel_edit"] = gr.Button("Cancel edit", size="sm", elem_id="cancel-edit", scale=0)
    with gr.Row(elem_id="composer"):
        parts["box"] = gr.Textbox(placeholder="Ask about the sources…", show_label=False, scale=6, lines=1,
                                  elem_id="question", max_lines=6, autofocus=True, container=False)
        parts["ask"] = gr.Button("Ask", variant="primary", scale=0, min_width=76, elem_id="ask")
        parts["stop"] = gr.Button("Stop", variant="stop", scale=0, min_width=76, elem_id="stop", visible=False)
    return parts


def _side_column(gr, service: ChatService, settings_html: str) -> dict:
    """Conversations (new, switch, delete) and the settings panel."""
    parts = {"new_chat": gr.Button("New chat", elem_id="new-chat", size="sm"),
             "chat_list": gr.Radio(label="Conversations", choices=[], elem_id="chat-list"),
             "delete_chat": gr.Button("Delete this conversation", size="sm", elem_id="delete-chat")}
    with gr.Accordion("Settings", open=False, elem_id="settings"):
        parts["k"] = gr.Slider(1, 10, value=service.assistant.settings.top_k, step=1,
                               label="Passages retrieved (k)", elem_id="k")
        gr.HTML(settings_html, padding=False)
    return parts


def _turns(answers: list[Answer]) -> list[tuple[str, str]]:
    """Finished turns as (question, answer HTML), rendered once per chat event, not once per streamed token."""
    return [(a.question, answer_html(a)) for a in answers]


def chat_view(gr, service: ChatService, tab: ChatTab, store: dict, status: str = "") -> dict:
    """Everything that shows the active conversation: the turns, the list, export and the examples state."""
    chat = chats.active_chat(store)
    answers = chats.answers(chat)
    choices = chats.choices(store, service.assistant.settings.collection)
    return {tab.conversation: conversation_html(_turns(answers), chat_id=chat["id"], status=status),
            tab.chats: store, tab.chat_list: gr.Radio(choices=choices, value=store["active"]),
            tab.actions: gr.Row(visible=bool(answers)), tab.examples: gr.Accordion(open=not answers),
            tab.export: gr.DownloadButton(value=service.export(answers)), tab.editing: False,
            tab.edit_bar: gr.Row(visible=False)}


def _question_problem(message: str, limit: int) -> str:
    """Why a question cannot be sent, in the UI's words ('' when it can)."""
    text = (message or "").strip()
    if not text:
        return "Type a question first."
    if len(text) > limit:
        return f"Your question is {len(text):,} characters long; questions can be at most {limit:,} characters."
    return ""


def _wire(gr, service: ChatService, tab: ChatTab) -> None:
    """Connect the chat tab's events."""
    run = Answering(gr=gr, service=service, tab=tab)
    outputs = [tab.conversation, tab.chats, tab.box, tab.ask, tab.stop, tab.pending, tab.editing, tab.edit_bar,
               tab.actions, tab.examples, tab.export, tab.chat_list]

    def on_ask(message: str, store: dict, k: int, editing: bool, collection: str | None = None,
               pending=None) -> Iterator[dict]:
        """Answer the question in the box from the picked collection (replacing the last turn when editing it)."""
        if pending:  # an answer is still being written: keep the new question in the box for later
            yield {tab.box: message}
            return
        yield from run(message, chats.normalised(store), k, collection, replace_last=bool(editing))

    def on_example(message: str, store: dict, k: int, collection: str | None, pending=None) -> Iterator[dict]:
        """Ask an example question (unless an answer is still being written)."""
        yield from on_ask(message, store, k, False, collection, pending)

    def on_regenerate(store: dict, k: int, collection: str | None) -> Iterator[dict]:
        """Answer the last question again (with the current settings), replacing its answer."""
        store = chats.normalised(store)
        turns = chats.active_chat(store)["turns"]
        if turns:
            yield from run(turns[-1]["question"], store, k, collection, replace_last=True)

    picked = tab.picker
    tab.ask.click(on_ask, [tab.box, tab.chats, tab.k, tab.editing, picked], outputs, api_name="ui_chat",
                  api_visibility="undocumented")
    tab.box.submit(on_ask, [tab.box, tab.chats, tab.k, tab.editing, picked, tab.pending], outputs,
                   api_visibility="private")
    tab.regenerate.click(on_regenerate, [tab.chats, tab.k, picked], outputs, api_visibility="private")
    for button in tab.example_buttons:
        button.click(on_example, [button, tab.chats, tab.k, picked, tab.pending], outputs, api_visibility="private")
    tab.stop.click(run.stop, [tab.pending], [tab.stop], api_visibility="private")
    _wire_controls(gr, service, tab, outputs)


def _wire_controls(gr, service: ChatService, tab: ChatTab, outputs: list) -> None:
    """Edit, and the conversation list: switch, new, delete."""
    view = lambda store, status="": chat_view(gr, service, tab, store, status)  # noqa: E731

    def on_edit(store: dict) -> dict:
        """Put the last question back in the box; asking then replaces its answer."""
        turns = chats.active_chat(chats.normalised(store))["turns"]
        if not turns:
            return {tab.box: gr.skip()}
        return {tab.box: turns[-1]["question"], tab.editing: True, tab.edit_bar: gr.Row(visible=True)}

    tab.edit.click(on_edit, [tab.chats], [tab.box, tab.editing, tab.edit_bar], api_visibility="private")
    tab.cancel_edit.click(lambda: {tab.box: "", tab.editing: False, tab.edit_bar: gr.Row(visible=False)}, None,
                          [tab.box, tab.editing, tab.edit_bar], api_visibility="private")
    show = [o for o in outputs if o not in (tab.box, tab.ask, tab.stop, tab.pending)]
    tab.new_chat.click(lambda s: view(chats.started(chats.normalised(s))), [tab.chats], show,
                       api_name="new_chat", api_visibility="private")
    # preprocess=False: the choice is checked by chats.switched, not by Gradio (whose check of a choice it does not
    # know prints a stack trace)
    tab.chat_list.input(lambda s, chosen: view(chats.switched(chats.normalised(s), chosen)),
                        [tab.chats, tab.chat_list], show, api_visibility="private", preprocess=False)

    def on_delete(store) -> dict:
        """Delete the conversation on screen, unless the confirmation was cancelled (store is then a string)."""
        if not isinstance(store, dict):
            return {output: gr.skip() for output in show}
        store = chats.normalised(store)
        return view(chats.deleted(store, store["active"]))

    tab.delete_chat.click(on_delete, [tab.chats], show, api_visibility="private",
                          js="(store) => [window.confirm('Delete this conversation? This cannot be undone.') "
                             "? store : 'cancelled']")


def view_outputs(tab: ChatTab) -> list:
    """The components chat_view updates."""
    return [tab.conversation, tab.chats, tab.chat_list, tab.actions, tab.examples, tab.export, tab.editing,
            tab.edit_bar]


def load_conversations(gr, app, service: ChatService, tab: ChatTab) -> None:
    """On every page load, show the conversation saved in this browser (or start one)."""
    show = view_outputs(tab)
    app.load(lambda s: chat_view(gr, service, tab, chats.normalised(s)), [tab.chats], show, api_visibility="private")


class Stopped(Exception):
    """The reader pressed Stop while this answer was being written."""


@dataclass(kw_only=True)
class Answering:
    """The streaming answer event shared by ask, examples and regenerate, and the Stop that ends it.

    Stop only raises a flag; the running event sees it at its next step and writes the final view itself, so a
    late streamed update can never overwrite the stopped state."""

    gr: Any
    service: ChatService
    tab: ChatTab
    stops: set = field(default_factory=set)

    def stop(self, pending: dict | str) -> Any:
        """Ask the running answer (named by its token) to stop."""
        if isinstance(pending, dict) and pending.get("token"):
            self.stops.add(pending["token"])
        return self.gr.Button(value="Stopping…", interactive=False)

    def busy(self, message: str, token: str) -> dict:
        """While answering: Stop instead of Ask, no turn actions, examples folded away."""
        gr, tab = self.gr, self.tab
        return {tab.ask: gr.Button(visible=False), tab.stop: gr.Button(visible=True, value="Stop", interactive=True),
                tab.actions: gr.Row(visible=False), tab.examples: gr.Accordion(open=False),
                tab.edit_bar: gr.Row(visible=False), tab.box: "", tab.pending: {"question": message, "token": token}}

    def idle(self, chat: dict, status: str = "", box: str = "") -> dict:
        """Ready for the next question, showing the conversation as stored (plus a status line)."""
        gr, tab = self.gr, self.tab
        html = conversation_html(_turns(chats.answers(chat)), chat_id=chat["id"], status=status)
        return {tab.ask: gr.Button(visible=True), tab.stop: gr.Button(visible=False), tab.pending: "",
                tab.conversation: html, tab.box: box, tab.actions: gr.Row(visible=bool(chat["turns"]))}

    def __call__(self, message: str, store: dict, k: int, collection: str | None = None, *,
                 replace_last: bool) -> Iterator[dict]:
        """Stream one answer from the collection into the conversation: the question at once, then tokens or
        verified sentences. A conversation of another collection is not continued: a new one is started."""
        chat, tab = chats.active_chat(store), self.tab
        problem = _question_problem(message, self.service.assistant.settings.max_question_chars)
        try:
            collection = self.service.collection_name(collection)
        except InputError as exc:
            problem = problem or str(exc)
        if not problem and chats.collection_of(chat, self.service.assistant.settings.collection) != collection \
                and chat["turns"]:
            store, replace_last = chats.asking(store, collection, self.service.assistant.settings.collection), False
            chat = chats.active_chat(store)
        if problem:
            yield {tab.conversation: conversation_html(_turns(chats.answers(chat)), chat_id=chat["id"],
                                                       status=status_html(problem, ok=False)), tab.box: message}
            return
        turns = chat["turns"][:-1] if replace_last else chat["turns"]
        history = [chats.answer_from_record(t) for t in turns]
        done, token = _turns(history), uuid.uuid4().hex
        render = lambda extra: conversation_html(done + extra, chat_id=chat["id"])  # noqa: E731
        yield self.busy(message, token) | {tab.conversation: render([(message, streaming_html(""))])}
        try:
            answer = yield from self._stream(render, message, history, k, token, collection)
        except Stopped:
            note = "Stopped: the unfinished answer was discarded; your question is back in the box."
            yield self.idle(chat, status_html(note), box=message)
            return
        except Exception as exc:  # a failing store or backend is reported in the chat, not as a stack trace
            yield self.idle(chat, status_html(_failure(exc, self.service), ok=False), box=message)
            return
        finally:
            self.stops.discard(token)
        store = chats.with_turns(store, turns + [chats.record(answer)])
        yield self.idle(chats.active_chat(store)) | chat_view(self.gr, self.service, tab, store)

    def _stream(self, render, message: str, history: list[Answer], k: int, token: str, collection: str):
        """Yield conversation updates while the answer streams; return the verified Answer."""
        written, answer = "", None
        for item in self.service.stream(message, history, k, collection):
            if token in self.stops:
                raise Stopped
            if isinstance(item, str):
                written += item
                yield {self.tab.conversation: render([(message, streaming_html(written))])}
            else:
                answer = item
        for upto in range(1, len(answer.sentences) if not written else 0):
            yield {self.tab.conversation: render([(message, answer_html(answer, upto=upto, final=False))])}
        if token in self.stops:
            raise Stopped
        return answer


def _failure(exc: Exception, service: ChatService) -> str:
    """A one-line message for a failed answer, with no internal paths; a failure of the store or a model is logged
    as one line too."""
    if isinstance(exc, QuestionError):
        return public(f"Cannot ask that: {exc}", service.assistant.settings)
    if isinstance(exc, KeyError) and exc.args:  # an unknown collection: it names the existing ones
        return f"Could not answer: {exc.args[0]}"
    reason = failure(exc, service.assistant.settings)
    logger.error("answering failed: %s", reason)
    return f"Could not answer: {reason}"


def collection_html(docs: list[dict], collection: str, *, read_only: bool = False) -> str:
    """What the chat knows: how many documents of the picked collection, and their titles."""
    if not docs:
        how = "" if read_only else ": use “Add documents” or drop files here"
        return (f'<div class="collection"><p class="hint">No documents yet in “{escape(collection)}”{how}.</p>'
                "</div>")
    count = f"{len(docs)} document{'s' if len(docs) != 1 else ''}"
    names = ", ".join(escape(d["title"]) for d in docs[:3]) + (f" and {len(docs) - 3} more" if len(docs) > 3 else "")
    items = "".join(f'<li>{escape(d["title"])} <span class="where">{d["chunks"]} passages</span></li>' for d in docs)
    return (f'<details class="collection"><summary><b>{count}</b> in “{escape(collection)}”: {names}</summary>'
            f"<ul>{items}</ul></details>")
