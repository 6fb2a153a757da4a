"""A thin click CLI over the Python API; every option falls back to an ASSISTANT_* environment variable."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import click

from .settings import Settings


def _settings(ctx: click.Context, **overrides) -> Settings:
    """Settings from the environment, then group options, then command options."""
    try:
        return Settings.from_env(**ctx.obj, **overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _fail(message: str, code: int = 1) -> None:
    """One-line error on stderr and a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="analysis-assistant")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Store location [ASSISTANT_DATA_DIR].")
@click.option("--knowledge-dir", type=click.Path(path_type=Path), help="Default corpus [ASSISTANT_KNOWLEDGE_DIR].")
@click.option("--collection", help="Chroma collection name [ASSISTANT_COLLECTION].")
@click.pass_context
def cli(ctx: click.Context, data_dir, knowledge_dir, collection) -> None:
    """Grounded, cited answers over your documents."""
    ctx.obj = {"data_dir": data_dir, "knowledge_dir": knowledge_dir, "collection": collection}


@cli.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--chunk-size", type=int, help="Target chunk size in characters [ASSISTANT_CHUNK_SIZE].")
@click.option("--chunk-overlap", type=int, help="Overlap in characters [ASSISTANT_CHUNK_OVERLAP].")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.pass_context
def ingest_cmd(ctx, paths, chunk_size, chunk_overlap, progress) -> None:
    """Ingest .txt/.md/.pdf/.docx/.html/.epub files or folders (default: the knowledge folder)."""
    from .embeddings import MiniLMEmbeddings
    from .ingest import ingest
    from .store import Store, StoreError

    settings = _settings(ctx, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    if not 0 <= settings.chunk_overlap < settings.chunk_size:
        raise click.UsageError(f"need 0 <= --chunk-overlap < --chunk-size (got {settings.chunk_overlap}, "
                               f"{settings.chunk_size})")
    try:
        store = Store(settings=settings)
    except StoreError as exc:
        _fail(str(exc))
    show = sys.stderr.isatty() if progress is None else progress
    report = ingest(list(paths) or [settings.knowledge_dir], store=store, embeddings=MiniLMEmbeddings(),
                    progress=show)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(report.summary())
    sys.exit(1 if report.errors else 0)


@cli.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--stream", is_flag=True, help="Print the LLM's tokens as they arrive, then the verified answer.")
@click.option("-k", "--top-k", type=int, help="Passages to retrieve [ASSISTANT_TOP_K].")
@click.option("--llm", help="Answerer: extractive | openai:MODEL | ollama:MODEL | llamacpp:FILE [ASSISTANT_LLM].")
@click.option("--strict/--no-strict", default=None, help="Drop unverified LLM sentences [ASSISTANT_STRICT].")
@click.pass_context
def ask_cmd(ctx, question, as_json, stream, top_k, llm, strict) -> None:
    """Answer QUESTION from the sources, citing numbered passages."""
    from .chain import QuestionError, build_assistant, check_question

    settings = _settings(ctx, top_k=top_k, llm=llm, strict=strict)
    if as_json and stream:
        raise click.UsageError("--json prints one object at the end: use it without --stream")
    try:
        check_question(question, max_chars=settings.max_question_chars)
    except QuestionError as exc:
        _fail(str(exc), code=2)
    assistant = build_assistant(settings, fallback=False)
    answer = _stream_to_terminal(assistant, question) if stream else assistant.ask(question)
    click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else render(answer))


def _stream_to_terminal(assistant, question: str):
    """Echo tokens as they arrive; return the verified Answer (printed in full afterwards)."""
    streamed = False
    for item in assistant.stream(question):
        if isinstance(item, str):
            click.echo(item, nl=False)
            streamed = True
        else:
            if streamed:
                click.echo("\n\nVerified answer:")
            return item
    raise RuntimeError("the stream ended without an answer")


