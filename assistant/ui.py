"""The Gradio web chat: `create_app` builds it (no server), `launch` serves it on loopback."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from .chain import Assistant, QuestionError
from .models import Answer

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&\"'])")


def md_escape(text: str) -> str:
    """Source text shown literally: no markdown, links, images or HTML can come through."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def answer_markdown(answer: Answer) -> str:
    """The answer followed by its numbered, quoted sources (all source text escaped)."""
    if answer.refused:
        return f"**Not covered by the sources.** {md_escape(answer.text)}"
    body = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", md_escape(answer.text))
    sources = [f"**[{c.id}]** *{md_escape(c.title)}* — {md_escape(c.source)}, paragraph {c.paragraph}, "
               f"characters {c.start}–{c.end}\n\n> {md_escape(c.text)}" for c in answer.citations]
    return body + "\n\n**Sources**\n\n" + "\n\n".join(sources)


def stream_answer(answer: Answer) -> Iterator[str]:
    """Cumulative text, one answer sentence at a time, then the sources."""
    if answer.refused:
        yield answer_markdown(answer)
        return
    shown = []
    for sentence in answer.sentences:
        shown.append(sentence.text + "".join(f" [{n}]" for n in sentence.citations))
        yield re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", md_escape(" ".join(shown)))
    yield answer_markdown(answer)


def create_app(assistant: Assistant):
    """Build the Blocks app for this assistant without starting a server."""
    import gradio as gr

    def chat(message: str, history: list) -> Iterator[str]:
        """Answer one chat message, streamed."""
        try:
            answer = assistant.ask(message)
        except QuestionError as exc:
            yield f"**Cannot ask that:** {md_escape(str(exc))}"
            return
        yield from stream_answer(answer)

    return gr.ChatInterface(chat, title="Analysis assistant", api_name="chat",
                            description="Every sentence of an answer cites a numbered passage of the sources.",
                            chatbot=gr.Chatbot(height=520, sanitize_html=True, allow_tags=False),
                            flagging_mode="never", analytics_enabled=False)


def launch(assistant: Assistant, *, block: bool = True):
    """Serve the app on the configured host and port (no share link, no analytics); returns (app, url)."""
    settings = assistant.settings
    app = create_app(assistant)
    app.queue(default_concurrency_limit=settings.concurrency)
    _, url, _ = app.launch(server_name=settings.host, server_port=settings.port, share=False,
                           prevent_thread_lock=not block, quiet=not block, footer_links=["api"])
    return app, url
