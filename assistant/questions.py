"""What a question asks: its names, key terms, most specific name, and the kind of answer it wants (a number,
a date, a person...), plus whether a sentence carries its subject or holds an answer of that kind.

Deterministic, pattern-based and offline: the answerer uses it to pick sentences about the subject, and the
answerability stage to tell "the sources talk about this" from "the sources give what was asked". Numbers
written in words ("a quarter", "thirty percent") count as quantities.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .text import STOPWORDS, entities, same_stem, stem, terms, words

# A name is a subject of the question when it is at least this specific (IDF) relative to the most specific one;
# names found nearly everywhere in the corpus ("Russia" in an essay on Russia) only set the scene.
SUBJECT_SHARE = 0.6

# Words that frame a question rather than name what it is about.
FRAMING = frozenset(terms(
    "role play played happen happened kind type way ways many much number name names year years date time main "
    "mean means reason reasons result results effect effects part first exactly list give specific example "
    "examples call called consider considered describe happen take took make made become became get got go went "
    "according mention mentioned source sources document documents article text respond response responded react "
    "reacted reaction approach approaches do doing done thing things city cities town country countries region "
    "place places location capital person persons who individual come came coming know known think thought see "
    "seen use used want wanted need needed try tried keep kept put let seem seemed look looked find found given "
    "tell told ask asked long taking taken together whole overall general generally really actually"))

_PATTERNS = [
    ("price", r"\bhow much (?:does|did|do|would|will|is|was|were)\b.*\bcost\b|\b(?:what|which) (?:is |was |were )?"
              r"(?:the )?(?:price|cost)s?\b|\bhow much money\b|\bat what price\b"),
    ("quantity", r"\bhow (?:many|much|large|big|far|old|high|tall|long)\b|\bwhat (?:number|percentage|proportion|"
                 r"share|fraction|amount|portion|size|per ?cent)\b|\bwhich (?:percentage|proportion|share)\b"),
    ("date", r"\b(?:what|which|in what|in which) (?:year|date|month|decade|day)\b|\bsince when\b"),
    ("time", r"^\W*when\b|\bwhen (?:did|was|were|is|are|does|do|will|would|had|has|could)\b"),
    ("names", r"\bname (?:them|the|all|any|some|those|these|two|three)\b|\bwhich (?:countries|states|cities|"
              r"companies|leaders|parties|organi[sz]ations|groups|nations|members|people|firms|officials|"
              r"politicians|candidates|regions)\b|\blist (?:the|all)\b|\bwho (?:were|are) the\b|\bwhich (?:party|"
              r"company|organi[sz]ation|group|state|nation|firm|bank|movement|alliance|bloc|newspaper|agency)\b"),
    ("person", r"^\W*who\b|\b(?:which|what) (?:person|leader|official|president|minister|politician|man|woman|"
               r"general|candidate|mediator)\b|\bwhose\b|\bby whom\b|\bwho (?:was|is|led|won|brokered)\b"),
    ("place", r"^\W*where\b|\bwhere (?:did|was|were|is|are|do|does)\b|\b(?:which|what|in what|in which) (?:city|"
              r"town|country|region|place|capital|village|province|location)\b"),
]
_COMPOUND = re.compile(r"(?:,|\band)\s+(?:and\s+)?(?:who|what|when|where|which|why|how|whom|whose|since when|"
                       r"in (?:what|which))\b", re.I)
_WH = re.compile(r"\b(?:who|what|when|where|which|why|how|whom|whose)\b|^\W*(?:is|are|was|were|did|does|do|has|have|"
                 r"had|can|could|will|would|should)\b", re.I)
_PLURAL = re.compile(r"\bname (?:them|all|those|these|two|three|four|five)\b|\blist (?:them|the|all)\b|\bwhich "
                     r"[a-z]+(?:ies|[^s]s)\b|\bwho (?:were|are)\b", re.I)
_COMPILED = [(name, re.compile(pattern, re.I)) for name, pattern in _PATTERNS]

_NUMBER_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|"
    r"billions?|trillions?|dozens?|half|halves|quarters?|thirds?|fifths?|tenths?|percent|per cent|percentage|"
    r"twice|double|doubled|tripled|single")
_QUANTITY = re.compile(rf"\d[\d,.]*\d%?|\d%?|%|\b(?:{_NUMBER_WORDS})\b", re.I)
_DURATION = re.compile(r"\b(?:several|few|many|weeks?|months?|years?|days?|hours?|decades?|minutes?)\b", re.I)
_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS})\b", re.I)
_TIME = re.compile(r"\b(?:after|before|during|until|since|following|when|ago|later|earlier|then|once|while|"
                   r"weeks?|months?|years?|days?|decades?|spring|summer|autumn|winter|today|now)\b", re.I)
_REASON = re.compile(r"\b(?:because|since|due to|owing to|as a result|result of|in order to|so that|so as to|therefore|"
                     r"thus|hence|led to|leading to|caused|causing|reasons?|aim(?:ed)?|intended|meant to|in response|"
                     r"response to|after|amid|fear(?:ed|ing)?|wanted|sought|to avoid|to prevent|to protect|to ensure|"
                     r"to keep|to stop|citing|cited|accus(?:ed|ing)|claim(?:ed|ing)|argu(?:ed|ing)|explain(?:ed|ing)|"
                     r"blam(?:ed|ing)|given|motivated|driven by|thanks to|in protest|so)\b", re.I)
_CALENDAR = frozenset(terms(f"{_MONTHS.replace('|', ' ')} monday tuesday wednesday thursday friday saturday sunday"))
_PRICE = re.compile(r"[$€£¥₽]|\b(?:dollars?|euros?|rubles?|roubles?|pounds?|yuan|usd|eur|rub|som|dram|manat|"
                    r"tenge|francs?|cents?)\b", re.I)
_PERSON_ROLES = re.compile(r"\b(?:president|prime minister|minister|leader|leaders|chancellor|king|queen|general|"
                           r"officials?|opposition|government|mediators?|diplomats?|candidates?|protesters?|"
                           r"kremlin|elites?|politicians?|premier|mayor|ambassador|spokes(?:man|woman|person))\b", re.I)

# Code and markup in a question: tags, operators, statement ends and calls glued to words (`x;--`, `alert(1)`, `1=1`).
_CODE = re.compile(r"[<>{}=$`|\\]|;.|['\")\]];|\w\(.*\)|--")
_CODE_MARKS = frozenset(";*|\\`$={}<>")


def code_tokens(question: str) -> list[str]:
    """The tokens of a question that are code or markup rather than words: anything holding code syntax, and runs
    of punctuation (`';`, `--`, `&&`) or single code marks (`;`, `*`, `=`)."""
    found = []
    for token in question.split():
        letters = any(ch.isalnum() for ch in token)
        if _CODE.search(token) or (not letters and (len(token) > 1 or token in _CODE_MARKS)):
            found.append(token)
    return found


def form_problem(question: str) -> str:
    """Why a question is no question in words ('' when it is one): it has no words at all, or code makes up a third
    of it (at least two tokens, or one of a one- or two-token question), as in an injection payload."""
    if not words(question):
        return "the question has no words to look up"
    code, tokens = code_tokens(question), question.split()
    if code and 3 * len(code) >= len(tokens) and (len(code) >= 2 or len(tokens) <= 2):
        shown = " ".join(dict.fromkeys(code))
        return f"the question reads as code or markup, not as words ({shown[:60]})"
    return ""


TYPE_LABELS = {
    "quantity": "the number or amount asked for",
    "price": "the price or cost asked for",
    "date": "the date or year asked for",
    "time": "when it happened",
    "person": "who it was",
    "place": "the place asked for",
    "names": "the names asked for",
    "reason": "why",
}


def expected_type(question: str) -> str | None:
    """The answer type a question asks for, or None for open questions (why, how, what did...) and for compound
    ones ("Who signed it, and how long ...?"), whose parts may want different things."""
    joint = _COMPOUND.search(question)
    if joint and _WH.search(question[:joint.start()]):
        return None
    for name, pattern in _COMPILED:
        if pattern.search(question):
            return name
    return None


def typed_items(sentence: str, kind: str, question: str) -> list[str]:
    """The things of the asked-for kind in a sentence (names the question already contains do not count)."""
    if kind == "quantity":
        found = quantities(sentence)
        duration = re.search(r"\bhow long\b", question, re.I)
        return found + ([m.group(0) for m in _DURATION.finditer(sentence)] if duration else [])
    if kind == "price":  # any currency, named or not: a figure is what a price question needs
        return quantities(sentence) + [m.group(0) for m in _PRICE.finditer(sentence)]
    if kind == "reason":
        return [m.group(0) for m in _REASON.finditer(sentence)]
    if kind == "date":
        return [m.group(0) for m in _DATE.finditer(sentence)]
    if kind == "time":
        return [m.group(0) for m in _DATE.finditer(sentence)] + [m.group(0) for m in _TIME.finditer(sentence)]
    names = new_names(sentence, question)
    if kind == "person":
        return names + [m.group(0) for m in _PERSON_ROLES.finditer(sentence)]
    if kind == "names" and _PLURAL.search(question) and len(set(names)) < 2:
        return []  # "which countries ... name them" wants at least two names
    return names


def quantities(sentence: str) -> list[str]:
    """Numbers, percentages and number words; a year ("2014") or a day of the month ("9 August") is no quantity."""
    out = []
    for m in _QUANTITY.finditer(sentence):
        token, after = m.group(0), sentence[m.end():m.end() + 12]
        if re.fullmatch(r"(?:1[5-9]\d\d|20\d\d)", token) or (token.isdigit() and re.match(rf"\s+(?:{_MONTHS})\b",
                                                                                        after)):
            continue
        out.append(token)
    return out


def new_names(sentence: str, question: str) -> list[str]:
    """Capitalised names in the sentence that the question does not already contain."""
    asked = set(terms(" ".join(entities(question)))) | _CALENDAR
    return [name for name in entities(sentence) if not all(term_in(t, asked) for t in terms(name))]


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What a question is about (names, key terms with their surface words), its focus and answer type."""

    names: list[str]
    key_words: dict[str, str]
    focus: str | None
    kind: str | None
    subjects: tuple[str, ...] = ()


