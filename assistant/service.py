"""What the web chat and its API endpoints do, without Gradio: ask, list, upload, remove, export."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from .chain import Assistant, build_assistant
from .documents import SUPPORTED_SUFFIXES, DocumentError, document_id
from .ingest import ingest, remove_document
from .inputs import check_collection, check_doc_id
from .llm import one_line
from .manifest import StoreError
from .models import Answer
from .render import conversation_markdown
from .settings import DEFAULT_COLLECTION, Settings

READ_ONLY = "this server is read-only: adding and removing documents is turned off"


class ReadOnly(StoreError):
    """This server only answers questions (`--read-only`): uploads and removals are refused."""


class ChatService:
    """What the UI and the API endpoints call; one per app. Each collection gets its own assistant (built on
    first use, sharing the embedding model); `collection=None` means the app's own collection."""

    def __init__(self, *, assistant: Assistant) -> None:
        self.assistant = assistant
        self.write_lock = threading.Lock()
        self.export_dir = Path(tempfile.mkdtemp(prefix="assistant-export-"))
        self._assistants = {assistant.settings.collection: assistant}
        self._build_lock = threading.Lock()

    def collections(self) -> list[dict]:
        """Every collection (name, documents, chunks, embedding, chunk_size, chunk_overlap, created_at), for the
        collection picker; the app's own collection is listed even while empty."""
        found = {c.name: c.to_json() for c in self.assistant.store.db.collections()}
        own = self.assistant.store.info()
        found.setdefault(own.name, own.to_json())
        return [found[name] for name in sorted(found)]

    def assistant_for(self, collection: str | None = None, *, create: bool = False) -> Assistant:
        """The assistant answering from this collection (KeyError naming the existing ones for an unknown one,
        unless `create`; InputError for a name that cannot be a collection)."""
        name = self.collection_name(collection)
        with self._build_lock:
            if name not in self._assistants:
                if not create:
                    self.known(name)
                settings = self.assistant.settings.with_overrides(collection=name)
                self._assistants[name] = build_assistant(settings, embeddings=self.assistant.embeddings)
            return self._assistants[name]

    def collection_name(self, collection: str | None) -> str:
        """The checked collection name, the app's own when none is given."""
        return check_collection(collection) or self.assistant.settings.collection

    def known(self, name: str) -> None:
        """Raise KeyError (naming the collections there are) unless this collection exists or is the app's own."""
        names = [c["name"] for c in self.collections()]
        if name not in names:
            raise KeyError(f"no collection named {name!r}; the collections are: {', '.join(names)}")

    def revision(self, collection: str | None = None) -> tuple:
        """Changes whenever any collection changes (a document added or removed, by any process): what the
        collection picker and the corpus views were drawn from."""
        rows = self.assistant.store.db.rows("SELECT name, revision FROM collections ORDER BY name")
        return self.collection_name(collection), tuple(rows)

    def ask(self, message: str, *, history: list[str] | None = None, k: int | None = None,
            collection: str | None = None) -> Answer:
        """One answer from the chosen collection (raises QuestionError for unusable questions)."""
        return self.assistant_for(collection).ask(message, history=history, k=k)

    def stream(self, message: str, answers: list[Answer], k: int | None, collection: str | None = None):
        """Like ask, but yields an LLM's tokens before the verified Answer; declined turns give a follow-up no
        context."""
        history = [a.search_query or a.question for a in answers if a.partial or not a.refused]
        yield from self.assistant_for(collection).stream(message, history=history, k=k)

    def documents(self, collection: str | None = None) -> list[dict]:
        """The collection's documents, read live (ingests by other processes show up at once); KeyError for an
        unknown collection."""
        db, name = self.assistant.store.db, self.collection_name(collection)
        self.known(name)
        info = db.collection(name)
        docs = db.summaries(info.space) if info else []
        return [{k: d[k] for k in ("doc_id", "title", "source", "chunks", "ingested_at")}
                | ({"pages": d["pages"]} if d.get("pages") else {}) for d in docs]

    def add_files(self, paths: list[Path], progress=None, collection: str | None = None) -> tuple[list[str], list[str]]:
        """Validate uploads, copy the good ones into the uploads folder and ingest them into the collection."""
        if self.assistant.settings.read_only:
            return [], [READ_ONLY]
        limit = min(self.assistant.settings.max_upload_mb, self.assistant.settings.max_file_mb)
        done, errors = [], []
        for i, path in enumerate(paths):
            if progress:
                progress((i, len(paths)), desc=f"Ingesting {path.name}")
            name = _original_name(path)
            try:
                _check_upload(path, name, limit)
                done.append(self._ingest_one(path, name, self.assistant_for(collection, create=True)))
            except (DocumentError, StoreError) as exc:
                errors.append(str(exc))
            except OSError as exc:  # a full or read-only data dir: nothing of this upload is kept
                errors.append(f"{name}: could not be stored ({exc.strerror or exc}); nothing was changed")
            except Exception as exc:  # noqa: BLE001 (a failing model or store: this file is reported, the rest go on)
                errors.append(f"{name}: could not be added ({one_line(exc)}); nothing was changed")
        return done, errors

    def _ingest_one(self, path: Path, name: str, assistant: Assistant) -> str:
        """Copy one validated upload into place and ingest it; the copy is undone if ingest fails. Another
        process writing to the store makes it fail at once (StoreBusy), before anything is touched."""
        target = _uploads_dir(assistant.settings) / name
        with self.write_lock, assistant.store.writing("upload"):
            target.parent.mkdir(parents=True, exist_ok=True)
            backup = target.read_bytes() if target.exists() else None
            try:
                shutil.copyfile(path, target)
                report = ingest([target], store=assistant.store, embeddings=assistant.embeddings)
            except BaseException:
                _restore(target, backup)
                raise
            if report.errors:
                _restore(target, backup)
                raise DocumentError(report.errors[0].replace(str(target), name))
        verb = "added" if report.added else "updated" if report.updated else "unchanged"
        return f"{name}: {verb} ({report.chunks} chunks)"

    def remove(self, doc_id: str, collection: str | None = None) -> str:
        """Remove a document and, for uploads, its file (KeyError if unknown, StoreBusy if another process
        is writing, ReadOnly on a read-only server, InputError for something that is no document id)."""
        if self.assistant.settings.read_only:
            raise ReadOnly(READ_ONLY)
        doc_id = check_doc_id(doc_id)
        assistant = self.assistant_for(collection)
        settings, uploads = assistant.settings, _uploads_dir(assistant.settings)
        with self.write_lock:
            removed = remove_document(assistant.store, doc_id)
            for upload in uploads.glob("*") if uploads.is_dir() else []:
                if upload.is_file() and document_id(upload, root=settings.knowledge_dir) == doc_id:
                    upload.unlink()
        return f"removed {doc_id} ({removed} chunks)"

    def export(self, answers: list[Answer]) -> str | None:
        """Write the conversation as Markdown and return the file for download."""
        if not answers:
            return None
        path = Path(tempfile.mkdtemp(dir=self.export_dir)) / "conversation.md"
        path.write_text(conversation_markdown(answers), encoding="utf-8")
        return str(path)


