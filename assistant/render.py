"""HTML and Markdown views of answers for the web chat. Every source-derived string is escaped here:
passages and answers are shown as text, never interpreted as HTML, scripts or markdown.

Each cited passage appears once, in the answer's (collapsed) sources list; a chip opens it there. Its
highlights carry the numbers of the answer sentences they support, so a chip lights up only its own sentence.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import PurePath

from .models import Answer, Citation, Passage
from .support import support_score

NEAREST = 3
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LINE_BREAK = re.compile(r"(?<!\n)[ \t]*\n[ \t]*(?!\n|(?:[-*+•]|\d{1,3}[.)])\s)")  # not before a list item


def _e(text: str) -> str:
    """Escape for HTML text and attribute values."""
    return escape(str(text), quote=True)


def file_name(source: str) -> str:
    """What users see of a source: its file name, never the folder it is kept in."""
    return PurePath(source).name or source


def _position(c: Citation) -> str:
    """Where a passage sits in its document."""
    page = f"p. {c.page}, " if c.page else ""
    return f"{page}paragraph {c.paragraph}, characters {c.start}–{c.end}"


def prose(text: str) -> str:
    """Hard line breaks inside a paragraph joined into spaces; blank lines (paragraph breaks) and the line break
    before each list item kept. Offsets into the result still match the original, so highlight spans stay valid."""
    return _LINE_BREAK.sub(lambda m: " " * len(m.group(0)), text)


def kind(answer: Answer) -> str:
    """answered, declined or partial: the answerability decision when there is one."""
    if answer.partial or answer.decision == "partial":
        return "partial"
    return "declined" if answer.refused or answer.decision == "declined" else "answered"


def highlight_owners(answer: Answer) -> dict[tuple[int, int, int], list[int]]:
    """(citation id, start, end) of each highlighted span -> indices of the answer sentences it supports."""
    by_id, owners = {c.id: c for c in answer.citations}, {}
    for i, sentence in enumerate(answer.sentences):
        for c in (by_id[n] for n in sentence.citations if n in by_id and by_id[n].sentences):
            best = max(c.sentences, key=lambda span, c=c, text=sentence.text: support_score(
                text, c.text[span[0] - c.start:span[1] - c.start]))
            owners.setdefault((c.id, *best), []).append(i)
    return owners


def highlighted_passage(c: Citation, owners: dict | None = None) -> str:
    """The passage as prose with its supporting sentences in <mark data-s="...">, all text escaped."""
    text, out, cursor = prose(c.text), [], c.start
    for start, end in sorted(c.sentences):
        who = " ".join(map(str, (owners or {}).get((c.id, start, end), [])))
        out += [_e(text[cursor - c.start:start - c.start]), f'<mark data-s="{who}">',
                _e(text[start - c.start:end - c.start]), "</mark>"]
        cursor = end
    out.append(_e(text[cursor - c.start:]))
    return "".join(out)


def _chip(c: Citation, sentence: int) -> str:
    """A clickable [n] marker that opens passage n with sentence `sentence`'s support lit; hover names it."""
    return (f'<button type="button" class="cite-chip" data-cite="{c.id}" data-s="{sentence}" '
            f'aria-label="Source {c.id}: {_e(c.title)}" title="{_e(c.title)} — {_e(file_name(c.source))}, '
            f'{_position(c)}">{c.id}</button>')


def answer_body(answer: Answer, upto: int | None = None) -> str:
    """The answer sentences (the first `upto` of them while streaming), each with its chips."""
    by_id = {c.id: c for c in answer.citations}
    parts = []
    for i, sentence in enumerate(answer.sentences[:upto]):
        if answer.partial and not sentence.citations:  # the assistant's own "mention X but not Y" statement
            parts.append(f'<span class="sentence note">{_e(sentence.text)}</span>')
            continue
        chips = "".join(_chip(by_id[n], i) for n in sentence.citations if n in by_id)
        flag = "" if sentence.supported else \
            '<span class="unsupported" title="Not supported by the passages it cites">unverified</span>'
        css = "sentence" if sentence.supported else "sentence unsupported-sentence"
        source = f' <span class="from">({_e(sentence.source)})</span>' if sentence.source else ""
        parts.append(f'<span class="{css}">{_e(sentence.text)}</span>{chips}{source}{flag}')
    return " ".join(parts) if parts else _e(answer.text)


