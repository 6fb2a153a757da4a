"""Small written corpora for answerability tests: an assistant over a few documents, and a look-up of its checks."""

from assistant.chain import Assistant, build_assistant
from assistant.settings import Settings


def assistant_over(tmp_path_factory, name: str, docs: dict[str, str], embeddings) -> Assistant:
    """An assistant over these documents (file name -> text), ingested once into a fresh data dir."""
    root = tmp_path_factory.mktemp(name)
    knowledge = root / "knowledge"
    knowledge.mkdir()
    for file_name, text in docs.items():
        (knowledge / file_name).write_text(text, encoding="utf-8")
    assistant = build_assistant(Settings.from_env(env={}, data_dir=root / "data", knowledge_dir=knowledge),
                                embeddings=embeddings)
    assistant.ensure_corpus()
    return assistant


def named_check(answer, name: str):
    """The named check of an answer, or None when it was not run."""
    return next((c for c in answer.checks if c.check == name), None)
