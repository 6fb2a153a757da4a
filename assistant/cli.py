"""A thin click CLI over the Python API; every option falls back to an ASSISTANT_* environment variable."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import click

from .inputs import MAX_TOP_K
from .settings import DEFAULT_COLLECTION, Settings


def _settings(ctx: click.Context, **overrides) -> Settings:
    """Settings from the environment, then group options, then command options."""
    from .manifest import StoreError, check_collection_name

    try:
        settings = Settings.from_env(**ctx.obj, **overrides)
        check_collection_name(settings.collection)
    except (ValueError, StoreError) as exc:
        raise click.UsageError(str(exc)) from None
    return settings


def _pick_collection(ctx: click.Context, _param, value: str | None) -> None:
    """`--collection` after the command name means the same as before it."""
    if value is not None:
        ctx.obj["collection"] = value


collection_option = click.option("--collection", expose_value=False, callback=_pick_collection,
                                 help="Collection to use [ASSISTANT_COLLECTION] (default: knowledge).")
follow_option = click.option("--follow-symlinks", is_flag=True, default=None,
                             help="Follow symlinks leading out of the given folders [ASSISTANT_FOLLOW_SYMLINKS] "
                                  "(default: skip them, with a note).")


def _fail(message: str, code: int = 1) -> None:
    """One-line error on stderr and a non-zero exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="analysis-assistant")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Store location [ASSISTANT_DATA_DIR].")
@click.option("--knowledge-dir", type=click.Path(path_type=Path), help="Default corpus [ASSISTANT_KNOWLEDGE_DIR].")
@click.option("--collection", help="Collection to use [ASSISTANT_COLLECTION] (default: knowledge).")
@click.pass_context
def cli(ctx: click.Context, data_dir, knowledge_dir, collection) -> None:
    """Grounded, cited answers over your documents."""
    ctx.obj = {"data_dir": data_dir, "knowledge_dir": knowledge_dir, "collection": collection}


@cli.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--chunk-size", type=int, help="Target chunk size in characters [ASSISTANT_CHUNK_SIZE].")
@click.option("--chunk-overlap", type=int, help="Overlap in characters [ASSISTANT_CHUNK_OVERLAP].")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@follow_option
@collection_option
@click.pass_context
def ingest_cmd(ctx, paths, chunk_size, chunk_overlap, progress, follow_symlinks) -> None:
    """Ingest .txt/.md/.pdf/.docx/.html/.epub files or folders (default: the knowledge folder)."""
    from .embeddings import MiniLMEmbeddings
    from .ingest import ingest
    from .locking import writer_lock
    from .store import Store

    settings = _settings(ctx, chunk_size=chunk_size, chunk_overlap=chunk_overlap, follow_symlinks=follow_symlinks)
    _check_chunking(settings.chunk_size, settings.chunk_overlap)
    with writer_lock(settings, "ingest"):
        store = Store(settings=settings)
        report = ingest(list(paths) or [settings.knowledge_dir], store=store, embeddings=MiniLMEmbeddings(),
                        progress=_show_progress(progress))
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(report.summary())
    sys.exit(1 if report.errors else 0)


def _check_chunking(size: int, overlap: int) -> None:
    """Chunk size and overlap that the chunker accepts, else a usage error."""
    if not 0 <= overlap < size:
        raise click.UsageError(f"need 0 <= --chunk-overlap < --chunk-size (got {overlap}, {size})")


def _show_progress(flag: bool | None) -> bool:
    """A progress bar when asked, or by default when stderr is a terminal."""
    return sys.stderr.isatty() if flag is None else flag


