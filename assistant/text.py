"""Text primitives shared by chunking, retrieval, answering and evaluation: normalisation, sentences, terms."""

from __future__ import annotations

import functools
import re
import statistics
import unicodedata

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "u.s", "u.k", "u.n",
    "no", "fig", "inc", "ltd", "co", "gen", "col", "gov", "sen", "rep", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "approx", "cf", "al",
}
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-Ý])|[.!?…]+[\"'”’)\]]*(?=\s*$)")
_SENTENCE_BREAK = re.compile(f"{_SENTENCE_END.pattern}|\\n[ \\t]*\\n")
_WORD = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*", re.UNICODE)
_WHITESPACE = re.compile(r"\s+")
_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t did does what's who's how's tell explain describe say says said according text
    essay author analysis
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def normalise(text: str) -> str:
    """Canonical form that all character spans refer to: NFC, LF newlines, no BOM."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    """Collapse runs of whitespace, for comparing quotes across hard-wrapped lines."""
    return _WHITESPACE.sub(" ", text).strip()


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs as spans: blank lines separate them; in hard-wrapped text a short final line does too."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*", text) if m.end() > m.start()]
    widths = [e - s for s, e in lines if text[s:e].strip()]
    wrap = statistics.median(widths) if len(widths) >= 5 else 0
    spans, start = [], None
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        if not line.strip():
            continue
        start = s if start is None else start
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        blank_after = nxt is None or not text[nxt[0]:nxt[1]].strip() or text[e:nxt[0]].count("\n") > 1
        short_end = wrap and len(line.rstrip()) < 0.6 * wrap and line.rstrip()[-1:] in ".!?:\"”"
        if blank_after or short_end or line.lstrip().startswith("#"):
            spans.append((start, s + len(line.rstrip())))
            start = None
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans inside text[start:end], trimmed of surrounding whitespace, never cutting a word; a blank
    line also ends a sentence (a chunk can hold a heading and several paragraphs)."""
    end = len(text) if end is None else end
    spans, cursor = [], start
    for m in _SENTENCE_BREAK.finditer(text, start, end):
        if _is_abbreviation(text, m.start()):
            continue
        spans.append((cursor, m.end()))
        cursor = m.end()
    spans.append((cursor, end))
    return [_trim(text, s, e) for s, e in spans if text[s:e].strip()]


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at `dot` closes a known abbreviation or an initial."""
    if text[dot] != ".":
        return False
    word = re.search(r"([\w.]+)$", text[max(0, dot - 12):dot])
    token = word.group(1).lower() if word else ""
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha() and text[dot - 1].isupper())


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it starts and ends on non-space characters."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def words(text: str) -> list[str]:
    """Lower-cased word tokens, possessives folded ("Russia's" -> "russia")."""
    out = []
    text = _ACRONYM.sub(lambda m: m.group(0).replace(".", ""), text)
    for w in _WORD.findall(text.lower()):
        w = w.replace("’", "'")
        out.append(w[:-2] if w.endswith("'s") else w)
    return out


@functools.lru_cache(maxsize=1 << 16)  # pure, and most words recur: indexing a large corpus calls it millions of times
def stem(word: str) -> str:
    """A light, deterministic suffix stripper: enough to match "elections" with "election"."""
    for suffix, keep in (("ational", 5), ("ization", 5), ("ations", 4), ("ation", 4), ("ness", 4),
                         ("ments", 4), ("ment", 4), ("ingly", 4), ("ings", 4), ("ing", 4), ("edly", 4),
                         ("ies", 3), ("ied", 3), ("ed", 4), ("ly", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            word = word[: -len(suffix)]
            return word + "y" if suffix in ("ies", "ied") else word
    return word


def tokens(text: str) -> list[str]:
    """Word tokens as written (case kept, possessives not folded): the words that `words` lower-cases."""
    return _WORD.findall(text)


def content_words(text: str) -> list[str]:
    """The distinct words of a text worth comparing in meaning: no stop words, none under three letters."""
    return [w for w in dict.fromkeys(words(text)) if w not in STOPWORDS and len(w) > 2]


def terms(text: str) -> list[str]:
    """Content terms for lexical matching: words minus stop words, stemmed."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def numbers(text: str) -> set[str]:
    """Numerals in a text; a supported sentence must not introduce new ones."""
    return set(re.findall(r"\d[\d,.]*\d|\d", text))


def entities(text: str) -> list[str]:
    """Capitalised words and runs of them that do not start a sentence: the names a question is about ("Åland" and
    "Świnoujście" too)."""
    found = re.findall(rf"(?<![.?!]\s)(?<!^)\b({UPPER}[\w-]+(?:\s+{UPPER}[\w-]+)*)", text.strip())
    return [e for e in found if e.lower() not in STOPWORDS]


UPPER = "[" + "".join(c for c in map(chr, range(0x530)) if c.isupper()) + "]"  # capitals of Latin, Greek, Cyrillic
_DEMONYM = {"n", "an", "ian", "ns", "ans", "ians", "i", "is", "ese", "ish"}
_FAMILY = _DEMONYM | {"s", "es", "stan", "ic", "ics", "al", "ism", "ist", "ists", "ity", "ed", "er", "ers", "ing",
                      "ings", "ly", "ment", "ments", "ation", "ations", "ive", "e", "y", "d", "r"}


def same_stem(a: str, b: str) -> bool:
    """One term is the other plus a word-family ending: a demonym ("asia"/"asian", "belarus"/"belarusian"), a
    country ("kyrgyz"/"kyrgyzstan") or an inflection the light stemmer left; "belarus"/"belaruskali" differ."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not long.startswith(short) or len(short) < 4:
        return False
    ending = long[len(short):]
    if short.endswith("e") and ending in ("d", "s"):  # "cede"/"ceded", "vote"/"votes": the stemmer keeps these
        return True
    return ending in _DEMONYM or (len(short) >= 5 and ending in _FAMILY)


def surroundings(text: str, sentence: str) -> str:
    """The paragraph of `text` holding the sentence, with the headings right above it: what the sentence is
    about (a chunk can hold several paragraphs on other things); the whole text when the sentence is not in it."""
    from .chunking import is_heading

    target, spans = collapse(sentence), paragraph_spans(text)
    for n, (s, e) in enumerate(spans):
        if target and target in collapse(text[s:e]):
            first = n
            while first > 0 and is_heading(text[spans[first - 1][0]:spans[first - 1][1]]):
                first -= 1
            return text[spans[first][0]:e]
    return text
