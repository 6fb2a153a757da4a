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

from .aliases import expansions, forms, is_country
from .text import STOPWORDS, entities, same_stem, stem, terms, words
from .verbforms import irregular_forms, participles

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
    "seen use used want wanted need needed try tried keep kept put let seem seemed look looked find given "
    "tell told ask asked long taking taken together whole overall general generally really actually "
    "grant granted gain gained obtain obtained"))  # "was X granted Y": what is asked is Y

# Plural nouns a "which ...?" question asks names of, with up to two words before them ("which nine states",
# "which non-Arctic countries").
_GROUPS = ("countries|states|cities|companies|leaders|parties|organi[sz]ations|groups|nations|members|people|firms|"
           "officials|politicians|candidates|regions")
_MODIFIERS = r"(?:(?!(?:is|are|was|were|did|does|do|has|have|had)\b)[\w-]+ ){0,2}"
_PATTERNS = [
    ("price", r"\bhow much (?:does|did|do|would|will|is|was|were)\b.*\bcost\b|\b(?:what|which) (?:is |was |were )?"
              r"(?:the )?(?:price|cost)s?\b|\bhow much money\b|\bat what price\b"),
    ("quantity", r"\bhow (?:many|much|large|big|far|old|high|tall|long)\b|\bwhat (?:number|percentage|proportion|"
                 r"share|fraction|amount|portion|size|per ?cent)\b|\bwhich (?:percentage|proportion|share)\b"),
    ("date", r"\b(?:what|which|in what|in which) (?:year|date|month|decade|day)\b|\bsince when\b"),
    ("time", r"^\W*when\b|\bwhen (?:did|was|were|is|are|does|do|will|would|had|has|could)\b"),
    ("names", rf"\bname (?:them|the|all|any|some|those|these|two|three)\b|\bwhich {_MODIFIERS}(?:{_GROUPS})\b|"
              r"\blist (?:the|all)\b|\bwho (?:were|are) the\b|\bwhich (?:[\w-]+ )?(?:party|company|organi[sz]ation|"
              r"group|state|nation|firm|bank|movement|alliance|bloc|newspaper|agency)\b"),
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
                     rf"[a-z]+(?:ies|[^s]s)\b|\bwho (?:were|are)\b|\bwhich {_MODIFIERS}(?:{_GROUPS})\b", re.I)
_COMPILED = [(name, re.compile(pattern, re.I)) for name, pattern in _PATTERNS]
_HOW_MANY = re.compile(r"\bhow many (?:more |fewer )?([a-z][\w-]*)", re.I)
# A named subject: capitalised words, a name joined by "of", "on", "for" or "the", which may start with "the" ("the
# Commission on the Limits of the Continental Shelf"; not "the Kyrgyz", whose next word may be a noun), or a common
# noun naming what the name is ("the tanker Eagle S").
_NAMED = (r"(?:(?:the\s+)?(?:[A-Z][\w-]*\s+)+(?:(?:of|on|for|the)\s+)+[A-Z][\w-]*\s+(?:(?:(?:of|on|for|the)\s+)*"
          r"[A-Z][\w-]*\s+)*|the\s+[a-z][\w-]*\s+(?:[A-Z][\w-]*\s+)+|(?:[A-Z][\w-]*\s+)+)")
_PREDICATE = re.compile(r"\b(?:[Ww]ho|[Ww]hat|[Ww]hen|[Ww]here|[Ww]hich|[Ww]hy|[Hh]ow|[Ww]hom)\b[^?]*?\b"
                        rf"(?:(?:did|does|do)\s+{_NAMED}(?:[a-z]+ly\s+)?([a-z][\w-]*(?:ss|[^s\W]))|(?:was|were|is|are|has|have|"
                        rf"had)\s+{_NAMED}(?:[a-z]+ly\s+)?([a-z][\w-]*(?:ed|en|wn)|"
                        rf"{'|'.join(sorted(participles(), key=len, reverse=True))}))\b")