def _sources(answer: Answer, *, open_: bool = False) -> str:
    """Every cited passage once, in order, with where it is and how it ranked; collapsed unless asked."""
    owners = highlight_owners(answer)
    items = "".join(
        f'<li class="source" data-cite="{c.id}"><div class="source-head"><span class="src-n">[{c.id}]</span> '
        f'<b>{_e(c.title)}</b> <span class="where">{_e(file_name(c.source))} · {_position(c)}</span></div>'
        f'<blockquote class="passage">{highlighted_passage(c, owners)}</blockquote>'
        f'<div class="where">relevance: rank {c.rank}, similarity {c.similarity:.2f}</div></li>'
        for c in answer.citations)
    return (f'<details class="sources"{" open" if open_ else ""}><summary>Sources ({len(answer.citations)})'
            f"</summary><ol>{items}</ol></details>")


def _nearest(answer: Answer) -> str:
    """Closest passages for a refusal, labelled so they do not read as an answer."""
    if not answer.passages:
        return ""
    items = "".join(
        f'<li><b>{_e(p.chunk.title)}</b> <span class="where">{_e(file_name(p.chunk.source))} · paragraph '
        f'{p.chunk.paragraph}</span><blockquote class="passage">{_e(prose(p.chunk.text))}</blockquote></li>'
        for p in answer.passages[:NEAREST])
    return (f'<details class="nearest"><summary>Nearest material in the sources (not an answer)</summary>'
            f'<ol>{items}</ol></details>')


def _reasons(answer: Answer) -> str:
    """Why the answer was given, limited or declined: the answerability checks when the answerer ran them."""
    info = getattr(answer, "answerability", None) or {}
    rows = "".join(
        f'<li class="{"pass" if r.get("passed") else "fail"}"><b>{"passed" if r.get("passed") else "failed"}'
        f'</b> {_e(r.get("check", ""))}{": " + _e(r["detail"]) if r.get("detail") else ""}'
        f'{" (" + _e(", ".join(r["terms"])) + ")" if r.get("terms") else ""}</li>'
        for r in info.get("reasons") or [])
    facts = f"<li>evidence score {answer.evidence_score:.3f}</li>"
    if answer.notice:
        facts += f"<li>{_e(answer.notice)}</li>"
    return (f'<div class="why"><b>Decision:</b> {_e(info.get("decision") or kind(answer))}'
            f"<ul>{rows}{facts}</ul></div>")


def _rank(rank, score, digits: int) -> str:
    """One retriever's view of a passage: its rank and score, or a dash when it did not find it."""
    if score is None:
        return "—"
    return (f"#{rank} · " if rank is not None else "") + f"{score:.{digits}f}"


