"""Follow-up questions: rewrite "And what about Kyrgyzstan?" into a standalone search query."""

from __future__ import annotations

import re

from .text import STOPWORDS, entities, terms, tokens, words

_FOLLOW_UP_START = re.compile(r"^\s*(and|but|also|what about|how about)\b", re.I)
_ANAPHORA = {"it", "its", "that", "this", "they", "them", "their", "those", "these", "there", "he", "she",
             "his", "her", "him", "then", "such", "same"}
_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?:the\s+)?(.+?)[?.!\s]*$", re.I)


def is_follow_up(question: str) -> bool:
    """A question that leans on the previous one: starts like a continuation, points back with a pronoun
    and names no subject of its own, or is too short to stand alone."""
    tokens = words(question)
    points_back = any(t in _ANAPHORA for t in tokens) and not entities(question)
    return bool(_FOLLOW_UP_START.match(question)) or points_back or len([t for t in tokens if t not in STOPWORDS]) <= 1


def rewrite_query(question: str, previous: list[str]) -> str:
    """Deterministic rewrite: swap the subject for "what about X", else carry the previous subject along."""
    if not previous or not is_follow_up(question):
        return question
    last = previous[-1]
    about = _ABOUT.match(question)
    old = entities(last)
    if about and old and about.group(1)[:1].isupper():
        return re.sub(re.escape(old[-1]), about.group(1), last, count=1)
    asked = set(words(question))
    carried = [t for t in tokens(last) if t.lower() not in STOPWORDS and t.lower() not in asked]
    context = " ".join(dict.fromkeys(carried))  # as written: "Kaliningrad Oblast" stays a name
    return f"{question.rstrip()} ({context})" if context and terms(last) else question


def rewrite_with_model(chat_model, question: str, previous: list[str]) -> str:
    """Let the configured LLM rewrite a follow-up; any failure or odd reply falls back to the rule-based rewrite."""
    if not previous or not is_follow_up(question):
        return question
    from .prompts import load_prompt

    prompt = load_prompt("rewrite").format(history="\n".join(f"- {q}" for q in previous[-4:]), question=question)
    try:
        reply = chat_model.invoke(prompt).text.strip().strip('"').splitlines()
    except Exception:  # an unreachable model must not break the chat: use the deterministic rewrite
        return rewrite_query(question, previous)
    query = reply[0].strip() if reply else ""
    return query if 3 <= len(query) <= 4 * max(len(question), 80) else rewrite_query(question, previous)