# "What was the turnout in ...?", "What is Belarus's population?": the asked attribute is the noun after the article
# or possessive (up to two modifiers before it), followed by a preposition, a comma or the end of the question.
# Verbs whose object is another clause ("decide to", "agree that"): the clause holds what is asked.
_CONTROL = frozenset(stem(w) for w in ("decide", "choose", "want", "try", "agree", "plan", "refuse", "hope", "intend",
                                      "seek", "attempt", "aim"))
_CLAUSE = re.compile(r"\s+(?:to|that|it|they|he|she|we|its|their|not|whether)\b")
_ATTRIBUTE = re.compile(r"^\W*(?:and\s+)?what (?:is|was|were|are|will be|has been|had been|about) (?:the|its|their|his|"
                        r"her|[A-Z][\w-]*(?:'s|’s|')) (?:[a-z][\w-]* ){0,2}?([a-z][\w-]*)(?:\s+(?:of|in|for|at|on|to|"
                        r"among|between|during|behind|by)\b|\s*[?,.]|\s*$)", re.I)
_PERSON = r"(?:[A-Z][\w'-]*\s+(?:(?:von|van|der|den|de|da|del|di|la|le|al|bin|ibn)\s+)*)+"  # "Ursula von der Leyen"
_EXPLAIN = re.compile(rf"\b[Hh]ow (?:did|does|do|has|have|had|would|could|will)\s+(?:the\s+)?({_PERSON})"
                      r"(?:explain|justify|account for|defend|describe|characteri[sz]e|rationali[sz]e)\b|"
                      rf"\b[Ww]hat (?:did|does|do|has|have|had|would|will)\s+(?:the\s+)?({_PERSON})"
                      r"(?:say|tell|state|declare|announce|claim|argue|write|reply|answer|respond)\b")
# Verbs that report what someone said or thought. A question's verb is one of them in any form ("What did X
# *claim*?"); a sentence reports speech only through forms that are not also common nouns ("said", "claimed",
# "according to", not "claim", "state", "point" or "note", which "territorial claims" or "the state" would match).
SPEECH = frozenset(stem(w) for w in words(
    "say tell explain argue claim state announce insist deny blame accuse call describe justify cite point warn assert "
    "maintain contend declare attribute note reply acknowledge admit complain allege suggest denounce condemn "
    "dismiss"))
REPORTING = frozenset(words(
    "said says told tells explained explains argued argues claimed stated announced insisted insists denied "
    "denies blamed accused described justified cited warned warns asserted asserts contended declared noted replied "
    "acknowledged admitted complained alleged suggested denounced condemned according explanation explanations "
    "justification pretext statement statements"))
# Abstract nouns whose value a source states in other words ("the outcome", "the purpose"): not an attribute the
# answer must name.
_ABSTRACT = frozenset(terms(
    "outcome outcomes purpose goal goals aim aims cause causes consequence consequences significance importance impact "
    "impacts effect effects result results reason reasons response reaction position attitude stance view views "
    "opinion situation status background context basis nature point idea argument problem problems issue issues "
    "difference differences relationship relation relations link links connection meaning message plan plans "
    "strategy policy approach role aftermath state story case lesson lessons alternative option options"))
_WHY = re.compile(r"^\W*why\b", re.I)
_HOW_MUCH_MONEY = re.compile(r"\bhow much (?:[a-z][\w-]* )?(?:money|funds|funding|cash|aid|financing|investment|"
                             r"credit|debt|compensation|assistance|revenue|spending|subsid(?:y|ies)|budget)\b", re.I)
_LIST_GAP = re.compile(r"\s*(?:,\s*(?:and\s+|or\s+)?|\s(?:and|or|as well as)\s+)(?:[a-z][\w-]*\s+){0,3}")

_NUMBER_WORDS = (
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|"
    r"billions?|trillions?|dozens?|half|halves|quarters?|thirds?|fifths?|tenths?|percent|per cent|percentage|"
    r"twice|double|doubled|tripled|single")
