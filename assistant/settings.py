"""One settings object, read from ASSISTANT_* environment variables and overridden by CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_COLLECTION = "knowledge"


def default_root() -> Path:
    """The project checkout when installed editable, else the working directory."""
    return PROJECT_ROOT if (PROJECT_ROOT / "knowledge").is_dir() else Path.cwd()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every tunable of the assistant; see .env.example for the matching environment variables."""

    data_dir: Path = default_root() / ".data"
    knowledge_dir: Path = default_root() / "knowledge"
    collection: str = DEFAULT_COLLECTION
    chunk_size: int = 700
    chunk_overlap: int = 150
    ingest_batch: int = 256
    top_k: int = 4
    min_evidence: float = 0.12
    max_question_chars: int = 1000
    max_answer_sentences: int = 3
    min_key_coverage: float = 0.2
    soft_match: float = 0.55
    min_semantic: float = 0.4
    min_typed_coverage: float = 0.5
    llm: str = "extractive"
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_max_tokens: int = 512
    strict: bool = False
    chroma_host: str = ""
    chroma_port: int = 8000
    host: str = "127.0.0.1"
    port: int = 7860
    max_upload_mb: float = 5.0
    max_file_mb: float = 50.0
    follow_symlinks: bool = False
    read_only: bool = False
    concurrency: int = 2
    auth_user: str = ""
    auth_password: str = ""
    login_max_failures: int = 5
    login_lockout_seconds: float = 60.0
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False, metadata={"env": False})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from ASSISTANT_<FIELD> variables (the environment over the settings file), then
        apply non-None overrides (CLI flags)."""
        env = {**read_env_file(settings_file()), **os.environ} if env is None else env
        values = {}
        for f in fields(cls):
            raw = env.get(f"ASSISTANT_{f.name.upper()}")
            if f.metadata.get("env", True) and raw not in (None, ""):
                values[f.name] = _coerce(f.name, raw, type(getattr(cls(), f.name)))
        settings = cls(**values, explicit=frozenset(values))
        return settings.with_overrides(**overrides)

    def with_overrides(self, **overrides) -> Settings:
        """Copy with the given non-None values replaced (paths given as strings become Paths); they count as
        asked for (see `explicit`)."""
        values = {k: Path(v) if isinstance(getattr(self, k), Path) else v
                  for k, v in overrides.items() if v is not None}
        return replace(self, **values, explicit=self.explicit | set(values))

    def asked_for(self, name: str) -> bool:
        """Whether a setting was given (environment, settings file or flag) rather than left at its default:
        a collection's stored chunking is used unless other values were asked for."""
        return name in self.explicit

    @property
    def chroma_dir(self) -> Path:
        """Where the embedded Chroma keeps its files."""
        return self.data_dir / "chroma"

    @property
    def uploads_dir(self) -> Path:
        """Where files uploaded in the web chat are kept (they are part of the corpus)."""
        return self.data_dir / "uploads"

    @property
    def manifest_path(self) -> Path:
        """The manifest of every collection in this data dir (SQLite)."""
        return self.data_dir / "manifest.sqlite3"


def settings_file() -> Path:
    """The settings file: ASSISTANT_ENV_FILE, else .env in the project (or working) directory."""
    return Path(os.environ.get("ASSISTANT_ENV_FILE") or default_root() / ".env")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments skipped, optional quotes), as in .env.example."""
    if not path.is_file():
        return {}
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip().strip("\"'")
    return values


def _coerce(name: str, raw: str, kind: type):
    """Turn an environment string into the field's type, with a one-line error when it cannot."""
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind in (int, float):
            return kind(raw)
        if issubclass(kind, Path):
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise ValueError(f"ASSISTANT_{name.upper()}={raw!r} is not a valid {kind.__name__}") from None