def _trace(answer: Answer) -> str:
    """The retrieval trace: the query searched and every retrieved passage with its fused, dense and lexical
    rank and score; passages the answer cites show their [n]."""
    cited = {(c.doc_id, c.start, c.end): c.id for c in answer.citations}
    rows = "".join(_trace_row(p, cited.get((p.chunk.doc_id, p.chunk.start, p.chunk.end))) for p in answer.passages)
    query = answer.search_query or answer.question
    return (f'<div class="trace"><b>Searched for:</b> {_e(query)}<table class="trace-table"><thead><tr>'
            "<th>#</th><th>Passage</th><th>Fused</th><th>Dense</th><th>Lexical</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _trace_row(p: Passage, cited: int | None) -> str:
    """One retrieved passage in the trace."""
    c = p.chunk
    tag = f'<span class="src-n">[{cited}]</span> ' if cited else ""
    return (f"<tr><td>{p.rank}</td><td>{tag}{_e(c.title)} <span class=\"where\">¶{c.paragraph}</span></td>"
            f"<td>{p.score:.4f}</td><td>{_rank(getattr(p, 'dense_rank', None), p.dense_score, 3)}</td>"
            f"<td>{_rank(getattr(p, 'lexical_rank', None), p.lexical_score, 2)}</td></tr>")


def _details(answer: Answer) -> str:
    """Behind a toggle: why the answer was given or declined, the retrieval trace and the timings."""
    times = " · ".join(f"{k} {_ms(v)}" for k, v in answer.timings_ms.items())
    source = f'<div class="from-collection"><b>Collection:</b> {_e(answer.collection)}</div>' \
        if answer.collection else ""
    return (f'<details class="details"><summary>Details</summary>{source}{_reasons(answer)}{_trace(answer)}'
            f'<div class="where">{_e(answer.answerer)} · {times}</div></details>')


def _ms(value: float) -> str:
    """Milliseconds as shown, from the value as a saved chat keeps it (two decimals), so a reloaded chat shows the
    same figures: 0.5049 ms is saved as 0.5 and shown as 0 ms either way."""
    return f"{round(value, 2):.0f} ms"


def _tools(answer: Answer) -> str:
    """Copy button and the one-line summary; a partial answer is never called verified."""
    total = _ms(answer.timings_ms.get("total", 0))
    status = "partial answer" if kind(answer) == "partial" else \
        f"{answer.verified_sentences}/{len(answer.sentences)} sentences verified"
    return (f'<div class="tools"><button type="button" class="copy-btn" data-copy="{_e(plain_answer(answer))}">'
            f'Copy answer</button><span class="meta">{_e(answer.answerer)} · {status} · {total}</span></div>')


def answer_html(answer: Answer, *, upto: int | None = None, final: bool = True) -> str:
    """One answer block: a refusal, a partial answer or cited sentences, then sources, tools and details."""
    how = kind(answer)
    notice = f'<div class="notice">{_e(answer.notice)}</div>' if answer.notice and how != "declined" else ""
    if answer.unmentioned:
        notice += f'<div class="notice">The sources never mention: {_e(", ".join(answer.unmentioned))}.</div>'
    searched = "" if answer.search_query in ("", answer.question) else \
        f'<div class="searched">Searched for: {_e(answer.search_query)}</div>'
    if how == "declined":
        body = (f'<div class="banner">Not covered by the sources</div><div class="answer-text">{_e(answer.text)}'
                f"</div>{notice}{_nearest(answer)}")
    else:
        banner = '<div class="banner">Only partly covered by the sources</div>' if how == "partial" else ""
        body = f'{banner}{notice}<div class="answer-text">{answer_body(answer, upto)}</div>'
        if final:
            body += _sources(answer, open_=how == "partial") + _tools(answer)
    css = {"declined": "answer refused", "partial": "answer partial"}.get(how, "answer")
    css += "" if final else " unfinished"
    return f'<div class="{css}">{searched}{body}{_details(answer) if final else ""}</div>'


def streaming_html(text: str) -> str:
    """An answer still being found or written: plain escaped text, marked as not yet verified."""
    if not text:
        return '<div class="answer streaming unfinished"><div class="meta">Searching the sources…</div></div>'
    body = re.sub(r"\[(\d+)\]", r'<span class="cite-chip pending">\1</span>', _e(text))
    return (f'<div class="answer streaming unfinished"><div class="answer-text">{body}</div>'
            '<div class="meta">writing… citations are checked when the answer is complete</div></div>')


def plain_answer(answer: Answer) -> str:
    """The answer as plain text with its numbered sources, for the clipboard."""
    if answer.refused:
        return answer.text
    sources = "\n".join(f"[{c.id}] {c.title}, {file_name(c.source)}, {_position(c)}: \"{' '.join(c.text.split())}\""
                        for c in answer.citations)
    return f"{answer.text}\n\nSources:\n{sources}"


def conversation_html(turns: list[tuple[str, str]], *, chat_id: str = "", status: str = "") -> str:
    """All turns (question, rendered answer HTML), then an optional status line."""
    if not turns:
        hint = ('<p class="hint">Ask a question about the sources. Every sentence of an answer cites a numbered '
                "passage; click a number to see it.</p>")
        return f'<div class="conversation empty" data-chat="{_e(chat_id)}" data-turns="0">{hint}{status}</div>'
    blocks = "".join(f'<div class="turn"><div class="question">{_e(q)}</div>{a}</div>' for q, a in turns)
    return f'<div class="conversation" data-chat="{_e(chat_id)}" data-turns="{len(turns)}">{blocks}{status}</div>'


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
        lead = {"declined": "**Not covered by the sources.** ", "partial": "**Only partly covered by the sources.** "}
        lines += [lead.get(kind(a), "") + body, ""]
        for c in a.citations:
            lines += [f"- **[{c.id}]** {_md(c.title)}, `{file_name(c.source)}`, {_position(c)}", "",
                      f"  > {_md(c.text)}", ""]
    return "\n".join(lines)