_QUANTITY = re.compile(rf"\d[\d,.]*\d%?|\d%?|%|\b(?:{_NUMBER_WORDS})\b", re.I)
# A share of a whole ("a third", "half", "80.1 percent"), which answers "what share ...?" but counts nothing: it is
# no answer to "how many kroner ...?" unless a multiplier follows ("half a million").
_PROPORTION = re.compile(r"\d[\d,.]*\s?(?:%|percent\b|per cent\b)|\b(?:half|halves|(?:a|an|one|two|three|four|five|six|"
                         r"seven|eight|nine|ten|\d+)[\s-]+(?:thirds?|quarters?|fifths?|sixths?|sevenths?|eighths?|"
                         r"ninths?|tenths?)|percent|per cent)\b(?!\s+(?:a\s+)?(?:million|billion|thousand|hundred|"
                         r"dozen))", re.I)
_KIND_NOUN = re.compile(r"\b(?:which|what) (?:[\w-]+ )?(party|company|organi[sz]ation|bank|newspaper|agency|"
                        r"movement|alliance|firm|bloc|group|institution|body|committee|commission|ministry)\b", re.I)
_GROUP_NOUN = re.compile(rf"\bwhich {_MODIFIERS}({_GROUPS})\b", re.I)
_PRONOUN = re.compile(r"(?:It|They|He|She|Its|Their|His|Her|These|Those)\b")
# The units a measured attribute is given in, by the attribute's stem.
_UNITS = {stem(attribute): units for attribute, units in (
    ("population", "people|inhabitants|residents|citizens|persons"),
    ("area", "square (?:kilometres|kilometers|miles|metres|meters)|km2|km²|hectares|acres"),
    ("size", "square (?:kilometres|kilometers|miles|metres|meters)|km2|km²|hectares|acres"),
    ("length", "kilometres|kilometers|km|miles|metres|meters|long"),
    ("height", "(?:metres|meters|feet|m) (?:high|tall)|high|tall"),
    ("depth", "(?:metres|meters|feet|m) deep|deep"),
    ("width", "(?:kilometres|kilometers|km|miles|metres|meters) wide|wide"),
    ("age", "years old|old"),
    ("duration", "days|weeks|months|years|hours"),
)}
_VAGUE = "a number of|several|many|various|numerous|dozens of"  # counts a group as at least three
_HOW_MEASURE = re.compile(r"\bhow (large|big|long|far|high|tall|deep|wide|old)\b", re.I)
_DIMENSIONS = {"large": ("size",), "big": ("size",), "long": ("length", "duration"), "far": ("length",),
               "high": ("height",), "tall": ("height",), "deep": ("depth",), "wide": ("width",), "old": ("age",)}
_SMALL_NUMBERS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                  "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_GROUP_COUNT = re.compile(rf"\b(\d+|{'|'.join(_SMALL_NUMBERS)}|{_VAGUE})\s+(?:[\w-]+\s+)?(?:{_GROUPS}|governments)\b",
                          re.I)
_GENERIC = frozenset(terms("people members"))
_ASKS_PROPORTION = re.compile(r"\b(?:what|which) (?:percentage|proportion|share|fraction|portion|part|per ?cent)\b|"
                              r"\bhow much of\b|\bhow many of\b", re.I)
_DURATION = re.compile(r"\b(?:several|few|many|weeks?|months?|years?|days?|hours?|decades?|minutes?)\b", re.I)
_MONTHS = r"January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(rf"\b(?:1[5-9]\d\d|20\d\d)s?\b|\b(?:{_MONTHS})\b", re.I)
_TIME = re.compile(r"\b(?:after|before|during|until|since|following|when|ago|later|earlier|then|once|while|"
                   r"weeks?|months?|years?|days?|decades?|spring|summer|autumn|winter|today|now)\b", re.I)
