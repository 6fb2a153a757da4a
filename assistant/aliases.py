"""Other names for the same thing: a country and its capital, demonym and usual short forms ("Baku" and "Yerevan"
stand for Azerbaijan and Armenia, "US" for the United States or "American"), and an acronym spelled out
("Organization for Security and Co-operation in Europe" is "OSCE").

A question may name a country by any of these while its sources use another; without them the answerability
stage would decline "Why can't the Kremlin tell Baku and Yerevan to stop shooting?" over a text about Azerbaijan
and Armenia. The country table is the countryinfo package's data (every country, not a list made for a corpus).
"""

from __future__ import annotations

import functools
import re

from .text import terms

_ACRONYM = re.compile(r"[A-Z]{2,6}")
_TOKEN = re.compile(r"[^\W\d_][\w-]*")  # a word of letters, "Åland" too
_JOINERS = frozenset({"of", "for", "and", "the", "in", "on", "de", "du", "des", "la", "le"})


@functools.cache
def _country_forms() -> dict[str, tuple[str, ...]]:
    """Every form of every country (its name, capital, demonym and spellings of 3+ letters, not codes, which would
    match words), keyed by each form in lower case and by each short form in capitals ("US", "UK", "USA") as
    written; the three-letter ISO codes are left out ("ARM" is more often a word than Armenia)."""
    from countryinfo import all_countries

    index: dict[str, tuple[str, ...]] = {}
    for country in all_countries():
        info = country.info()
        alpha3 = (info.get("ISO") or {}).get("alpha3")
        spellings = [s for s in info.get("altSpellings") or [] if isinstance(s, str) and s != alpha3]
        spelled = [s for s in spellings if len(s) >= 3 and s.isascii() and not s.isupper()]
        named = [info.get("name"), *_listed(info.get("capital")), info.get("demonym"), *spelled]
        forms = tuple(dict.fromkeys(f for f in named if isinstance(f, str) and terms(f)))
        for key in [*(f.lower() for f in forms), *(s for s in spellings if s.isupper())]:
            index.setdefault(key, forms)
    return index


def _listed(value) -> list:
    """A field that holds one value or a list of them, as a list."""
    return value if isinstance(value, list) else [value]


@functools.lru_cache(maxsize=4096)
def forms(name: str) -> tuple[str, ...]:
    """The name itself, then the other names of the country it denotes (none when it denotes no country)."""
    others = _country_forms().get(_key(name), ())
    return (name, *(f for f in others if f.lower() != name.lower()))


def is_country(name: str) -> bool:
    """Whether the name denotes a country, by any of its forms ("Moscow", "Russian", "Kyrgyzstan"): a place, never
    the person a who-question asks for."""
    return _key(name) in _country_forms()


def _key(name: str) -> str:
    """How the country table is keyed: short forms in capitals as written ("US"), every other form in lower case."""
    return name if name.isupper() else name.lower()


def initials(words: list[str]) -> str:
    """The acronym of a run of capitalised words ("Collective Security Treaty Organization" -> "CSTO")."""
    return "".join(w[0] for w in words if w[:1].isupper())


def expansions(acronym: str, text: str) -> list[str]:
    """The capitalised words of each run in the text that spells the acronym out (joined by 'of', 'and', ...)."""
    if not _ACRONYM.fullmatch(acronym):
        return []
    tokens, found = _TOKEN.findall(text), []
    for start, token in enumerate(tokens):
        if token[0] != acronym[0]:
            continue
        run: list[str] = []
        for word in tokens[start:]:
            if word[0].isupper() and acronym.startswith(initials(run + [word])):
                run.append(word)
            elif word.lower() not in _JOINERS or not run:
                break
            if initials(run) == acronym:
                found.extend(run)
                break
    return found
