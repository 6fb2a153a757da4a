"""The answerability stage: after sentences are chosen, decide whether they answer the question at all.

Similarity finds the nearest material; it cannot tell "the sources discuss Belaruskali" from "the sources say how
many people Belaruskali employs". This stage checks, deterministically and offline (the shipped embedding model
is the only model used), that
  0. the question is one in words, not code, markup or bare punctuation (check `question_form`),
  1. every name in the question occurs somewhere in the corpus           (check `unknown_names`),
  2. the names occur in the chosen sentences or their passages           (check `subject`),
  3. one chosen sentence carries what is asked: the question's key terms (check `key_terms`), and the sentences
     themselves, not only their passages, hold a word of the question or are close to it in meaning (check
     `relevance`: a model copying a stray fragment of an on-topic passage, such as an injected "PWNED", fails it),
  4. a question asking what its named subject did ("What was X charged with?") gets a sentence holding that verb
     (irregular forms too: "held" for "hold"; any verb of saying for one) or a word close to it (check `predicate`),
  5. what the question relates to its subject is in the quoted sentences: the attribute it asks for ("What was the
     *turnout* ...?", check `attribute`), what X said for "How did X explain ...?" (check `reported_speech`), a
     reason where "Why did X do V?" is answered with a sentence stating V (check `reason`),
  6. a question asking for a number, date, person, place or names gets a sentence holding one next to the
     subject; "how many X" not from figures that count something else in a sentence not naming the subject
                                                                        (check `answer_type`).
A name also counts under another name of the same country ("Baku" for Azerbaijan: assistant/aliases.py).
A failure of 0, 1, 2 or `relevance` declines; a failure of 3, 4, 5 or 6 when the subject is there gives a partial answer
("The sources mention X but do not say Y", with the passage quoted), which counts as declined. Every check is
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from langchain_core.runnables import RunnableSerializable
from pydantic import ConfigDict

from .aliases import forms
from .embeddings import MiniLMEmbeddings
from .models import Check, Draft
from .prompts import load_prompt
from .questions import (
    TYPE_LABELS,
    Profile,
    asks_share,
    carries_subject,
    counted,
    counts_asked,
    counts_other,
    dates,
    elsewhere,
    form_problem,
    holds_attribute,
    inflects,
    kind_noun,
    listed,
    measure_asked,
    name_in,
    new_names,
    profile,
    reasons,
    speech,
    speech_verb,
    term_in,
    typed_items,
)
from .support import parse_markers
from .text import content_words, stem, surroundings, terms, words


class AnswerabilityCheck(RunnableSerializable[Draft, Draft]):
    """The LCEL stage between the answerer and citation validation; see the module docstring."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    embeddings: MiniLMEmbeddings
    idf: Callable[[str], float]
    in_corpus: Callable[[str], bool]
    min_key_coverage: float = 0.2
    soft_match: float = 0.55
    min_semantic: float = 0.4
    min_typed_coverage: float = 0.5
    predicate_match: float = 0.55
    subject_match: float = 0.6
    name: str = "answerability"

    def invoke(self, input: Draft, config=None, **kwargs) -> Draft:
        """Record every check on the draft; decline or turn it into a partial answer when one fails."""
        draft = input
        problem = form_problem(draft.question)
        if problem:
            return _decline(draft, Check(check="question_form", passed=False, detail=problem))
        prof = profile(draft.search_query or draft.question, self.idf)
        unknown = [n for n in prof.names if not self.known(n)]
        draft.unmentioned = unknown
        if unknown:
            return _decline(draft, Check(check="unknown_names", passed=False, terms=tuple(unknown),
                                         detail=f"the sources never mention {_join(unknown)}"))
        draft.checks.append(Check(check="unknown_names", passed=True, terms=tuple(prof.names),
                                  detail="every name in the question occurs in the sources" if prof.names else
                                  "the question names no one"))
        if draft.refused:
            return draft
        return self.assess(draft, prof)

    def known(self, name: str) -> bool:
        """Whether the corpus mentions the name, or another name of the same country ("Azerbaijan" for "Baku")."""
        return any(all(self.in_corpus(t) for t in terms(form)) for form in forms(name))

    def assess(self, draft: Draft, prof: Profile) -> Draft:
        """Subject, key terms and answer type of the chosen sentences."""
        chosen = [(s, cited) for s, cited in parse_markers(draft.text) if cited]
        if not chosen:
            return draft  # nothing cited: citation validation declines it and says so
        quoted = " ".join([s for s, _ in chosen] + [_text(draft, ns, s) for s, ns in chosen])
        context = set(terms(quoted))
        missing = [n for n in prof.subjects or prof.names if not name_in(n, context)]
        if missing:
            return _decline(draft, Check(check="subject", passed=False, terms=tuple(missing),
                                         detail=f"the quoted passages do not mention {_join(missing)}"))
        mentioned = _join(prof.names) or "the question's terms"
        draft.checks.append(Check(check="subject", passed=True, terms=tuple(prof.names),
                                  detail=f"the quoted passages mention {mentioned}"))
        share, missed = self.key_coverage(prof, quoted)
        closest = self.closest(draft.search_query or draft.question, [s for s, _ in chosen])
        if closest < self.min_semantic and not self.says_anything(prof, [s for s, _ in chosen]):
            return _decline(draft, Check(check="relevance", passed=False, detail=(
                f"no quoted sentence holds a word of the question or is close to it in meaning (closest cosine "
                f"{closest:.2f}): the passage is on topic, the sentences are not")))
        measured = f"they cover {share:.0%} of the key terms; the closest sentence has cosine {closest:.2f}"
        if share < self.min_key_coverage and closest < self.min_semantic:
            return self.partial(draft, prof, chosen, Check(
                check="key_terms", passed=False, terms=tuple(missed),
                detail=f"the quoted passages say nothing about {_quoted(missed)} ({measured})"))
        draft.checks.append(Check(check="key_terms", passed=True, terms=tuple(prof.key_words.values()),
                                  detail=f"the quoted passages carry the question: {measured}"))
        if prof.predicate and not self.holds(prof.predicate, [s for s, _ in chosen]):
            return self.partial(draft, prof, chosen, Check(
                check="predicate", passed=False, terms=(prof.predicate,),
                detail=f"no quoted sentence holds the asked verb “{prof.predicate}” or a word close to it"))
        failed = self.asked_relation(prof, [s for s, _ in chosen], [_text(draft, c, s) for s, c in chosen]) or \
            self.asked_time(draft, chosen)
        if failed:
            return self.partial(draft, prof, chosen, failed)
        setting = [f"{s} {dates(_text(draft, cited, s))}" for s, cited in chosen]
        return self.check_type(draft, prof, chosen, [self.key_coverage(prof, s) for s in setting])

    @staticmethod
    def asked_time(draft: Draft, chosen: list) -> Check | None:
        """For a question naming a year ("What happened in Kyrgyzstan in October 2020?"), a failed check when no
        quoted sentence is set then: one naming the year, or naming no year in a paragraph (or a document title or
        heading that is not a survey of several subjects) that names it; "since 1994" tells how long, not when. A
        sentence about April 2021 is about another time, however close its words."""
        asked = set(_YEAR.findall(draft.search_query or draft.question))
        if not asked:
            return None
        for sentence, cited in chosen:
            own = set(_SET_IN.findall(sentence))
            if own & asked or (not own and asked & set(_YEAR.findall(_text(draft, cited, sentence, surveys=False)))):
                return None
        years = " ".join(sorted(asked))
        return Check(check="time", passed=False, terms=tuple(sorted(asked)),
                     detail=f"the question asks about {years}; no quoted sentence is set then")

    def asked_relation(self, prof: Profile, sentences: list[str], contexts: list[str]) -> Check | None:
        """The failed check, if any, of what the question relates to its subject: the attribute it asks for
        ("What was the *turnout* ...?") named in a quoted sentence about the subject; for "How did X explain ...?"
        a quoted sentence naming X and reporting what was said; for "Why did X do V?" a reason wherever a quoted
        sentence states V."""
        if prof.attribute and not any(holds_attribute(prof.attribute, s) and self.placed(prof, s, c)
                                      for s, c in zip(sentences, contexts, strict=True)):
            return Check(check="attribute", passed=False, terms=(prof.attribute,), detail=(
                f"the question asks for the “{prof.attribute}”; no quoted sentence names it, a word of its family or "
                "a figure in its unit"))
        if prof.explainer and not any(speech(s) and name_in(prof.explainer, set(terms(s))) for s in sentences):
            return Check(check="reported_speech", passed=False, terms=(prof.explainer,), detail=(
                f"the question asks what {prof.explainer} said; no quoted sentence naming "
                f"{prof.explainer} reports what was said"))
        stating = [s for s in sentences if prof.why and prof.predicate and self.holds(prof.predicate, [s])]
        if stating and not any(reasons(s) for s in sentences):
            return Check(check="reason", passed=False, terms=(prof.predicate,), detail=(
                f"the question asks why; the quoted sentences state “{prof.predicate}” but give no reason for it"))
        return None

    def placed(self, prof: Profile, sentence: str, context: str) -> bool:
        """Whether a sentence stands where the question's subject is: it or its passage names a subject and it names
        nothing else (for a question naming none, it carries a key term)."""
        if not prof.subjects:
            return carries_subject(prof, sentence, context, close=self.close)
        named = set(terms(f"{sentence}\n{context}"))
        return any(name_in(n, named) for n in prof.subjects) and not elsewhere(sentence, prof)

    def says_anything(self, prof: Profile, sentences: list[str]) -> bool:
        """Whether the sentences themselves (not their passages) hold one of the question's names or key terms, as
        the word or a close one; a question with neither asks nothing these could miss."""
        if not prof.names and not prof.key_words:
            return True
        vocabulary = set(terms(" ".join(sentences)))
        if any(name_in(n, vocabulary) for n in prof.names):
            return True
        return bool(prof.key_words) and self.key_coverage(prof, " ".join(sentences))[0] > 0

    def check_type(self, draft: Draft, prof: Profile, chosen: list, coverage: list) -> Draft:
        """A question for a number, date, person, place or names needs one next to its subject; "which company"
        needs a sentence saying what it names is one (the word or a close one)."""
        if prof.kind is None:
            return draft
        question = draft.search_query or draft.question
        focused = replace(prof, subjects=(prof.focus,)) if prof.focus else prof
        noun = kind_noun(question)
        for (sentence, cited), (share, _) in zip(chosen, coverage, strict=True):
            items = typed_items(sentence, prof.kind, question)
            tally = counted(sentence, question)
            about = share >= self.min_typed_coverage or bool(tally) or (bool(items) and asks_share(question)) or \
                measure_asked(question, sentence)
            said_to_be = not noun or self.holds(noun, [sentence])
            if items and about and said_to_be and not self.counts_elsewhere(prof, question, sentence, tally) and \
                    carries_subject(focused, sentence, _text(draft, cited, sentence, surveys=False),
                                    close=self.close):
                draft.checks.append(Check(check="answer_type", passed=True, terms=tuple(items[:5]),
                                          detail=f"asked for {prof.kind}; found {_join(items[:3])}"))
                return draft
        return self.partial(draft, prof, chosen, Check(
            check="answer_type", passed=False, terms=(prof.kind,),
            detail=f"asked for {prof.kind}; no quoted sentence about the subject holds one"))

    @staticmethod
    def counts_elsewhere(prof: Profile, question: str, sentence: str, tally: list[str]) -> bool:
        """For "How many X ...?" about a named subject, a sentence whose figures all count something else ("several
        thousand soldiers" for civilians) and which does not name the subject itself gives no count of X there."""
        if not prof.focus or tally or not counts_asked(question):
            return False
        return counts_other(sentence) and not name_in(prof.focus, set(terms(sentence)))

    def close(self, wanted: list[str], sentence: str) -> bool:
        """Whether the sentence holds a word close in meaning to one of the wanted key words."""
        return self.embeddings.close_word(wanted, sentence, self.subject_match)

    def key_coverage(self, prof: Profile, sentence: str) -> tuple[float, list[str]]:
        """IDF-weighted share of the question's key terms the sentence carries, exactly or as a close word."""
        if not prof.key_words:
            return 1.0, []
        vocabulary = set(terms(sentence))
        absent = [t for t in prof.key_words if not term_in(t, vocabulary)]
        absent = self.soft_absent(prof, absent, sentence)
        weights = {t: self.idf(t) for t in prof.key_words}
        total = sum(weights.values()) or 1.0
        return 1.0 - sum(weights[t] for t in absent) / total, [prof.key_words[t] for t in absent]

    def holds(self, word: str, sentences: list[str]) -> bool:
        """Whether the sentences hold the word, as itself, a word of its family (irregular forms included), another
        verb of saying when it is one, or a word whose embedding cosine with it is at least predicate_match."""
        text = " ".join(sentences)
        vocabulary = set(terms(text))
        if term_in(stem(word), vocabulary) or any(inflects(word, w) for w in words(text)):
            return True
        if speech_verb(word) and speech(text):
            return True  # verbs of saying report alike: "asserted" answers "What did X claim?"
        return self.embeddings.close_word([word], text, self.predicate_match)

    def closest(self, question: str, sentences: list[str]) -> float:
        """Cosine similarity between the question and the quoted sentence closest to it in meaning."""
        vectors = self.embeddings.encode_cached([question] + sentences)
        return float((vectors[1:] @ vectors[0]).max())

    def soft_absent(self, prof: Profile, absent: list[str], sentence: str) -> list[str]:
        """Of the absent key terms, those with no word of the sentence close in meaning (embedding cosine)."""
        content = content_words(sentence)
        if not absent or not content:
            return absent
        vectors = self.embeddings.encode_cached([prof.key_words[t] for t in absent] + content)
        similarity = vectors[:len(absent)] @ vectors[len(absent):].T
        return [t for t, row in zip(absent, similarity, strict=True) if row.max() < self.soft_match]

    def partial(self, draft: Draft, prof: Profile, chosen: list, check: Check) -> Draft:
        """"The sources mention X but do not say Y", quoting the sentence that mentions X; counts as declined."""
        draft.checks.append(check)
        held = [w for t, w in prof.key_words.items() if w not in check.terms]
        subject = _join(prof.names) or _quoted(held[:3])
        if not subject:
            return _decline(draft, Check(check="subject", passed=False, detail="the quoted sentences carry none of "
                                         "the question's key terms"))
        wanted = _wanted(prof, check)
        mention = next((c for c in chosen if carries_subject(prof, c[0])), None) or \
            next((c for c in chosen if carries_subject(prof, c[0], _text(draft, c[1], c[0]))), chosen[0])
        markers = "".join(f" [{n}]" for n in mention[1])
        draft.text = f"The sources mention {subject} but do not say {wanted}. {mention[0]}{markers}"
        draft.refused, draft.partial, draft.decision = True, True, "partial"
        return draft


_YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")
_SET_IN = re.compile(r"(?<!\bsince )\b(?:1[6-9]|20)\d\d\b")  # the years a sentence is set in


def _wanted(prof: Profile, check: Check) -> str:
    """What a partial answer says the sources leave out, in the words of the check that found it missing."""
    if check.check == "time":
        return f"what happened in {_join(list(check.terms))}"
    if check.check == "answer_type":
        return TYPE_LABELS[prof.kind]
    if check.check == "reported_speech":
        return f"what {_join(list(check.terms))} said"
    if check.check == "reason":
        return "why"
    return f"anything about {_quoted(list(check.terms))}"


def _decline(draft: Draft, check: Check) -> Draft:
    """A refusal citing nothing, with the check that caused it."""
    draft.checks.append(check)
    draft.text, draft.refused, draft.partial, draft.decision = load_prompt("refusal"), True, False, "declined"
    return draft


def _join(items: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    items = list(dict.fromkeys(items))
    return " and ".join(items) if len(items) < 3 else ", ".join(items[:-1]) + " and " + items[-1]


def _quoted(items: list[str]) -> str:
    """Words in typographic quotes, joined."""
    return _join([f"“{w}”" for w in items])


def _text(draft: Draft, cited: list[int], sentence: str, *, surveys: bool = True) -> str:
    """What a sentence is about, from the passages it cites: each one's title (what all of the document is about),
    the heading its passage stands under, and the paragraph the sentence stands in (a passage can hold other
    paragraphs on other things). With `surveys=False` a title or heading listing three or more names is left out:
    "Crises in Belarus, Nagorno-Karabakh and Kyrgyzstan" puts none of them next to a figure or name in the text, so it
    cannot place a typed answer."""
    chunks = [draft.passages[n - 1].chunk for n in cited if 1 <= n <= len(draft.passages)]
    return "\n".join("\n".join([*(h for h in (c.title, c.section) if surveys or not _survey(h)),
                                 surroundings(c.text, sentence)]) for c in chunks)


def _survey(title: str) -> bool:
    """Whether a title lists three or more names (a survey of several subjects, not one)."""
    return len(listed(title, new_names(title, ""))) >= 3