@cli.command("ask")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object.")
@click.option("--stream", is_flag=True, help="Print the LLM's tokens as they arrive, then the verified answer.")
@click.option("-k", "--top-k", type=click.IntRange(1, MAX_TOP_K), help="Passages to retrieve [ASSISTANT_TOP_K].")
@click.option("--llm", help="Answerer: extractive | openai:MODEL | ollama:MODEL | llamacpp:FILE [ASSISTANT_LLM].")
@click.option("--strict/--no-strict", default=None, help="Drop unverified LLM sentences [ASSISTANT_STRICT].")
@collection_option
@click.pass_context
def ask_cmd(ctx, question, as_json, stream, top_k, llm, strict) -> None:
    """Answer QUESTION from the sources, citing numbered passages (`-` reads the question from stdin)."""
    from .chain import build_assistant
    from .inputs import QuestionError, check_question

    settings = _settings(ctx, top_k=top_k, llm=llm, strict=strict)
    if as_json and stream:
        raise click.UsageError("--json prints one object at the end: use it without --stream")
    try:
        question = check_question(_read_question(question), max_chars=settings.max_question_chars)
    except QuestionError as exc:
        _fail(str(exc), code=2)
    assistant = build_assistant(settings, fallback=False)
    if settings.collection != DEFAULT_COLLECTION and not assistant.store.manifest.documents:
        _fail(f"collection {settings.collection!r} has no documents: add some with "
              f"`assistant --collection {settings.collection} ingest PATH`")
    answer = _stream_to_terminal(assistant, question) if stream else assistant.ask(question)
    click.echo(json.dumps(answer.to_json(), ensure_ascii=False) if as_json else render(answer))


def _read_question(question: str) -> str:
    """The argument, or stdin for `-` (read as UTF-8; an undecodable byte is reported, like one in the argument)."""
    if question != "-":
        return question
    return sys.stdin.buffer.read(4 * 1024 * 1024).decode("utf-8", "surrogateescape")


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
@click.option("--json", "as_json", is_flag=True, help="Print the documents as one JSON list.")
@collection_option
@click.pass_context
def docs_cmd(ctx, as_json) -> None:
    """List the documents in the collection."""
    settings = _settings(ctx)
    db = _manifest(settings)
    info = db.collection(settings.collection)
    docs = db.summaries(info.space) if info else []
    if as_json:
        click.echo(json.dumps([_doc_json(d) for d in docs], ensure_ascii=False, indent=1))
        return
    if not docs:
        click.echo(f"no documents in collection {settings.collection!r}; run `assistant ingest`")
    for d in docs:
        click.echo(f"{d['doc_id']}\t{d['title']}\t{d['source']}\t{d['chunks']} chunks\t{d['ingested_at']}")


def _manifest(settings: Settings):
    """The manifest database alone (no Chroma, so listings start fast)."""
    from .manifest import ManifestDB

    return ManifestDB(settings.manifest_path, knowledge_dir=settings.knowledge_dir)


def _doc_json(d: dict) -> dict:
    """A document as `docs --json` prints it: pages and author only where the format has them."""
    out = {k: d[k] for k in ("doc_id", "title", "source", "chunks", "ingested_at")}
    return out | {k: d[k] for k in ("pages", "author") if d.get(k)}


