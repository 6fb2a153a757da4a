"""HTML and Markdown views of answers for the web chat. Every source-derived string is escaped here:
passages and answers are shown as text, never interpreted as HTML, scripts or markdown."""

from __future__ import annotations

import re
from html import escape

from .models import Answer, Citation

NEAREST = 3
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _e(text: str) -> str:
    """Escape for HTML text and attribute values."""
    return escape(text, quote=True)


def _position(c: Citation) -> str:
    """Where a passage sits in its document."""
    page = f"p. {c.page}, " if c.page else ""
    return f"{page}paragraph {c.paragraph}, characters {c.start}–{c.end}"


def highlighted_passage(c: Citation) -> str:
    """The passage text with its supporting sentences wrapped in <mark>, all text escaped."""
    out, cursor = [], c.start
    for start, end in sorted(c.sentences):
        out += [_e(c.text[cursor - c.start:start - c.start]), "<mark>", _e(c.text[start - c.start:end - c.start]),
                "</mark>"]
        cursor = end
    out.append(_e(c.text[cursor - c.start:]))
    return "".join(out)


def _chip(c: Citation) -> str:
    """A clickable [n] marker; hovering shows title and position."""
    return (f'<button type="button" class="cite-chip" data-cite="{c.id}" '
            f'title="{_e(c.title)} — {_position(c)}">{c.id}</button>')


def answer_body(answer: Answer, upto: int | None = None) -> str:
    """The answer sentences (the first `upto` of them while streaming), each with its chips."""
    by_id = {c.id: c for c in answer.citations}
    parts = []
    for sentence in answer.sentences[:upto]:
        chips = "".join(_chip(by_id[n]) for n in sentence.citations if n in by_id)
        flag = "" if sentence.supported else \
            '<span class="unsupported" title="Not supported by the passages it cites">unverified</span>'
        css = "sentence" if sentence.supported else "sentence unsupported-sentence"
        parts.append(f'<span class="{css}">{_e(sentence.text)}</span>{chips}{flag}')
    return " ".join(parts)


def _panels(answer: Answer) -> str:
    """Hidden per-citation panels that a chip click opens: title, position, highlighted passage."""
    return "".join(
        f'<div class="cite-panel" data-cite="{c.id}" hidden><div class="cite-head"><b>[{c.id}] {_e(c.title)}</b>'
        f' <span class="where">{_e(c.source)} · {_position(c)}</span></div>'
        f'<div class="passage">{highlighted_passage(c)}</div></div>' for c in answer.citations)


def _sources(answer: Answer) -> str:
    """Every cited passage in order, with its relevance."""
    items = "".join(
        f'<li data-cite="{c.id}"><span class="src-n">[{c.id}]</span> <b>{_e(c.title)}</b> '
        f'<span class="where">{_e(c.source)} · {_position(c)}</span> '
        f'<span class="score">relevance: rank {c.rank}, similarity {c.similarity:.2f}</span>'
        f'<blockquote>{highlighted_passage(c)}</blockquote></li>' for c in answer.citations)
    summary = f"<summary>Sources ({len(answer.citations)})</summary>"
    return f'<details class="sources" open>{summary}<ol>{items}</ol></details>'


def _nearest(answer: Answer) -> str:
    """Closest passages for a refusal, labelled so they do not read as an answer."""
    if not answer.passages:
        return ""
    items = "".join(
        f'<li><b>{_e(p.chunk.title)}</b> <span class="where">{_e(p.chunk.source)} · paragraph '
        f'{p.chunk.paragraph}</span><blockquote>{_e(p.chunk.text)}</blockquote></li>'
        for p in answer.passages[:NEAREST])
    return (f'<details class="nearest"><summary>Nearest material in the sources (not an answer)</summary>'
            f'<ol>{items}</ol></details>')


def answer_html(answer: Answer, *, upto: int | None = None, final: bool = True) -> str:
    """One answer block: refusal banner or cited sentences, then panels, sources and tools."""
    notice = f'<div class="notice">{_e(answer.notice)}</div>' if answer.notice else ""
    if answer.unmentioned:
        names = _e(", ".join(answer.unmentioned))
        notice += f'<div class="notice unmentioned">The sources never mention: {names}.</div>'
    searched = "" if answer.search_query in ("", answer.question) else \
        f'<div class="searched">Searched for: {_e(answer.search_query)}</div>'
    if answer.refused:
        return (f'<div class="answer refused">{searched}<div class="refusal-banner">Not covered by the sources'
                f'</div><div class="answer-text">{_e(answer.text)}</div>{notice}{_nearest(answer)}</div>')
    tools = "" if not final else (
        f'<div class="tools"><button type="button" class="copy-btn" data-copy="{_e(plain_answer(answer))}">'
        f'Copy answer</button><span class="meta">{_e(answer.answerer)} · {answer.verified_sentences}/'
        f'{len(answer.sentences)} sentences verified · {answer.timings_ms.get("total", 0):.0f} ms</span></div>')
    extra = _panels(answer) + _sources(answer) + tools if final else ""
    return (f'<div class="answer">{searched}{notice}<div class="answer-text">{answer_body(answer, upto)}</div>'
            f'{extra}</div>')


def streaming_html(text: str) -> str:
    """An LLM answer still being written: plain escaped text, marked as not yet verified."""
    body = re.sub(r"\[(\d+)\]", r'<span class="cite-chip pending">\1</span>', _e(text))
    return (f'<div class="answer streaming"><div class="answer-text">{body}</div>'
            '<div class="meta">writing… citations are checked when the answer is complete</div></div>')


def plain_answer(answer: Answer) -> str:
    """The answer as plain text with its numbered sources, for the clipboard."""
    if answer.refused:
        return answer.text
    sources = "\n".join(f"[{c.id}] {c.title}, {c.source}, {_position(c)}: \"{' '.join(c.text.split())}\""
                        for c in answer.citations)
    return f"{answer.text}\n\nSources:\n{sources}"


def conversation_html(turns: list[tuple[str, str]]) -> str:
    """All turns (question, rendered answer HTML) as one scrollable conversation."""
    if not turns:
        return '<div class="conversation empty"><p class="hint">Ask a question about the sources. Every ' \
               'sentence of an answer cites a numbered passage; click a number to see it.</p></div>'
    blocks = "".join(f'<div class="turn"><div class="question">{_e(q)}</div>{a}</div>' for q, a in turns)
    return f'<div class="conversation">{blocks}</div>'


def _md(text: str) -> str:
    """Neutralise markdown syntax in exported source text."""
    return _MD_SPECIAL.sub(r"\\\1", escape(" ".join(text.split()), quote=False))


def conversation_markdown(answers: list[Answer]) -> str:
    """The whole conversation with sources, as a Markdown document to download."""
    lines = ["# Conversation with the analysis assistant", ""]
    for i, a in enumerate(answers, start=1):
        lines += [f"## {i}. {_md(a.question)}", ""]
        if a.search_query and a.search_query != a.question:
            lines += [f"*Searched for: {_md(a.search_query)}*", ""]
        body = _md(a.text) if a.refused else " ".join(
            _md(s.text) + "".join(f" [{n}]" for n in s.citations) for s in a.sentences)
        lines += [("**Not covered by the sources.** " if a.refused else "") + body, ""]
        for c in a.citations:
            lines += [f"- **[{c.id}]** {_md(c.title)}, `{c.source}`, {_position(c)}", "", f"  > {_md(c.text)}", ""]
    return "\n".join(lines)