def render(answer) -> str:
    """The answer and its numbered sources, wrapped for a terminal."""
    width = 100
    several = any(s.source for s in answer.sentences)
    if several and not answer.refused:
        lines = [textwrap.fill(f"{s.text} " + " ".join(f"[{n}]" for n in s.citations) + f" (from {s.source})",
                               width, subsequent_indent="  ") for s in answer.sentences]
    else:
        lines = [textwrap.fill(answer.text, width)]
    if answer.notice:
        lines.append(f"({answer.notice})")
    failed = [c.detail for c in answer.checks if not c.passed]
    if answer.refused and failed:
        lines.append(f"(Declined: {'; '.join(failed)}.)")
    if answer.refused and not answer.partial:
        return "\n".join(lines)
    unverified = [s.text for s in answer.sentences if not s.supported]
    if unverified and not answer.partial:
        lines.append(f"({len(unverified)} of {len(answer.sentences)} sentences are not supported by the passages "
                     "they cite: " + " | ".join(unverified) + ")")
    lines += ["", "Sources:"]
    for c in answer.citations:
        page = f"p. {c.page}, " if c.page else ""
        lines.append(f"[{c.id}] {c.title} — {c.source}, {page}paragraph {c.paragraph}, characters {c.start}–{c.end}")
        quote = " ".join(c.text.split())
        lines.append(textwrap.fill(f"“{quote}”", width, initial_indent="    ", subsequent_indent="    "))
    return "\n".join(lines)


@cli.command("docs")
@click.pass_context
def docs_cmd(ctx) -> None:
    """List the documents in the store."""
    from .store import Manifest

    settings = _settings(ctx)
    documents = Manifest.read(settings.manifest_path).documents
    if not documents:
        click.echo(f"no documents in collection {settings.collection!r}; run `assistant ingest`")
    for doc_id, entry in sorted(documents.items()):
        click.echo(f"{doc_id}\t{entry['title']}\t{entry['source']}\t{len(entry['chunk_ids'])} chunks\t"
                   f"{entry['ingested_at']}")


@cli.command("remove")
@click.argument("doc_id")
@click.pass_context
def remove_cmd(ctx, doc_id) -> None:
    """Remove one document (all its chunks) from the store."""
    from .ingest import remove_document
    from .store import Store

    store = Store(settings=_settings(ctx))
    try:
        removed = remove_document(store, doc_id)
    except KeyError as exc:
        _fail(exc.args[0], code=2)
    click.echo(f"removed {doc_id}: {removed} chunks")


