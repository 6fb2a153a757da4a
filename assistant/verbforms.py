"""Irregular English verbs: base, past tense and past participle of each (a closed class of the language).

The light stemmer matches "charged" with "charge" but not "held" with "hold" or "paid" with "pay"; without this
table the answerability stage neither reads "What post was Zas *held* ...?" as asking about a verb nor sees that
"Zas held the post" holds the verb of "What post did Zas *hold*?". Forms that are also common other words ("left",
"found", "saw", "lay") are included: they are only ever compared with a verb the question asks about.
"""

from __future__ import annotations

import functools

# base past participle; alternatives joined by "/"
_TABLE = """
arise arose arisen; awake awoke awoken; be was/were been; bear bore borne/born; beat beat beaten; become became become;
begin began begun; bend bent bent; bet bet bet; bid bid bid; bind bound bound; bite bit bitten; bleed bled bled;
blow blew blown; break broke broken; breed bred bred; bring brought brought; build built built; burn burnt burnt;
burst burst burst; buy bought bought; cast cast cast; catch caught caught; choose chose chosen; cling clung clung;
come came come; cost cost cost; creep crept crept; cut cut cut; deal dealt dealt; dig dug dug; do did done;
draw drew drawn; dream dreamt dreamt; drink drank drunk; drive drove driven; eat ate eaten; fall fell fallen;
feed fed fed; feel felt felt; fight fought fought; find found found; flee fled fled; fling flung flung; fly flew flown;
forbid forbade forbidden; forecast forecast forecast; foresee foresaw foreseen; forget forgot forgotten;
forgive forgave forgiven; freeze froze frozen; get got got/gotten; give gave given; go went gone; grind ground ground;
grow grew grown; hang hung hung; have had had; hear heard heard; hide hid hidden; hit hit hit; hold held held;
hurt hurt hurt; keep kept kept; kneel knelt knelt; know knew known; lay laid laid; lead led led; lean leant leant;
leap leapt leapt; learn learnt learnt; leave left left; lend lent lent; let let let; lie lay lain; light lit lit;
lose lost lost; make made made; mean meant meant; meet met met; mislead misled misled; overcome overcame overcome;
overtake overtook overtaken; overthrow overthrew overthrown; pay paid paid; prove proved proven; put put put;
quit quit quit; read read read; rebuild rebuilt rebuilt; repay repaid repaid; rid rid rid; ride rode ridden;
ring rang rung; rise rose risen; run ran run; say said said; see saw seen; seek sought sought; sell sold sold;
send sent sent; set set set; shake shook shaken; shed shed shed; shine shone shone; shoot shot shot; show showed shown;
shrink shrank shrunk; shut shut shut; sing sang sung; sink sank sunk; sit sat sat; sleep slept slept; slide slid slid;
speak spoke spoken; speed sped sped; spend spent spent; spin spun spun; split split split; spread spread spread;
spring sprang sprung; stand stood stood; steal stole stolen; stick stuck stuck; sting stung stung; strike struck struck;
strive strove striven; swear swore sworn; sweep swept swept; swim swam swum; swing swung swung; take took taken;
teach taught taught; tear tore torn; tell told told; think thought thought; throw threw thrown; thrust thrust thrust;
undergo underwent undergone; understand understood understood; undertake undertook undertaken; uphold upheld upheld;
upset upset upset; wake woke woken; wear wore worn; weave wove woven; weep wept wept; win won won; wind wound wound;
withdraw withdrew withdrawn; withhold withheld withheld; withstand withstood withstood; write wrote written
"""


@functools.cache
def _forms() -> dict[str, frozenset[str]]:
    """Every form of every irregular verb, mapped to the set of all forms of its verb(s)."""
    index: dict[str, set[str]] = {}
    for entry in _TABLE.replace("\n", " ").split(";"):
        parts = entry.split()
        family = {form for part in parts for form in part.split("/")}
        for form in family:
            index.setdefault(form, set()).update(family)
    return {form: frozenset(family) for form, family in index.items()}


@functools.cache
def participles() -> frozenset[str]:
    """The irregular past participles ("held", "paid", "led", "taken"), for reading "was X held" as a verb."""
    out = set()
    for entry in _TABLE.replace("\n", " ").split(";"):
        parts = entry.split()
        if len(parts) == 3:
            out.update(parts[2].split("/"))
    return frozenset(out)


def irregular_forms(word: str) -> frozenset[str]:
    """All listed forms of the irregular verb the word is a form of ("held" -> hold, held); empty for others."""
    return _forms().get(word, frozenset())
