"""Prompt and message texts, kept as package files and read with importlib.resources."""

from functools import cache
from importlib.resources import files


@cache
def load_prompt(name: str) -> str:
    """The text of prompts/NAME.txt, without the trailing newline."""
    return files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