@cli.command("collections")
@click.option("--json", "as_json", is_flag=True, help="Print the collections as one JSON list.")
@click.pass_context
def collections_cmd(ctx, as_json) -> None:
    """List the collections with their documents, chunks, embedding model and chunking."""
    found = _manifest(_settings(ctx)).collections()
    if as_json:
        click.echo(json.dumps([c.to_json() for c in found], ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("no collections yet; run `assistant ingest` (or `assistant --collection NAME ingest PATH`)")
    for c in found:
        click.echo(f"{c.name}\t{c.documents} documents\t{c.chunks} chunks\t{c.embedding}\t"
                   f"chunk size {c.chunk_size}, overlap {c.chunk_overlap}\tcreated {c.created_at}")


@cli.command("remove")
@click.argument("doc_id")
@collection_option
@click.pass_context
def remove_cmd(ctx, doc_id) -> None:
    """Remove one document (all its chunks) from the collection."""
    from .ingest import remove_document
    from .locking import writer_lock
    from .store import Store

    settings = _settings(ctx)
    with writer_lock(settings, "remove"):
        try:
            removed = remove_document(Store(settings=settings, check=False), doc_id)
        except KeyError as exc:
            _fail(exc.args[0], code=2)
    click.echo(f"removed {doc_id}: {removed} chunks")


@cli.command("sync")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change and change nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@follow_option
@collection_option
@click.pass_context
def sync_cmd(ctx, folder, dry_run, progress, follow_symlinks) -> None:
    """Make the collection mirror FOLDER: add new files, re-ingest changed ones, remove the gone ones."""
    from .embeddings import MiniLMEmbeddings
    from .locking import writer_lock
    from .store import Store
    from .sync import SyncError, sync

    settings = _settings(ctx, follow_symlinks=follow_symlinks)
    try:
        with writer_lock(settings, "sync") if not dry_run else _nothing():
            store = Store(settings=settings)
            report = sync(folder, store=store, embeddings=None if dry_run else MiniLMEmbeddings(), dry_run=dry_run,
                          progress=_show_progress(progress))
    except SyncError as exc:
        _fail(str(exc))
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    for line in report.lines():
        click.echo(line)
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(report.summary())
    sys.exit(1 if report.errors else 0)


def _nothing():
    """A context that holds nothing (a dry run takes no lock)."""
    from contextlib import nullcontext

    return nullcontext()


@cli.command("rebuild")
@click.option("--chunk-size", type=int, help="New chunk size (default: the collection's).")
@click.option("--chunk-overlap", type=int, help="New overlap (default: the collection's).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@collection_option
@click.pass_context
def rebuild_cmd(ctx, chunk_size, chunk_overlap, progress) -> None:
    """Re-chunk and re-embed every document of the collection from its source files (current model)."""
    from .embeddings import MiniLMEmbeddings
    from .locking import writer_lock
    from .store import Store
    from .sync import rebuild

    settings = _settings(ctx, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    with writer_lock(settings, "rebuild"):
        store = Store(settings=settings, check=False)
        size = settings.chunk_size if settings.asked_for("chunk_size") else store.settings.chunk_size
        overlap = settings.chunk_overlap if settings.asked_for("chunk_overlap") else store.settings.chunk_overlap
        _check_chunking(size, overlap)
        report = rebuild(store=store, embeddings=MiniLMEmbeddings(), chunk_size=size, chunk_overlap=overlap,
                         progress=_show_progress(progress))
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        _fail(f"rebuild of {settings.collection!r} failed; the collection is unchanged")
    click.echo(f"rebuilt {settings.collection!r}: {len(report.added)} documents, {report.chunks} chunks with chunk "
               f"size {size}, overlap {overlap} in {report.seconds:.1f}s")


@cli.command("doctor")
@click.option("--llm", help="Backend to check instead of ASSISTANT_LLM.")
@click.option("--repair", is_flag=True, help="Make the manifest and Chroma agree again (deletes unlisted chunks, "
              "drops half-written documents).")
@collection_option
@click.pass_context
def doctor_cmd(ctx, llm, repair) -> None:
    """Check the embedding model, the store, manifest/Chroma agreement and the configured LLM backend."""
    from .embeddings import MiniLMEmbeddings, default_model_files
    from .llm import check_backend
    from .store import Store

    settings = _settings(ctx, llm=llm)
    checks = [("embedding model", lambda: f"{default_model_files()[0].parent.name}: "
               f"{len(MiniLMEmbeddings().embed_query('ok'))} dims"),
              ("store", lambda: _store_line(Store(settings=settings, recover=False)))]
    checks += [(f"agreement {name!r}", _agreement_check(settings.with_overrides(collection=name), repair))
               for name in _doctor_collections(settings)]
    checks.append(("answerer", lambda: _backend_line(check_backend(settings))))
    failed = 0
    for name, check in checks:
        try:
            click.echo(f"ok    {name}: {check()}")
        except Exception as exc:  # doctor reports every failure as one line and goes on
            failed += 1
            click.echo(f"FAIL  {name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    sys.exit(1 if failed else 0)


def _doctor_collections(settings: Settings) -> list[str]:
    """The chosen collection, or every collection when none was chosen."""
    if settings.asked_for("collection"):
        return [settings.collection]
    return sorted({c.name for c in _manifest(settings).collections()} | {settings.collection})


def _agreement_check(settings: Settings, repair: bool):
    """A doctor check: every manifest chunk is stored and every stored chunk is in the manifest."""
    def check() -> str:
        from .integrity import differences, recover
        from .integrity import repair as repair_store
        from .locking import StoreBusy, writer_lock
        from .store import Store

        store = Store(settings=settings, check=False, recover=False)
        try:
            with writer_lock(settings, "doctor") as outermost:
                fixes = recover(store) if outermost else []
                fixes += repair_store(store) if repair else []
                found = differences(store)
        except StoreBusy as exc:
            return f"not checked: {exc}"
        if found:
            raise RuntimeError(f"{found[0]}; run `assistant --collection {settings.collection} doctor --repair`")
        done = f" (fixed: {'; '.join(fixes)})" if fixes else ""
        return (f"manifest and Chroma agree: {len(store.manifest.documents)} documents, "
                f"{len(store.db.chunk_owners(store.space))} chunks{done}{_older_chunks(store)}")
    return check


def _older_chunks(store) -> str:
    """A note when documents were cut by an older chunker: `assistant ingest` on their files redoes them."""
    from .chunking import CHUNKER

    older = sum(1 for _, entry in store.manifest.documents.items() if entry.get("chunker") != CHUNKER)
    return f"; {older} cut by an older chunker (run `assistant ingest` on their files to redo them)" if older else ""


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
              help="Require a login (a form at the page's address; user ASSISTANT_AUTH_USER, password "
                   "ASSISTANT_AUTH_PASSWORD; default: when both are set).")
@click.option("--read-only", is_flag=True, default=None,
              help="Chat only: uploads and removals are turned off in the page and the API [ASSISTANT_READ_ONLY].")
@click.option("--max-upload-mb", type=float, help="Largest upload accepted [ASSISTANT_MAX_UPLOAD_MB] (default 5).")
@click.option("--concurrency", type=int, help="Questions answered at once [ASSISTANT_CONCURRENCY] (default 2).")
@click.option("--llm", help="Answerer: extractive | openai:MODEL | ollama:MODEL | llamacpp:FILE [ASSISTANT_LLM].")
@collection_option
@click.pass_context
def serve_cmd(ctx, host, port, auth, read_only, max_upload_mb, concurrency, llm) -> None:
    """Start the web chat (loopback by default; no share link, no analytics)."""
    from .chain import build_assistant
    from .ui import launch

    settings = _settings(ctx, host=host, port=port, max_upload_mb=max_upload_mb, concurrency=concurrency, llm=llm,
                         read_only=read_only)
    if auth and not (settings.auth_user and settings.auth_password):
        _fail("--auth needs ASSISTANT_AUTH_USER and ASSISTANT_AUTH_PASSWORD in the environment", code=2)
    if auth is False:
        settings = settings.with_overrides(auth_user="", auth_password="")
    assistant = build_assistant(settings)
    report = assistant.ensure_corpus()
    if report:
        click.echo(report.summary(), err=True)
    notes = [" (login required)" if settings.auth_user else "", " (read-only)" if settings.read_only else ""]
    click.echo(f"web chat on http://{settings.host}:{settings.port}{''.join(notes)}", err=True)
    from .ui import ServeError

    try:
        launch(assistant)
    except (ServeError, OSError) as exc:
        _fail(str(exc))


@cli.command("eval")
@click.argument("suite", required=False, type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), help="Write the full results as JSON here.")
@click.option("-k", "--top-k", type=int, help="Passages to retrieve [ASSISTANT_TOP_K].")
@click.option("--llm", help="Also run this LLM answerer and compare it with the extractive one side by side.")
@collection_option
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