_REASON = re.compile(r"\b(?:because|since|due to|owing to|as a result|result of|in order to|so that|so as to|therefore|"
                     r"(?:way|means|effort|attempt|bid|plan|strategy|policy|goal|purpose|aim|intention) to|"
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
# "Who became president ...?", "Who is the new prime minister?", "Which minister ...?": the role asked about.
_HOLDER = re.compile(r"^\W*(?:who (?:became|becomes|become|is|was|were|are|will be|would be|has become|had become|"
                     r"served as|was (?:elected|appointed|named|sworn in as))(?: as)? (?:the |a |an )?(?:(?:new|next|"
                     r"first|current|former|acting|interim|last|then|country's|region's) )*|(?:which|what) )"
                     r"(prime minister|[a-z]+)\b", re.I)

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
    if is_compound(question):
        return None
    for name, pattern in _COMPILED:
        if pattern.search(question):
            return name
    return None


def typed_items(sentence: str, kind: str, question: str) -> list[str]:
    """The things of the asked-for kind in a sentence (names the question already contains do not count)."""
    if kind == "quantity" and _ASKS_PROPORTION.search(question):
        return [m.group(0) for m in _PROPORTION.finditer(sentence)]
    if kind == "quantity":
        found = quantities(sentence, shares=not counts_asked(question))
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
    if kind == "person" and asks_holder(question):  # "Who became president?": a person's name, not a role or a
        return [n for n in names if not is_country(n)]  # country ("Moscow decided" answers "who decided" only)
    if kind == "person":
        people = [n for n in names if not _modifies(n, sentence)]  # "the first Soviet republic" names no one
        return people + [m.group(0) for m in _PERSON_ROLES.finditer(sentence)]
    if kind == "names" and _PLURAL.search(question):
        found = listed(sentence, names)
        return found if len(found) >= min(group_count(sentence), 3) and not _restates(found, sentence, question) else []
    return names


def _modifies(name: str, sentence: str) -> bool:
    """Whether a one-word name stands only as a modifier ("the first *Soviet* republic"): after an article or a
    lower-case word and before one, everywhere it occurs."""
    if " " in name:
        return False
    uses = list(re.finditer(rf"(\S+)\s+{re.escape(name)}\s+([a-z]\S*)", sentence))
    return bool(uses) and len(uses) == len(re.findall(rf"\b{re.escape(name)}\b", sentence)) and \
        all(u.group(1)[:1].islower() for u in uses)


def _restates(found: list[str], sentence: str, question: str) -> bool:
    """Whether a list only spells out a group the question itself names ("The three *Baltic* states, Estonia, Latvia
    and Lithuania" for a question about "the Baltic states"): the phrase before the comma opening the list holds a
    name of the question."""
    at = min((sentence.find(n) for n in found if n in sentence), default=-1)
    head = re.search(r"([^,;:]*),\s*$", sentence[:at]) if at > 0 else None
    asked = set(terms(" ".join(entities(question))))
    return bool(head and asked & set(terms(head.group(1))))


def group_count(sentence: str) -> int:
    """How many members of a group the sentence says there are ("Thirteen non-Arctic states", "9 countries"; three for
    "a number of other governments"), 0 when it gives no such count: a sentence that counts them names them only in
    a list of at least three (or all)."""
    best = 0
    for m in _GROUP_COUNT.finditer(sentence):
        token = m.group(1).lower()
        count = int(token) if token.isdigit() else 3 if token not in _SMALL_NUMBERS else _SMALL_NUMBERS.index(token) + 1
        best = max(best, count)
    return best


def asks_holder(question: str) -> bool:
    """Whether a who-question asks who holds a role it names ("Who became president?", "Which minister ...?"): only
    a person's name answers it, not another role word ("the government") or a country."""
    found = _HOLDER.search(question)
    return bool(found and _PERSON_ROLES.fullmatch(found.group(1)))


def listed(sentence: str, names: list[str]) -> list[str]:
    """The names that stand in a list in the sentence ("A, B and C", "both A and B", "the blogger A, the banker B"):
    two names next to each other with only a comma, "and" or "or" and up to three small words between them."""
    spans = sorted({(m.start(), m.end()) for n in set(names) for m in re.finditer(rf"\b{re.escape(n)}\b", sentence)})
    found: list[str] = []
    for (start, end), (after, stop) in zip(spans, spans[1:], strict=False):
        if _LIST_GAP.fullmatch(sentence[end:after]):
            found += [sentence[start:end], sentence[after:stop]]
    return list(dict.fromkeys(found))


def counted(sentence: str, question: str) -> list[str]:
    """For "how many X ...?", the figures in the sentence that count X itself ("nine million people" for "How many
    people live in Belarus?"): a quantity followed, within three words, by X or a word of its family; for "how much
    money/aid/funding ...?", a quantity followed by a currency ("53 million euros") or after a currency sign."""
    asked = _HOW_MANY.search(question)
    money = _HOW_MUCH_MONEY.search(question)
    if not asked and not money:
        return []
    noun = stem(asked.group(1).lower()) if asked else ""
    found = []
    for m in _QUANTITY.finditer(sentence):
        after = " ".join(sentence[m.end():].split()[:3])
        sum_of_money = money and (_PRICE.search(after) or _PRICE.search(sentence[max(0, m.start() - 2):m.start()]))
        if sum_of_money or (asked and any(t == noun or same_stem(t, noun) for t in terms(after))):
            found.append(m.group(0))
    return found


def counts_other(sentence: str) -> bool:
    """Whether every figure in the sentence counts a thing it names ("several thousand soldiers", "half of the
    country's output"); a figure standing alone ("a population of 9.4 million.") could count anything."""
    found = False
    for m in _QUANTITY.finditer(sentence):
        after = [w for w in sentence[m.end():].split()[:3] if not _QUANTITY.fullmatch(w.strip(".,;:!?"))]
        if not terms(" ".join(after)):
            return False
        found = True
    return found


def counts_asked(question: str) -> bool:
    """Whether the question asks "how many X" (a count of a thing it names, not "how many of" them)."""
    return bool(_HOW_MANY.search(question)) and not _ASKS_PROPORTION.search(question)


def opens_with_pronoun(sentence: str) -> bool:
    """Whether the sentence opens with a pronoun ("They are ..."), so it is about what the one before it names."""
    return bool(_PRONOUN.match(sentence))


def elsewhere(sentence: str, prof: Profile) -> bool:
    """Whether a sentence that does not name the question's subjects names something else (a place, a person): it
    is about that, whatever its passage is about."""
    vocabulary = set(terms(sentence))
    if any(name_in(n, vocabulary) for n in prof.subjects):
        return False
    return bool(new_names(sentence, " ".join(prof.names)))


def holds_attribute(attribute: str, sentence: str) -> bool:
    """Whether the sentence names the attribute (or a word of its family) or gives it as a figure in its unit; a
    measured attribute ("population") only with a figure that is not a share of it ("a quarter of the population"
    gives no population)."""
    named = term_in(stem(attribute), set(terms(sentence)))
    if stem(attribute) in _UNITS:
        return measured(attribute, sentence) or (named and bool(quantities(sentence, shares=False)))
    return named


def measured(attribute: str, sentence: str) -> bool:
    """Whether the sentence gives the attribute as a figure in its unit ("some 2,500 people" is a population, "about
    1,800 kilometres long" a length), though it never names the attribute."""
    units = _UNITS.get(stem(attribute))
    if not units or not quantities(sentence, shares=False):  # "a quarter of the people" measures no population
        return False
    return bool(re.search(rf"\b(?:{units})\b", sentence, re.I))


def measure_asked(question: str, sentence: str) -> bool:
    """Whether a "how large/long/far/old ...?" question meets a figure in a unit of that dimension in the sentence
    ("about 15,100 square kilometres" for "How large is ...?"), which answers it without repeating the adjective."""
    m = _HOW_MEASURE.search(question)
    return bool(m) and any(measured(d, sentence) for d in _DIMENSIONS[m.group(1).lower()])


def kind_noun(question: str) -> str | None:
    """The kind of body a "which ...?" question asks the name of ("Which *company* ...?", "which mining firm"): a
    name answers it only where the sentence says it is one ("Narsaq" is no company); None for other questions."""
    m = _KIND_NOUN.search(question) or _GROUP_NOUN.search(question) or _HOW_MANY.search(question)
    word = m.group(1).lower() if m else None
    return None if not word or word in STOPWORDS or stem(word) in FRAMING | _GENERIC else word


def asks_share(question: str) -> bool:
    """Whether the question asks what share of a whole something is ("What portion of Greenlanders ...?")."""
    return bool(_ASKS_PROPORTION.search(question))


def speech(text: str) -> set[str]:
    """The words of a text that report what someone said or thought ("said", "argued", "according")."""
    return set(words(text)) & REPORTING


def speech_verb(word: str) -> bool:
    """Whether a question's verb reports speech, in any of its forms ("claim", "explained")."""
    return stem(word) in SPEECH or word in REPORTING


def reasons(sentence: str) -> list[str]:
    """The words of a sentence that give a reason or purpose ("because", "in order to", "in response to")."""
    return [m.group(0) for m in _REASON.finditer(sentence)]


def inflects(verb: str, word: str) -> bool:
    """Whether the word is an inflection of the verb: "logged" of "log", "stopping" of "stop", "making" of "make",
    "supplies" of "supply" (the light stemmer leaves "logg" and "log" apart), "held" of "hold" and "holds" of
    "held" (irregular verbs)."""
    if word in irregular_forms(verb):
        return True
    return any(_regular(base, word) for base in {verb} | irregular_forms(verb))


def _regular(verb: str, word: str) -> bool:
    """Whether the word is the verb with a regular ending (-s, -es, -d, -ed, -ing, a doubled consonant, y -> i)."""
    bases = {verb, verb + verb[-1:], verb.removesuffix("e"), verb[:-1] + "i" if verb.endswith("y") else verb}
    return word == verb or any(word == b + ending for b in bases for ending in ("s", "es", "d", "ed", "ing"))


def dates(text: str) -> str:
    """The years and months a text names: the setting a sentence of it inherits ("the election of August 2020" is
    the one "80.1 percent of the vote" in the next sentence belongs to)."""
    return " ".join(m.group(0) for m in _DATE.finditer(text))


def quantities(sentence: str, *, shares: bool = True) -> list[str]:
    """Numbers, percentages and number words; a year ("2014") or a day of the month ("9 August") is no quantity,
    and with `shares=False` nor is a share of a whole ("a third", "80 percent")."""
    out = []
    share_spans = [] if shares else [m.span() for m in _PROPORTION.finditer(sentence)]
    for m in _QUANTITY.finditer(sentence):
        token, after = m.group(0), sentence[m.end():m.end() + 12]
        if any(lo <= m.start() < hi for lo, hi in share_spans):
            continue
        if re.fullmatch(r"(?:1[5-9]\d\d|20\d\d)", token) or (token.isdigit() and re.match(rf"\s+(?:{_MONTHS})\b",
                                                                                        after)):
            continue
        out.append(token)
    return out


def new_names(sentence: str, question: str) -> list[str]:
    """Capitalised names in the sentence that the question does not already contain, under any of its names: the
    words spelling out one of its acronyms ("Organization for Security and Co-operation in Europe" for "OSCE") and
    another name of a country it names ("Azerbaijan" for "Baku") are not new."""
    named = entities(question)
    asked = set(terms(" ".join(f for n in named for f in forms(n)))) | _CALENDAR
    spelled = {w for n in named for word in n.split() for w in expansions(word, sentence)}
    return [name for name in entities(sentence)
            if not all(term_in(t, asked) for t in terms(name)) and not set(name.split()) <= spelled]


@dataclass(frozen=True, kw_only=True)
class Profile:
    """What a question is about (names, key terms with their surface words), its focus and answer type."""

    names: list[str]
    key_words: dict[str, str]
    focus: str | None
    kind: str | None
    subjects: tuple[str, ...] = ()
    predicate: str | None = None
    attribute: str | None = None
    explainer: str | None = None
    why: bool = False


def predicate(question: str) -> str | None:
    """The verb a wh-question asks about its named subject ("What was Atambayev *charged* with?", "What post did
    Zas *hold*?"): after "did/does/do" and a proper name a word not ending in -s (a noun would: "did Azerbaijani
    forces"), after "was/has/..." a participle; None when there is no such frame or the verb only frames the
    question ("say", "do", "have")."""
    m = _PREDICATE.search(question)
    word = (m.group(1) or m.group(2)) if m else None
    if not word or word in STOPWORDS or stem(word) in FRAMING:
        return None
    if stem(word) in _CONTROL and _CLAUSE.match(question, m.end()):
        return None  # "Why did Vilnius decide it needed ...?": what is asked is the clause, not the deciding
    return word


def attribute(question: str) -> str | None:
    """The attribute a "What was the N of X?" (or follow-up "And what about its N?") question asks for ("turnout",
    "population", "capital"): the answer must name it; None for other forms and for nouns that only frame a question
    ("role", "reason", "share", "number")."""
    m = _ATTRIBUTE.search(question)
    word = m.group(1).lower() if m else None
    framing = stem(word) in FRAMING | _ABSTRACT if word else True
    if framing or word in STOPWORDS or any(p.search(f"what {word}") for _, p in _COMPILED):
        return None
    return word


def explainer(question: str) -> str | None:
    """Who a "How did X explain/justify ...?" or "What did X say ...?" question asks for an explanation or words from
    ("Azerbaijan"); None for other questions."""
    m = _EXPLAIN.search(question)
    return (m.group(1) or m.group(2)).strip() if m else None


def is_compound(question: str) -> bool:
    """Whether the question asks two things ("Who signed it, and how long ...?")."""
    joint = _COMPOUND.search(question)
    return bool(joint and _WH.search(question[:joint.start()]))


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
    single = not is_compound(question)
    return Profile(names=names, key_words=key_words, focus=focus, kind=expected_type(question), subjects=subjects,
                   predicate=predicate(question), attribute=attribute(question) if single else None,
                   explainer=explainer(question) if single else None, why=single and bool(_WHY.search(question)))


def term_in(term: str, vocabulary: set[str]) -> bool:
    """Exact term match, a shared stem of 5+ letters ("Belarus" ~ "Belarusian", "Kyrgyz" ~ "Kyrgyzstan"), a
    4-letter name and its demonym ("Asia" ~ "Asian", "Iran" ~ "Iranian"), or a part of a hyphenated word
    ("Karabakh" in "Nagorno-Karabakh"), and a hyphenated term whose parts all are ("Arktika class")."""
    if term in vocabulary or any(same_stem(term, v) or ("-" in v and term in v.split("-")) for v in vocabulary):
        return True
    parts = [p for p in term.split("-") if p]
    return len(parts) > 1 and all(term_in(p, vocabulary) for p in parts)


def name_in(name: str, vocabulary: set[str]) -> bool:
    """A (possibly multi-word) name is present when all its terms are, or all the terms of another name of the same
    country ("Baku" is present where "Azerbaijan" is)."""
    return any(all(term_in(t, vocabulary) for t in terms(form)) for form in forms(name))


def carries_subject(prof: Profile, sentence: str, passage: str = "", *,
                    close: Callable[[list[str], str], bool] | None = None) -> bool:
    """The sentence names one of the question's subjects (its specific names), or its passage does and the sentence
    holds one of the question's key terms (or, with `close`, a word close in meaning to one); for a question with no
    names, the sentence holds one of its key terms."""
    vocabulary = set(terms(sentence))
    if prof.subjects:
        if any(name_in(n, vocabulary) for n in prof.subjects):
            return True
        if not any(name_in(n, set(terms(passage))) for n in prof.subjects):
            return False
        held = any(term_in(t, vocabulary) for t in prof.key_words)
        return held or (close is not None and bool(prof.key_words) and close(list(prof.key_words.values()), sentence))
    return not prof.key_words or any(term_in(t, vocabulary) for t in prof.key_words)
