"""Small pieces the web chat's tabs share: packaged CSS/JS, status lines, and messages fit to show users."""

from __future__ import annotations

from html import escape
from importlib.resources import files

from .settings import Settings


def asset(name: str) -> str:
    """A CSS/JS file shipped in the package."""
    return files("assistant").joinpath("static", name).read_text(encoding="utf-8")


def status_html(message: str, ok: bool = True) -> str:
    """A one-line status message, escaped; errors are announced to screen readers."""
    role = "status" if ok else "alert"
    return f'<div class="status {"ok" if ok else "error"}" role="{role}">{escape(message)}</div>'


def public(message: str, settings: Settings) -> str:
    """A message with the server's own folders (uploads, Chroma, data, knowledge) taken out of it."""
    folders = [settings.uploads_dir, settings.chroma_dir, settings.data_dir, settings.knowledge_dir]
    for folder in folders:
        for form in dict.fromkeys((str(folder.resolve()), str(folder))):
            message = message.replace(form + "/", "").replace(form, "the store")
    return message


def failure(exc: BaseException, settings: Settings) -> str:
    """A one-line reason for a failed request (the store and model errors already say what failed), without the
    server's folders."""
    from .llm import one_line

    return public(one_line(exc), settings)


def progress_html(message: str) -> str:
    """A line saying what is being done right now (with a spinner), announced politely."""
    return f'<div class="status working" role="status" aria-live="polite">{escape(message)}</div>'
