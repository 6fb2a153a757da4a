"""Conversations the web chat keeps in the browser's local storage, as plain JSON.

The stored value is {"active": id, "chats": [{"id", "title", "updated", "collection", "turns": [record, ...]},
...]}, newest first; a conversation asks one collection (its turns never mix answers from two). A record is an
answer's `to_json()` plus its retrieval trace, so a reload re-renders it with today's code (and escaping) instead
of trusting stored markup. Functions here never mutate their input.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import fields

from .models import Answer, AnswerSentence, Check, Chunk, Citation, Passage

MAX_CHATS = 30
MAX_BYTES = 2 * 1048576  # JSON size of all saved conversations: the page sends them with every event
SNIPPET_CHARS = 300
FULL_PASSAGES = 3
NEW_TITLE = "New chat"
TITLE_CHARS = 60


def empty_store() -> dict:
    """What a browser with no saved conversations starts with."""
    return {"active": "", "chats": []}


def new_chat(collection: str = "") -> dict:
    """A conversation with no turns yet (asking `collection`; '' until it is known)."""
    return {"id": uuid.uuid4().hex[:12], "title": NEW_TITLE, "updated": time.time(), "collection": collection,
            "turns": []}


def normalised(store: dict | None) -> dict:
    """A well-formed store with an active conversation (unknown or damaged values are replaced)."""
    store = store if isinstance(store, dict) else {}
    found = store.get("chats") if isinstance(store.get("chats"), list) else []
    chats = [{**c, "turns": [t for t in c["turns"] if _readable(t)]} for c in found[:MAX_CHATS]
             if isinstance(c, dict) and c.get("id") and isinstance(c.get("turns"), list)]
    if not chats:
        chats = [new_chat()]
    active = store.get("active") if any(c["id"] == store.get("active") for c in chats) else chats[0]["id"]
    return {"active": active, "chats": _fit(chats, active)}


def _fit(chats: list[dict], active: str) -> list[dict]:
    """The conversations within MAX_BYTES: the active one always (its oldest turns dropped if it alone is too
    big), then the others newest first until the budget is spent."""
    current = next(c for c in chats if c["id"] == active)
    while len(current["turns"]) > 1 and _size(current) > MAX_BYTES:
        current = {**current, "turns": current["turns"][1:]}
    kept, budget = {active}, MAX_BYTES - _size(current)
    for chat in chats:
        if chat["id"] not in kept and _size(chat) <= budget:
            kept.add(chat["id"])
            budget -= _size(chat)
    return [current if c["id"] == active else c for c in chats if c["id"] in kept]


def _size(chat: dict) -> int:
    """A conversation's size as the browser stores it (JSON)."""
    return len(json.dumps(chat))  # \u escapes: never less than the UTF-8 the browser sends


def _readable(turn) -> bool:
    """Whether a stored turn can still be rebuilt (storage written by another version may not be)."""
    try:
        answer_from_record(turn)
    except (KeyError, TypeError, ValueError, AttributeError):
        return False
    return True


def active_chat(store: dict) -> dict:
    """The conversation on screen."""
    return next(c for c in store["chats"] if c["id"] == store["active"])


def with_turns(store: dict, turns: list[dict]) -> dict:
    """The store with the active conversation's turns replaced; it moves to the top of the list."""
    chat = active_chat(store)
    title = turns[0]["question"][:TITLE_CHARS] if turns else NEW_TITLE
    updated = {**chat, "turns": turns, "title": title, "updated": time.time(),
               "collection": (turns[-1].get("collection") if turns else "") or chat.get("collection", "")}
    others = [c for c in store["chats"] if c["id"] != chat["id"]]
    return {"active": chat["id"], "chats": _fit(([updated] + others)[:MAX_CHATS], chat["id"])}


def started(store: dict, collection: str = "") -> dict:
    """The store with a fresh conversation active (an existing empty one is reused), asking `collection`."""
    empty = next((c for c in store["chats"] if not c["turns"]), None)
    if empty is not None:
        chats = [{**c, "collection": collection} if c is empty else c for c in store["chats"]]
        return {"active": empty["id"], "chats": chats}
    chat = new_chat(collection)
    return {"active": chat["id"], "chats": ([chat] + store["chats"])[:MAX_CHATS]}


def collection_of(chat: dict, default: str) -> str:
    """The collection a conversation asks: its own, its last answer's, else `default` (older saved
    conversations, all asked of the default collection)."""
    last = chat["turns"][-1].get("collection") if chat["turns"] else ""
    return chat.get("collection") or last or default


def asking(store: dict, collection: str, default: str) -> dict:
    """The store with a conversation asking `collection` active: the active one when it is empty or already asks
    it, else a new one, so follow-ups never mix answers from two collections."""
    chat = active_chat(store)
    if chat["turns"] and collection_of(chat, default) != collection:
        return started(store, collection)
    return {**store, "chats": [{**c, "collection": collection} if c is chat else c for c in store["chats"]]}


