"""What the web chat and its API endpoints do, without Gradio: ask, list, upload, remove, export."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

from .chain import Assistant
from .documents import SUPPORTED_SUFFIXES, DocumentError, document_id
from .ingest import ingest, remove_document
from .models import Answer
from .render import conversation_markdown


class ChatService:
    """What the UI and the API endpoints call; one per app, sharing the assistant's model and store."""

    def __init__(self, *, assistant: Assistant) -> None:
        self.assistant = assistant
        self.write_lock = threading.Lock()
        self.export_dir = Path(tempfile.mkdtemp(prefix="assistant-export-"))

    def stream(self, message: str, answers: list[Answer], k: int):
        """Like ask, but yields an LLM's tokens before the verified Answer (extractive: just the Answer)."""
        history = [a.search_query or a.question for a in answers]
        yield from self.assistant.stream(message, history=history, k=int(k))

    def documents(self) -> list[dict]:
        """The stored documents (re-read, so ingests by other processes show up)."""
        with self.write_lock:
            self.assistant.store.reload_manifest()
            docs = dict(self.assistant.store.manifest.documents)
        return [{"doc_id": d, "title": e["title"], "source": e["source"], "chunks": len(e["chunk_ids"]),
                 "ingested_at": e["ingested_at"]} for d, e in sorted(docs.items())]

    def add_files(self, paths: list[Path], progress=None) -> tuple[list[str], list[str]]:
        """Validate uploads, copy the good ones into the uploads folder and ingest them."""
        limit = min(self.assistant.settings.max_upload_mb, self.assistant.settings.max_file_mb)
        done, errors = [], []
        for i, path in enumerate(paths):
            if progress:
                progress((i, len(paths)), desc=f"Ingesting {path.name}")
            name = _original_name(path)
            try:
                _check_upload(path, name, limit)
                done.append(self._ingest_one(path, name))
            except DocumentError as exc:
                errors.append(str(exc))
        return done, errors

    def _ingest_one(self, path: Path, name: str) -> str:
        """Copy one validated upload into place and ingest it; the copy is undone if ingest fails."""
        target = self.assistant.settings.uploads_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.write_lock:
            backup = target.read_bytes() if target.exists() else None
            shutil.copyfile(path, target)
            report = ingest([target], store=self.assistant.store, embeddings=self.assistant.embeddings)
            if report.errors:
                target.write_bytes(backup) if backup is not None else target.unlink()
                raise DocumentError(report.errors[0].replace(str(target), name))
        verb = "added" if report.added else "updated" if report.updated else "unchanged"
        return f"{name}: {verb} ({report.chunks} chunks)"

    def remove(self, doc_id: str) -> str:
        """Remove a document and, for uploads, its file."""
        settings = self.assistant.settings
        with self.write_lock:
            removed = remove_document(self.assistant.store, doc_id)
            uploads = settings.uploads_dir.glob("*") if settings.uploads_dir.is_dir() else []
            for upload in uploads:
                if document_id(upload, root=settings.knowledge_dir) == doc_id:
                    upload.unlink()
        return f"removed {doc_id} ({removed} chunks)"

    def export(self, answers: list[Answer]) -> str | None:
        """Write the conversation as Markdown and return the file for download."""
        if not answers:
            return None
        path = Path(tempfile.mkdtemp(dir=self.export_dir)) / "conversation.md"
        path.write_text(conversation_markdown(answers), encoding="utf-8")
        return str(path)


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