@cli.command("doctor")
@click.option("--llm", help="Backend to check instead of ASSISTANT_LLM.")
@click.pass_context
def doctor_cmd(ctx, llm) -> None:
    """Check the embedding model, the store and the configured LLM backend."""
    from .embeddings import MiniLMEmbeddings, default_model_files
    from .llm import check_backend
    from .store import Store

    settings = _settings(ctx, llm=llm)
    checks = [("embedding model", lambda: f"{default_model_files()[0].parent.name}: "
               f"{len(MiniLMEmbeddings().embed_query('ok'))} dims"),
              ("store", lambda: _store_line(Store(settings=settings))),
              ("answerer", lambda: _backend_line(check_backend(settings)))]
    failed = 0
    for name, check in checks:
        try:
            click.echo(f"ok    {name}: {check()}")
        except Exception as exc:  # doctor reports every failure as one line and goes on
            failed += 1
            click.echo(f"FAIL  {name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    sys.exit(1 if failed else 0)


def _store_line(store) -> str:
    """Where the store is and what it holds."""
    s = store.settings
    where = f"Chroma server {s.chroma_host}:{s.chroma_port}" if s.chroma_host else str(s.chroma_dir)
    return f"{where}, collection {s.collection!r}: {len(store.manifest.documents)} documents, {store.count()} chunks"


def _backend_line(result: tuple[bool, str]) -> str:
    """check_backend's verdict, raising on failure so doctor marks it."""
    ok, message = result
    if not ok:
        raise RuntimeError(message)
    return message


@cli.command("serve")
@click.option("--host", help="Interface to bind [ASSISTANT_HOST] (default 127.0.0.1).")
@click.option("--port", type=int, help="Port [ASSISTANT_PORT] (default 7860).")
@click.option("--auth/--no-auth", default=None,
              help="Require basic auth with ASSISTANT_AUTH_USER / ASSISTANT_AUTH_PASSWORD (default: when both set).")
@click.option("--max-upload-mb", type=float, help="Largest upload accepted [ASSISTANT_MAX_UPLOAD_MB] (default 5).")
@click.option("--concurrency", type=int, help="Questions answered at once [ASSISTANT_CONCURRENCY] (default 2).")
@click.option("--llm", help="Answerer: extractive | openai:MODEL | ollama:MODEL | llamacpp:FILE [ASSISTANT_LLM].")
@click.pass_context
def serve_cmd(ctx, host, port, auth, max_upload_mb, concurrency, llm) -> None:
    """Start the web chat (loopback by default; no share link, no analytics)."""
    from .chain import build_assistant
    from .ui import launch

    settings = _settings(ctx, host=host, port=port, max_upload_mb=max_upload_mb, concurrency=concurrency, llm=llm)
    if auth and not (settings.auth_user and settings.auth_password):
        _fail("--auth needs ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD in the environment", code=2)
    if auth is False:
        settings = settings.with_overrides(auth_user="", auth_password="")
    assistant = build_assistant(settings)
    report = assistant.ensure_corpus()
    if report:
        click.echo(report.summary(), err=True)
    click.echo(f"web chat on http://{settings.host}:{settings.port}" + (" (basic auth on)" if settings.auth_user
                                                                       else ""), err=True)
    launch(assistant)


@cli.command("eval")
@click.argument("suite", required=False, type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the full results as JSON here.")
@click.option("-k", "--top-k", type=int, help="Passages to retrieve [ASSISTANT_TOP_K].")
@click.option("--llm", help="Also run this LLM answerer and compare it with the extractive one side by side.")
@click.pass_context
def eval_cmd(ctx, suite, json_out, top_k, llm) -> None:
    """Run an evaluation suite through the real chain; exit 1 when a metric misses its threshold."""
    from .evaluate import (
        DEFAULT_SUITE,
        SuiteError,
        assistant_for,
        load_suite,
        run_suite,
        write_comparison,
        write_reports,
    )

    settings = _settings(ctx, top_k=top_k)
    try:
        suite_obj = load_suite(suite or DEFAULT_SUITE)
    except SuiteError as exc:
        _fail(str(exc), code=2)
    base = assistant_for(suite_obj, settings)
    results = [run_suite(suite_obj, base)]
    if llm:
        other = assistant_for(suite_obj, settings, embeddings=base.embeddings, llm=llm, fallback=False)
        results.append(run_suite(suite_obj, other))
    default_dir = suite_obj.path.parent / "results"
    for result, suffix in zip(results, ("", "-llm"), strict=False):
        paths = write_reports(result, json_out, default_dir=default_dir, suffix=suffix)
        click.echo(result.summary())
        for split, scores in result.by_split.items():
            click.echo(f"  {split}: " + result.split_line(scores))
        click.echo(f"report: {paths['markdown']}  json: {paths['json']}")
    if llm:
        click.echo(f"comparison: {write_comparison(results, json_out, default_dir=default_dir)}")
    failures = [f"{r.answerer}: {f}" for r in results[-1:] for f in r.failures]
    for failure in failures:
        click.echo(f"below threshold: {failure}", err=True)
    sys.exit(1 if failures else 0)


def main() -> None:
    """Console-script entry point: known failures become one-line errors, not stack traces."""
    from .errors import EmbeddingModelMissing, LLMConfigError, LLMUnavailable
    from .store import StoreError  # the store module is light: chromadb loads only when a store opens

    try:
        cli()
    except LLMConfigError as exc:
        _fail(str(exc), code=2)
    except LLMUnavailable as exc:
        _fail(f"LLM backend unavailable: {exc}")
    except (StoreError, EmbeddingModelMissing) as exc:
        _fail(str(exc))