def switched(store: dict, chat_id: str | None) -> dict:
    """The store with another conversation active (an unknown id changes nothing)."""
    return {**store, "active": chat_id} if any(c["id"] == chat_id for c in store["chats"]) else store


def deleted(store: dict, chat_id: str) -> dict:
    """The store without that conversation; the most recent remaining one (or a new one) becomes active."""
    return normalised({"active": "", "chats": [c for c in store["chats"] if c["id"] != chat_id]})


def choices(store: dict, default: str = "") -> list[tuple[str, str]]:
    """(label, id) for the conversation list, newest first; conversations of another collection than `default`
    are labelled with it."""
    return [(_label(c, default), c["id"]) for c in store["chats"]]


def _label(chat: dict, default: str) -> str:
    """A conversation's title, with its collection when that is not the default one."""
    title, collection = chat.get("title") or NEW_TITLE, collection_of(chat, default)
    return title if not default or collection == default else f"{title} · {collection}"


def record(answer: Answer) -> dict:
    """An answer as stored: its public JSON plus the passages retrieval returned (trimmed to keep storage small)."""
    keep = FULL_PASSAGES if answer.refused or _partial(answer) else 0
    data = answer.to_json()
    for name in ("partial", "answerability"):
        if name not in data and getattr(answer, name, None) is not None:
            data[name] = getattr(answer, name)
    data["trace"] = [_passage_json(p, full=i < keep) for i, p in enumerate(answer.passages)]
    return data


def _partial(answer: Answer) -> bool:
    """A partial answer (the sources cover part of the question), when the answerer says so."""
    decision = (getattr(answer, "answerability", None) or {}).get("decision")
    return bool(getattr(answer, "partial", False)) or decision == "partial"


def _passage_json(passage: Passage, *, full: bool) -> dict:
    """One retrieved passage with how it ranked; only the nearest few keep their whole text."""
    c = passage.chunk
    text = c.text if full or len(c.text) <= SNIPPET_CHARS else c.text[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " …"
    return {"doc_id": c.doc_id, "title": c.title, "source": c.source, "paragraph": c.paragraph, "start": c.start,
            "end": c.end, "text": text, "score": passage.score, "rank": passage.rank,
            "dense_score": passage.dense_score, "lexical_score": passage.lexical_score,
            "dense_rank": getattr(passage, "dense_rank", None), "lexical_rank": getattr(passage, "lexical_rank", None)}


def answer_from_record(data: dict) -> Answer:
    """Rebuild the Answer a record was made from, for rendering and export."""
    citations = [Citation(id=c["id"], doc_id=c.get("doc_id", ""), source=c.get("source", ""), title=c["title"],
                          start=c["start"], end=c["end"], text=c["text"], paragraph=c.get("paragraph", 0),
                          score=c.get("score", 0.0), similarity=c.get("similarity", 0.0), rank=c.get("rank", 0),
                          sentences=tuple(tuple(h) for h in c.get("highlights", [])))
                 for c in data.get("citations", [])]
    sentences = [AnswerSentence(text=s["text"], citations=tuple(s.get("citations", [])),
                                supported=bool(s.get("supported")), source=s.get("source", ""))
                 for s in data.get("sentences", [])]
    answer = Answer(question=data["question"], text=data.get("answer", ""), refused=bool(data.get("refused")),
                    citations=citations, sentences=sentences, passages=[_passage(p) for p in data.get("trace", [])],
                    answerer=data.get("answerer", ""), search_query=data.get("search_query", ""),
                    evidence_score=data.get("evidence_score", 0.0), timings_ms=dict(data.get("timings_ms", {})),
                    notice=data.get("notice", ""), unmentioned=list(data.get("unmentioned", [])),
                    collection=str(data.get("collection") or ""))
    info = data.get("answerability") or {}
    answer.partial = bool(data.get("partial", info.get("partial", False)))
    answer.decision = info.get("decision") or ("declined" if answer.refused else "answered")
    answer.checks = [Check(check=r.get("check", ""), passed=bool(r.get("passed")), terms=tuple(r.get("terms", [])),
                           detail=r.get("detail", "")) for r in info.get("reasons", [])]
    return answer


def _passage(data: dict) -> Passage:
    """A stored trace entry as a Passage (rank fields the Passage type does not have are dropped)."""
    chunk = Chunk(chunk_id=f"{data['doc_id']}:{data['start']}", doc_id=data["doc_id"], title=data["title"],
                  source=data["source"], text=data["text"], start=data["start"], end=data["end"],
                  paragraph=data.get("paragraph", 0), index=0)
    known = {f.name for f in fields(Passage)}
    extra = {k: data.get(k) for k in ("dense_score", "lexical_score", "dense_rank", "lexical_rank") if k in known}
    return Passage(chunk=chunk, score=data.get("score", 0.0), rank=data.get("rank", 0), **extra)


def answers(chat: dict) -> list[Answer]:
    """A conversation's turns as Answers."""
    return [answer_from_record(t) for t in chat["turns"]]