def profile(question: str, idf: Callable[[str], float]) -> Profile:
    """Analyse a standalone question; the focus is its most specific name (the rarest in the corpus)."""
    names = [n for n in dict.fromkeys(entities(question)) if not set(terms(n)) <= _CALENDAR]
    name_terms = set(terms(" ".join(names)))
    key_words: dict[str, str] = {}
    for word in words(question):
        term = stem(word)
        if word not in STOPWORDS and len(word) > 2 and term not in name_terms and term not in FRAMING:
            key_words.setdefault(term, word)
    weight = {n: max((idf(t) for t in terms(n)), default=0.0) for n in names}
    focus = max(names, key=weight.__getitem__) if names else None
    subjects = tuple(n for n in names if focus and weight[n] >= SUBJECT_SHARE * weight[focus])
    return Profile(names=names, key_words=key_words, focus=focus, kind=expected_type(question), subjects=subjects)


def term_in(term: str, vocabulary: set[str]) -> bool:
    """Exact term match, a shared stem of 5+ letters ("Belarus" ~ "Belarusian", "Kyrgyz" ~ "Kyrgyzstan"), or a
    4-letter name and its demonym ("Asia" ~ "Asian", "Iran" ~ "Iranian")."""
    return term in vocabulary or any(same_stem(term, v) for v in vocabulary)


def name_in(name: str, vocabulary: set[str]) -> bool:
    """A (possibly multi-word) name is present when all its terms are."""
    return all(term_in(t, vocabulary) for t in terms(name))


def carries_subject(prof: Profile, sentence: str, passage: str = "") -> bool:
    """The sentence names one of the question's subjects (its specific names), or its passage does and the sentence
    holds one of the question's key terms; for a question with no names, the sentence holds one of its key terms."""
    vocabulary = set(terms(sentence))
    if prof.subjects:
        if any(name_in(n, vocabulary) for n in prof.subjects):
            return True
        held = any(term_in(t, vocabulary) for t in prof.key_words)
        return held and any(name_in(n, set(terms(passage))) for n in prof.subjects)
    return not prof.key_words or any(term_in(t, vocabulary) for t in prof.key_words)
