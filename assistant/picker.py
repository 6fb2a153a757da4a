"""The collection picker: which collection the chat asks and the Corpus tab lists, adds to and removes from.

Picking another collection starts a new conversation (answers from two collections never mix in one); switching
to a saved conversation picks its collection again. Typing a new name starts a collection, listed once its first
document is added. A read-only server offers only the collections there are."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from . import chats
from .inputs import InputError
from .service import ChatService
from .webtext import status_html

PICKER_ID = "collection-picker"  # guard.FIELD_LIMITS bounds what this component may send


@dataclass(kw_only=True)
class Picker:
    """The dropdown, its one-line status, and the last good pick (restored after a bad name)."""

    dropdown: Any
    status: Any
    picked: Any


def collection_choices(collections: list[dict]) -> list[tuple[str, str]]:
    """(label, name) of every collection: its name and how many documents it holds."""
    return [(f"{c['name']} ({c['documents']} document{'s' if c['documents'] != 1 else ''})", c["name"])
            for c in collections]


def build_picker(gr, service: ChatService) -> Picker:
    """The dropdown of every collection (the settings' one picked), with a status line under it."""
    settings = service.assistant.settings
    hint = "Answers and the Corpus tab use this collection" if settings.read_only else \
        "Answers and the Corpus tab use it; type a new name to start one"
    dropdown = gr.Dropdown(choices=collection_choices(service.collections()), value=settings.collection,
                           label="Collection", info=hint, allow_custom_value=not settings.read_only, filterable=True,
                           elem_id=PICKER_ID, min_width=220)
    status = gr.HTML("", elem_id="collection-status", padding=False)
    return Picker(dropdown=dropdown, status=status, picked=gr.State(settings.collection))


def wire_picker(gr, app, service: ChatService, picker: Picker, chat, views) -> None:
    """Picking (or typing) a collection, picking a saved conversation's collection, and the page load."""
    from .chat_tab import chat_view, view_outputs

    settings, default = service.assistant.settings, service.assistant.settings.collection
    ours = [picker.dropdown, picker.status, picker.picked]
    skip = lambda outputs: {o: gr.skip() for o in outputs}  # noqa: E731

    def picked(name: str, status: str = "") -> dict:
        """The views of a collection, with the picker showing it."""
        choices = collection_choices(service.collections())
        return views.current(name) | {picker.dropdown: gr.Dropdown(choices=choices, value=name),
                                      picker.picked: name, picker.status: status}

    def on_pick(name, store, previous) -> dict:
        """Show the picked collection, in a new conversation unless the one on screen is empty or asks it."""
        if name == previous:  # picked again (or the picker just lost focus): nothing changes
            return skip(outputs)
        try:
            name = service.collection_name(name)
            if settings.read_only:
                service.known(name)
        except (InputError, KeyError) as exc:
            line = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            return {picker.dropdown: gr.Dropdown(value=previous), picker.status: status_html(line, ok=False)}
        known = {c["name"] for c in service.collections()}
        note = "" if name in known else status_html(
            f"New collection “{escape(name)}”: add documents to it (here or in the Corpus tab); it is listed once "
            "it holds one.")
        store = chats.asking(chats.normalised(store), name, default)
        return picked(name, note) | chat_view(gr, service, chat, store)

    outputs = [*ours, *views.outputs, *view_outputs(chat)]
    # no progress overlay: the picker fires on losing focus too, and the overlay would swallow the next click
    picker.dropdown.input(on_pick, [picker.dropdown, chat.chats, picker.picked], outputs, api_visibility="private",
                          show_progress="hidden")

    def on_switch(store, chosen) -> dict:
        """A saved conversation was chosen: pick the collection it asked."""
        store = chats.normalised(store)
        found = next((c for c in store["chats"] if c["id"] == chosen and c["turns"]), None)
        if found is None:
            return skip([*ours, *views.outputs])
        return picked(chats.collection_of(found, default))

    chat.chat_list.input(on_switch, [chat.chats, chat.chat_list], [*ours, *views.outputs], api_visibility="private",
                         preprocess=False, show_progress="hidden")

    def on_load(store) -> dict:
        """The page opens on its saved conversation: pick that conversation's collection (if it still exists)."""
        current = chats.active_chat(chats.normalised(store))
        name = chats.collection_of(current, default) if current["turns"] else default
        return picked(name if name in {c["name"] for c in service.collections()} else default)

    app.load(on_load, [chat.chats], [*ours, *views.outputs], api_visibility="private")
