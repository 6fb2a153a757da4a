"""Settings come from flags over environment variables over the settings file over defaults."""

import pytest

from assistant.settings import Settings, read_env_file


def test_environment_values_are_typed_and_flags_win():
    settings = Settings.from_env(env={"ASSISTANT_TOP_K": "7", "ASSISTANT_STRICT": "yes",
                                      "ASSISTANT_MIN_EVIDENCE": "0.3", "ASSISTANT_LLM": "ollama:llama3.2"},
                                 top_k=2, llm=None)
    assert (settings.top_k, settings.strict, settings.min_evidence, settings.llm) == (2, True, 0.3, "ollama:llama3.2")
    with pytest.raises(ValueError, match="ASSISTANT_TOP_K='many' is not a valid int"):
        Settings.from_env(env={"ASSISTANT_TOP_K": "many"})


def test_the_settings_file_is_read_under_the_real_environment(tmp_path, monkeypatch):
    env_file = tmp_path / "assistant.env"
    env_file.write_text("# comment\n\nASSISTANT_LLM=openai:gpt-4o-mini\nexport ASSISTANT_TOP_K='6'\n"
                        "ASSISTANT_COLLECTION=from-file\n")
    assert read_env_file(env_file)["ASSISTANT_TOP_K"] == "6"
    monkeypatch.setenv("ASSISTANT_ENV_FILE", str(env_file))
    monkeypatch.setenv("ASSISTANT_COLLECTION", "from-env")
    settings = Settings.from_env()
    assert (settings.llm, settings.top_k, settings.collection) == ("openai:gpt-4o-mini", 6, "from-env")
    env_file.write_text("NOT A SETTING\n")
    with pytest.raises(ValueError, match=r"assistant.env:1: expected KEY=VALUE"):
        Settings.from_env()


def test_overrides_given_as_strings_become_paths(tmp_path):
    settings = Settings.from_env(env={}, data_dir=str(tmp_path / "data"))
    assert settings.chroma_dir == tmp_path / "data" / "chroma"


def test_settings_remember_which_values_were_asked_for():
    settings = Settings.from_env(env={"ASSISTANT_CHUNK_SIZE": "500"}, top_k=3)
    assert settings.asked_for("chunk_size") and settings.asked_for("top_k")
    assert not settings.asked_for("chunk_overlap") and settings.chunk_overlap == 150
    assert settings.with_overrides(chunk_overlap=None).explicit == settings.explicit
    assert settings.with_overrides(chunk_overlap=60).asked_for("chunk_overlap")
    assert settings == Settings.from_env(env={}, chunk_size=500, top_k=3)