def _uploads_dir(settings: Settings) -> Path:
    """Uploads of the default collection stay in uploads/; other collections' in uploads/<collection>/."""
    if settings.collection == DEFAULT_COLLECTION:
        return settings.uploads_dir
    return settings.uploads_dir / settings.collection


def _restore(target: Path, backup: bytes | None) -> None:
    """Put back the file an upload replaced (or remove the new copy), best effort: the disk may be full."""
    try:
        target.write_bytes(backup) if backup is not None else target.unlink(missing_ok=True)
    except OSError:
        target.unlink(missing_ok=True)


def _original_name(path: Path) -> str:
    """The uploaded file's own name (Gradio keeps it as the temp file's name), made safe."""
    name = Path(path).name.replace("/", "_").replace("\\", "_").lstrip(".")
    return name or "upload.txt"


def _check_upload(path: Path, name: str, limit_mb: float) -> None:
    """Reject unsupported and oversized uploads before anything is copied; contents are checked by ingest,
    which parses each file once and undoes the copy when it fails."""
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type; upload {', '.join(SUPPORTED_SUFFIXES)} files")
    size = path.stat().st_size
    if size > limit_mb * 1024 * 1024:
        raise DocumentError(f"{name}: {size / 1048576:.1f} MB is over the {limit_mb:g} MB upload limit")
