"""The extractive answer: pick source sentences, cite them, set the short answer, or abstain.

There is no generator. Every sentence of the top passages is scored against the question
with a few features (dense similarity, weighted coverage of the question's words, whether it
holds the kind of thing asked for, the passage's rank), combined by weights stored in
``selector.json`` (fitted on questions, see ``scripts/train_selector.py``). The best sentence
is taken, with a neighbour when it needs one ("It ..." needs the sentence before; a "why"
whose cause is in the next sentence). Quotes are slices of the document text, so
``document.text[c.char_start:c.char_end] == c.quote`` holds by construction.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Sequence
from pathlib import Path

import numpy as np

from qa.embed import BASE_MODEL, is_default_model
from qa.lexical import content_terms
from qa.places import GAZETTEER, LEADER_NAMES as _LEADER_NAMES, place_votes, places_in
from qa.question import Question
from qa.sentences import strip_footnotes
from qa.store import LoadedIndex
from qa.types import Answer, Citation, Hit, Span

NOT_FOUND = "The reports don't answer this question."
# Abstention threshold for a model the selector was not fitted with: its confidences are not
# calibrated, so qa leans to answering (with a "low" confidence) rather than to silence.
UNCALIBRATED_THRESHOLD = 0.1
# Question kinds whose answer is a span of a known shape (a number, a date, a name).
_TYPED = ("COUNT", "NUMBER", "PERCENT", "MONEY", "DATE", "PERSON", "PLACE", "ORG", "NAME")

MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
_STOP = r"(?:and|or|the|of|in|on|at|to|for|by|with|from|as|that|which|who|was|were|is|are|has|had|have|per|a|an|than|while|whereas|but)"
NUM = r"\d+(?:[.,]\d+)*(?:\s\d{3})*"
SCALE = r"(?:\s?(?:million|billion|trillion|thousand|hundred|bn|m)\b)?"
PATTERNS: dict[str, re.Pattern[str]] = {
    "PERCENT": re.compile(rf"{NUM}\s?(?:%|per ?cent|percent(?:age points?)?)", re.I),
    "MONEY": re.compile(rf"(?:US\s?)?[$€£¥]\s?{NUM}{SCALE}|{NUM}{SCALE}\s(?:dollars|euros|rubles|roubles|som|tenge|somoni|USD|EUR)", re.I),
    "DATE": re.compile(
        rf"\b(?:(?:early|mid|late|mid-late)[- ])?(?:\d{{1,2}}(?:st|nd|rd|th)?(?:\s?[-–]\s?\d{{1,2}})?\s(?:of\s)?{MONTHS}(?:\s\d{{4}})?"
        rf"|{MONTHS}\s\d{{1,2}}(?:,\s\d{{4}})?|(?:early|mid|late|mid-late)[- ]{MONTHS}|{MONTHS}(?:\s\d{{4}})?|(?:19|20)\d{{2}})\b",
        re.I,
    ),
    "NUMBER": re.compile(
        rf"\b(?:over |more than |nearly |almost |about |around |up to |at least |some |approximately )?{NUM}{SCALE}(?:\s?[-–]\s?{NUM})?"
        rf"(?:\s(?!(?:{MONTHS}|{_STOP})\b)(?:[a-z]+(?:-[a-z]+)?))?|\b(?:(?:[Oo]ver|[Mm]ore than|[Nn]early|[Aa]lmost|[Aa]bout|[Aa]round|[Uu]p to|[Aa]t least|[Ss]ome|[Aa]pproximately) )?"
        rf"(?:[Oo]ne|[Tt]wo|[Tt]hree|[Ff]our|[Ff]ive|[Ss]ix|[Ss]even|[Ee]ight|[Nn]ine|[Tt]en|[Ee]leven|[Tt]welve|[Tt]wenty|[Tt]hirty|[Ff]orty|[Ff]ifty|[Hh]undreds|[Tt]housands|[Dd]ozens)\b"
        rf"(?:\s(?!(?:{MONTHS}|{_STOP})\b)[a-z]+)?"
    ),
}
QUOTED = re.compile(r"[“\"‘']([^“”\"‘’']{2,60})[”\"’'](?!\w)")
CAPS = re.compile(r"\b(?:[A-Z][\w’'.-]*[A-Za-z]|[A-Z]\.)(?:\s(?:of|the|de|bin|al|von|van|and)?\s?[A-Z][\w’'.-]*[A-Za-z])*")
ANAPHOR = re.compile(r"^(?:[“\"(]?)(?:It|This|These|That|Those|They|He|She|His|Her|Their|Its|Such|Both|The two|The latter|The former|However|But|Thus|Therefore|Consequently|As a result|In response|Later|Meanwhile)\b")
CAUSE = re.compile(r"\b(because|due to|as a result|in response|over fears|fear|in order to|so that|motivated|aimed|reason|since|driven|stemm|owing|caused|led to|prompted|to avoid|to prevent|seeking|seeks|given)\b", re.I)
NOT_NAMES = {
    "The", "A", "An", "On", "In", "At", "By", "For", "From", "To", "Of", "And", "But", "However", "This", "These", "That",
    "It", "He", "She", "They", "President", "Minister", "Foreign", "Prime", "Deputy", "Mr", "Ms", "Dr",
}

# What a comparison weighs: time ("which came first") or size ("which was deadlier").
_WHEN_COMPARED = re.compile(r"\b(first|earlier|later|sooner|before|after|most recent|last)\b", re.I)
_HOW_MUCH_COMPARED = re.compile(r"\b(deadlier|more|less|fewer|larger|bigger|smaller|higher|lower|greater|most|least)\b", re.I)

_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d{2}(?![\d])")

# Capitalised words a count may follow ("Over 300 people", "Some 35 tons").
_NUMBER_LEADS = {"Over", "About", "Around", "Nearly", "Almost", "Some", "Only", "Just", "Approximately", "Roughly",
                 "Since", "Until", "Between", "With", "Of", "At", "Least", "Up", "Than", "Total"}

# Capitalised question words that are not names ("What", "According", ...).
_NOT_ENTITY = NOT_NAMES | {
    "What", "Which", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "Did", "Does", "Do", "Is", "Are",
    "Was", "Were", "Has", "Have", "Had", "Will", "Would", "Can", "Could", "According", "If", "Name", "List",
    "After", "Before", "During", "As", "With", "Under", "Since", "Besides", "Apart", "Other", "Than", "Or",
}


@dataclass(frozen=True)
class Entities:
    """What a question names: places (canonical), other names (stemmed words) and numbers."""

    places: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]

    @property
    def count(self) -> int:
        return len(self.places) + len(self.names) + len(self.numbers)

    def share_in(self, text: str) -> float:
        """Share of the entities that ``text`` mentions too (1.0 when the question names none)."""
        if not self.count:
            return 1.0
        got = 0
        if self.places:
            got += len(self.places & places_in(text))
        if self.names:
            got += len(self.names & set(content_terms(text)))
        if self.numbers:
            got += sum(1 for n in self.numbers if re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", text))
        return got / self.count

    def place_conflict(self, text: str) -> float:
        """1.0 when ``text`` lacks a place the question names and names another instead
        ("aid sent by Kazakhstan" answered by "aid ... from Uzbekistan"), else 0.0."""
        if not self.places:
            return 0.0
        there = places_in(text)
        return 1.0 if (self.places - there) and (there - self.places) else 0.0

    def year_conflict(self, text: str) -> float:
        """1.0 when ``text`` lacks a year the question names and gives another instead
        ("invested in 2020" answered by "in 2021 the EBRD invested $690 million"), else 0.0."""
        asked = {n for n in self.numbers if _YEAR.fullmatch(n)}
        if not asked:
            return 0.0
        there = set(_YEAR.findall(text))
        return 1.0 if (asked - there) and (there - asked) else 0.0


@lru_cache(maxsize=4096)
def question_entities(question: str) -> Entities:
    """The places, names and numbers of ``question``; a passage that lacks them rarely answers it."""
    places = frozenset(place_votes(question))
    names: set[str] = set()
    for m in CAPS.finditer(question):
        words = [w for w in m.group(0).split() if w not in _NOT_ENTITY]
        phrase = " ".join(words)
        if not phrase or place_votes(phrase):
            continue
        names.update(content_terms(phrase))
    numbers = frozenset(re.findall(r"\d+(?:[.,]\d+)*", question))
    return Entities(places, frozenset(names), numbers)


_SELECTOR_PATH = Path(__file__).with_name("selector.json")


@dataclass(frozen=True)
class AnswerSettings:
    """Knobs of the selector (the weights live in ``selector.json``)."""

    passages: int = 6  # top passages whose sentences compete
    max_sentences: int = 2
    second_margin: float = 1.5  # add the runner-up sentence when its score is this close (chosen on dev: the most containment at a median of at most 45 words)
    # ... and, further behind (up to pair_margin), when both sentences together are at most
    # pair_words long (dev: containment 0.745 -> 0.761 at a median of 45 words; a plain wider
    # margin of 2.0 reached 0.758 at 47 words).
    pair_margin: float = 5.0
    pair_words: int = 50
    threshold: float | None = None  # None: the calibrated value from selector.json
    # A comparison's sentence for each side: score + compare_weight * coverage of the side's
    # words + compare_type if it gives a date ("which came first") or a number ("which was
    # deadlier"). Chosen on dev's 16 comparisons: 7 -> 12 contain the answer (8: 11).
    compare_weight: float = 16.0
    compare_type: float = 2.0
    # No answer from passages less similar to the question than this (cosine). None: the
    # value fitted with the selector (selector.json), for the model it was fitted with only:
    # another model's cosines live on another scale.
    min_relevance: float | None = None


def selector_path(model: str | None = None) -> Path:
    """The selector for ``model``: ``qa/selector-MODEL.json`` where one ships, ``qa/selector.json``
    for the default (question-tuned) model. Any other model gets the plain all-MiniLM-L6-v2's
    (uncalibrated for it, see ``calibrated``): an untuned model's cosines weigh like the plain
    one's, while the tuned model's selector leans on its cosine several times as hard."""
    if model and re.fullmatch(r"[\w.@+-]+", model):
        own = _SELECTOR_PATH.with_name(f"selector-{model}.json")
        if own.is_file():
            return own
    if model and not is_default_model(model):
        return _SELECTOR_PATH.with_name(f"selector-{BASE_MODEL}.json")
    return _SELECTOR_PATH


def load_selector(path: Path = _SELECTOR_PATH) -> dict:
    """Feature weights and the abstention threshold, as fitted (plain JSON)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return DEFAULT_SELECTOR


DEFAULT_SELECTOR: dict = {
    # Sentence score = sum(w * feature); features are in [0, 1].
    "sentence_weights": {"dense": 1.0, "coverage": 1.2, "window_coverage": 0.4, "type_match": 0.35, "passage": 0.35, "anaphor": -0.05, "first_in_rank": 0.0, "entity_match": 0.0, "type_near": 0.0, "bigram": 0.0},
    # Confidence = sigmoid(bias + sum(w * feature)).
    "confidence_weights": {"bias": -5.0, "best_dense": 4.0, "best_coverage": 4.0, "top_passage_dense": 2.0, "agreement": 0.6, "type_match": 0.5},
    "threshold": 0.5,
}


def _pairs(terms: Sequence[str]) -> set[tuple[str, str]]:
    """Adjacent pairs of content terms ("border clash", "Consultative Meeting")."""
    return set(zip(terms, terms[1:]))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


class IdfTable:
    """Inverse document frequency of stemmed terms over the chunks of an index."""

    def __init__(self, index: LoadedIndex) -> None:
        r = index.bm25._r  # bm25s keeps one CSC column per vocabulary term
        indptr = np.asarray(r.scores["indptr"])
        df = np.diff(indptr)
        n = max(1, len(index.chunks))
        self._idf = {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in index.bm25._vocab.items() if i < len(df)}
        self._default = math.log(1 + (n + 0.5) / 0.5)

    def __call__(self, term: str) -> float:
        return self._idf.get(term, self._default)

    def known(self, term: str) -> bool:
        """Whether any chunk holds ``term``."""
        return term in self._idf


def _after_name(text: str, s: int) -> bool:
    """Whether the number at ``s`` closes a name ("Ababil 2 drones", "Super Bowl 50", "Apollo 11"):
    it follows a capitalised word that is not a month or a sentence-opening function word."""
    m = re.search(r"(?:^|(?<=\s))([A-Z][\w’'-]*)\s$", text[max(0, s - 30) : s])
    if not m:
        return False
    word = m.group(1)
    before = text[: max(0, s - 30) + m.start(1)]
    opens_sentence = not before.strip() or re.search(r"[.!?:;]\s*$", before)
    return not (re.fullmatch(MONTHS, word) or word in NOT_NAMES or opens_sentence or word in _NUMBER_LEADS or place_votes(word))


# Words before a name that say what the person is ("President Tokayev", "Ambassador John Smith").
_TITLES = frozenset(
    "President Vice Prime Minister Foreign Deputy Ambassador Mr Ms Mrs Dr General Colonel Chairman Chairwoman "
    "Secretary Commissioner Special Rapporteur Senator Governor Mayor King Queen Sheikh Crown Prince Emir Mullah "
    "Chancellor Correspondent Judge Envoy Spokesperson Spokesman Head Chief Commander Lieutenant Major Captain Sir "
    "Lady Lord Pope Bishop Cardinal Emperor Professor Prof Director Chair Speaker Premier Leader Former Acting "
    "Interior Defence Defense Finance Economy Justice State Supreme Mufti Imam Analyst Journalist Activist".split()
)
# Words that make a capitalised phrase an organisation, a place or an event, not a person.
_NOT_PERSON_WORDS = frozenset(
    "Ministry Bank Union Organization Organisation Council Agency University Party Committee Institute Centre Center "
    "Company Corporation Republic Region Province Oblast Forum Summit Service Department Court Parliament Assembly "
    "Government Army Forces Force Guard Bureau Office Commission News Times Post Journal Radio Foundation Watch "
    "International Fund Group Initiative Road Belt Day War Workshop Exchange Stadium Museum School College Church "
    "Treaty Agreement Conference Program Programme Project Station Plant Airport Pipeline Railway Network Affairs "
    "Nations States Kingdom Federation Emirates Security Cooperation Development Association Alliance Coalition "
    "Movement Front Brigade Battalion Police Authority Administration Cabinet Senate Congress Declaration Act Law "
    "Code Constitution Referendum Election Festival Games Cup League Club Team Airlines Airways Express Media "
    "Central Asia Asian Europe European America American Western Eastern Northern Southern Middle East West North "
    "South Arab Arabs Sunni Shia Islamic Muslim Muslims Soviet Christian Catholic Protestant".split()
)


def person_like(phrase: str) -> bool:
    """Whether a capitalised phrase reads as a person's name: two or more name words ("John
    Mark Pommersheim"), or one after a title ("President Tokayev"); not an organisation, a
    country, a month or one bare word ("Vorukh", "Diplomat")."""
    words = [w.strip("’'.,") for w in phrase.split()]
    titled = False
    while words and (words[0] in _TITLES or words[0] in NOT_NAMES):
        titled = titled or words[0] in _TITLES
        words.pop(0)
    words = [w for w in words if w not in ("of", "the", "de", "bin", "al", "von", "van", "and")]
    if not words or any(w in _NOT_PERSON_WORDS or w in GAZETTEER or re.fullmatch(MONTHS, w) for w in words):
        return False
    if any(place_votes(w) and w not in _LEADER_NAMES for w in words):
        return False  # "Uzbek", "Tashkent": a demonym or a city
    return len(words) >= 2 or titled or words[0] in _LEADER_NAMES


def find_spans(kind: str, text: str) -> list[tuple[int, int]]:
    """Candidate short answers of type ``kind`` in ``text`` (offsets into ``text``)."""
    if kind in ("PERCENT", "MONEY", "DATE"):
        spans = [m.span() for m in PATTERNS[kind].finditer(text)]
        if kind == "MONEY" and not spans:
            spans = [m.span() for m in PATTERNS["NUMBER"].finditer(text) if re.search(r"million|billion|\$", m.group(0))]
        return spans
    if kind == "COUNT":
        # "How many": a count, not a share or a sum ("68.07 percent" answers no "how many voted").
        other = [m.span() for k in ("PERCENT", "MONEY") for m in PATTERNS[k].finditer(text)]
        return [(s, e) for s, e in find_spans("NUMBER", text) if not any(s < oe and os_ < e for os_, oe in other)]
    if kind == "NUMBER":
        date_spans = [m.span() for m in PATTERNS["DATE"].finditer(text)]
        out = []
        for m in PATTERNS["NUMBER"].finditer(text):
            s, e = m.span()
            # A number that is part of a date, a footnote or a year is not a count.
            # A number that is part of a name ("COVID-19", "Commonwealth-2022", "Ababil 2") neither.
            if re.search(r"[A-Za-z]-$", text[max(0, s - 2) : s]) or _after_name(text, s):
                continue
            # A capitalised number word opens a sentence ("Two weeks later"); inside one it is
            # part of a name ("the One Belt").
            if text[s].isupper() and s > 0 and not re.search(r"[.!?:;“\"(]\s*$", text[:s]):
                continue
            if any(ds <= s < de for ds, de in date_spans) or text[max(0, s - 1) : s] == "[" or re.fullmatch(r"(19|20)\d{2}", m.group(0).strip()):
                continue
            out.append((s, e))
        out.extend(m.span() for m in PATTERNS["PERCENT"].finditer(text))
        out.extend(m.span() for m in PATTERNS["MONEY"].finditer(text))
        return out
    if kind == "NAME":
        # A name given to something: in quotes ("project of the century", 'Commonwealth-2022').
        quoted = [(m.start(1), m.end(1)) for m in QUOTED.finditer(text)]
        return quoted or find_spans("ORG", text)
    if kind in ("PERSON", "PLACE", "ORG"):
        out = []
        for m in CAPS.finditer(text):
            s, e = m.span()
            word = m.group(0)
            first = word.split()[0]
            if first in NOT_NAMES and len(word.split()) == 1:
                continue
            if re.fullmatch(MONTHS, word):
                continue
            # "the Diplomat", "the Kremlin", "Kazakhstan": a publication, body or place, not a person.
            if kind == "PERSON" and (re.search(r"\bthe\s$", text[max(0, s - 4) : s], re.I) or re.sub(r"[’']s$", "", word) in GAZETTEER):
                continue
            # "China and Tajikistan": countries are no company, body or party.
            if kind == "ORG" and _only_places(word):
                continue
            out.append((s, e))
        return out
    return []


# Words that make a capitalised phrase a body, an event or a document, not a place ("Council
# of Foreign Ministers", "Shanghai Cooperation Organisation", "Central Asian Summit").
_NOT_PLACE_WORDS = frozenset(
    "Ministry Ministers Minister Bank Union Organization Organisation Council Agency University Party Committee "
    "Institute Company Corporation Forum Summit Service Department Court Parliament Assembly Government Army Forces "
    "Force Guard Guards Bureau Office Commission News Times Post Journal Radio Foundation Watch Fund Group Initiative "
    "Treaty Agreement Conference Program Programme Project Network Affairs Security Cooperation Development "
    "Association Alliance Coalition Movement Front Brigade Battalion Police Authority Administration Cabinet Senate "
    "Congress Declaration Act Law Code Constitution Referendum Election Festival Games Cup League Club Team "
    "Airlines Airways Express Media".split()
)
# What a people or a language is called: an adjective, not a place ("Kyrgyz-Tajik", "Uzbeks").
_DEMONYMS = frozenset({names[1] for names in GAZETTEER.values()} - {"Türkiye"} | {"Turkish", "Kazakhstani", "Kyrgyzstani", "Karakalpak", "Pamiri"})
_COUNTRIES = frozenset(GAZETTEER) | {"Türkiye"}
# "Which city/town/region ..." (the thing asked for, not "a district court"): the country is not the answer.
_SUBNATIONAL = re.compile(
    r"\b(?:which|what)\s+(?:[\w’'-]+\s+){0,2}?(?:city|cities|town|village|capital|district|region|province|oblast|settlement)\b"
    r"(?!\s+(?:court|council|government|administration|office|hall|authorities|committee|police|governor))"
)
_GENERIC_PLACE = frozenset({"State", "Country", "Republic", "Region", "City", "Capital", "Province"})


def place_like(phrase: str, q_lower: str) -> bool:
    """Whether a capitalised phrase can answer "where" / "which city" in ``q_lower``: never a
    people ("Uzbeks", "Kyrgyz-Tajik"); when the question asks for a city, town or region, no
    body or event ("Council of Foreign Ministers"), no bare "State" and no country."""
    words = [re.sub(r"[’']s$", "", w) for w in re.split(r"[\s-]+", phrase.strip()) if w]
    if not words or all(w in _DEMONYMS or (w.endswith("s") and w[:-1] in _DEMONYMS) for w in words):
        return False
    # A plain "where" may be answered by a body or a building ("in the Scottish Parliament",
    # "on the University campus"); a city, town or region may not.
    if _SUBNATIONAL.search(q_lower):
        if any(w in _NOT_PLACE_WORDS for w in words) or (len(words) == 1 and words[0] in _GENERIC_PLACE):
            return False
        if all(w in _COUNTRIES or w in _DEMONYMS for w in words):
            return False
    return True


def _only_places(phrase: str) -> bool:
    """Whether every word of a capitalised phrase names a country, a city or a people ("China
    and Tajikistan", "Uzbek")."""
    words = [re.sub(r"[’']s$", "", w) for w in phrase.split() if w not in ("and", "of", "the", "The")]
    return bool(words) and all(w in GAZETTEER or place_votes(w) for w in words)


# Capitalised words that open a sentence or a clause, not a name ("At the September summit").
_OPENERS = frozenset(
    "At While Although Though Despite Following According Since Until Meanwhile Later Earlier Also Then Both Each "
    "Some Many Most Several Other Another Instead Moreover Furthermore Yet So Thus Hence Still Even Only Just "
    "Today Yesterday Recently Previously Currently Initially Finally Notably In On By For From To Of As With".split()
)


def _clean_spans(kind: str, text: str, q_lower: str) -> list[tuple[int, int]]:
    """Short-answer candidates of ``kind`` in ``text``: names without the sentence opener or
    title in front ("At the September", "Vice President Amrullah Saleh") or a possessive
    behind, none that repeats the question, and the longer of two overlapping spans ("4%",
    not "4")."""
    def opener(w: str) -> bool:
        return (w in _OPENERS or w in _NOT_ENTITY or (w[:1].islower() and kind != "NAME") or bool(re.fullmatch(MONTHS, w))
                or (kind == "PERSON" and (w in _TITLES or (bool(place_votes(w)) and w not in _LEADER_NAMES))))

    out = []
    for s, e in find_spans(kind, text):
        if kind in ("PERSON", "PLACE", "ORG", "NAME") and text[s:e][:1].isupper():
            words = list(re.finditer(r"\S+", text[s:e]))
            drop = 0
            while drop < len(words) - 1 and opener(words[drop].group(0)):
                drop += 1
            if drop:
                s += words[drop].start()
            if words and len(words) - drop == 1:
                last = words[-1].group(0)
                if last in _OPENERS or last in _NOT_ENTITY or re.fullmatch(MONTHS, last):
                    continue  # "In March": a month, once the opener is gone
                if kind in ("PERSON", "ORG") and place_votes(last) and last not in _LEADER_NAMES:
                    continue  # "Kyrgyz", "Uzbekistan’s": a place, not who or which body
            m = re.search(r"[’']s$", text[s:e])
            if m:
                e = s + m.start()
        if e <= s or re.sub(r"[’']s$", "", text[s:e].strip()).lower() in q_lower:
            continue
        if kind == "PLACE" and not place_like(text[s:e], q_lower):
            continue
        out.append((s, e))
    # One span inside another: the longer ("4%" over "4", "nearly $40 million" over "$40 million").
    return [a for a in out if not any(b != a and b[0] <= a[0] and a[1] <= b[1] for b in out)]


def _trim_span(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s] in " ,;:([“\"'":
        s += 1
    while e > s and text[e - 1] in " ,;:.)]”\"'":
        e -= 1
    return s, e


class AnswerSelector:
    """Scores sentences of retrieved passages and composes the answer."""

    def __init__(self, index: LoadedIndex, settings: AnswerSettings = AnswerSettings(), selector: dict | None = None) -> None:
        self.index = index
        self.settings = settings
        self.selector = selector or load_selector(selector_path((index.manifest.get("model") or {}).get("name")))
        self.idf = IdfTable(index)
        self._chunk_row = {c.id: i for i, c in enumerate(index.chunks)}

    @property
    def calibrated(self) -> bool:
        """Whether the index's model is the one the confidence model was fitted with (its
        weights, threshold and relevance floor read that model's cosine similarities)."""
        fitted_for = (self.selector.get("trained_on") or {}).get("model")
        return not fitted_for or (self.index.manifest.get("model") or {}).get("name") == fitted_for

    @property
    def threshold(self) -> float:
        """The confidence below which the selector abstains: the fitted one, or for another
        model than the selector was fitted with a lenient one (answer, marked low)."""
        if self.settings.threshold is not None:
            return self.settings.threshold
        if self.calibrated:
            return float(self.selector.get("threshold", 0.5))
        return UNCALIBRATED_THRESHOLD

    @property
    def _min_relevance(self) -> float:
        if self.settings.min_relevance is not None:
            return self.settings.min_relevance
        return float(self.selector.get("min_relevance", float("-inf"))) if self.calibrated else float("-inf")

    # -- features -----------------------------------------------------------------------------
    def _coverage(self, q_terms: tuple[str, ...], text: str) -> float:
        if not q_terms:
            return 0.0
        have = set(content_terms(text))
        total = sum(self.idf(t) for t in set(q_terms))
        got = sum(self.idf(t) for t in set(q_terms) if t in have)
        return got / total if total else 0.0

    @staticmethod
    def _type_near(q: Question, text: str, spans: list[tuple[int, int]]) -> float:
        """1.0 when a span of the asked type sits next to a question word ("35 tons" for "how many
        tons"; "Ambassador John Smith" for "who is the ambassador"), else 0.0.

        A number or name somewhere in a sentence that merely shares the topic is the commonest
        look of a question the reports do not answer.
        """
        if q.kind == "PERSON":
            spans = [(s, e) for s, e in spans if person_like(text[s:e])]
        if not spans or q.kind in ("OTHER", "LIST", "MANNER", "REASON"):
            return 0.0
        terms = set(q.terms)
        for m in re.finditer(r"\w[\w’'-]*", text):
            stems = content_terms(m.group(0))
            if not stems or stems[0] not in terms:
                continue
            for s, e in spans:
                if s <= m.start() < e:
                    continue  # the word is part of the span itself
                if -40 <= m.start() - e <= 40 or -40 <= s - m.end() <= 40:
                    return 1.0
        return 0.0

    def candidates(self, q: Question, qvec: np.ndarray, hits: list[Hit]) -> list[dict]:
        """Every sentence of the top passages with its features and score."""
        w = self.selector["sentence_weights"]
        out: list[dict] = []
        top = hits[: self.settings.passages]
        if not top:
            return out
        best_hit = max(h.score for h in top) or 1.0
        ents = question_entities(q.query)
        q_lower = q.own_words.lower()
        q_pairs = _pairs(q.terms)
        for rank, h in enumerate(top):
            row = self._chunk_row.get(h.chunk.id)
            if row is None:
                continue
            c = h.chunk
            first = int(self.index.sentence_offsets[row])
            svecs = self.index.sentence_vectors[first : first + len(c.sentences)]
            dense = svecs @ qvec if len(svecs) else np.zeros(0)
            texts = [c.sentence_text(s) for s in c.sentences]
            for j, (span, text) in enumerate(zip(c.sentences, texts)):
                cov = self._coverage(q.terms, text)
                window = " ".join(texts[max(0, j - 1) : j + 2])
                wcov = self._coverage(q.terms, window)
                spans = find_spans(q.kind, text)
                spans = [sp for sp in spans if text[sp[0] : sp[1]].lower() not in q_lower]
                if q.kind == "PLACE":
                    spans = [sp for sp in spans if place_like(text[sp[0] : sp[1]], q_lower)]
                type_match = 1.0 if spans else 0.0
                type_near = self._type_near(q, text, spans)
                if q.kind == "REASON":
                    type_match = 1.0 if CAUSE.search(text) else 0.0
                if q.kind in ("OTHER", "LIST", "MANNER"):
                    type_match = 0.0
                anaphor = 1.0 if ANAPHOR.match(text) else 0.0
                # The section path counts: "Uzbekistan › Domestic" places a sentence that never names it.
                entity = ents.share_in(f"{c.section} {window}") if ents.count else 1.0
                feats = {
                    "dense": float(dense[j]) if len(dense) else 0.0,
                    "coverage": cov,
                    "window_coverage": wcov,
                    "type_match": type_match,
                    "passage": h.score / best_hit,
                    "anaphor": anaphor,
                    "first_in_rank": 1.0 if rank == 0 else 0.0,
                    "entity_match": entity,
                    "type_near": type_near,
                    "bigram": len(q_pairs & _pairs(content_terms(text))) / len(q_pairs) if q_pairs else 0.0,
                }
                score = sum(w.get(k, 0.0) * v for k, v in feats.items())
                out.append({"hit": h, "rank": rank, "j": j, "span": span, "text": text, "window": window,
                            "feats": feats, "score": score, "spans": spans})
        out.sort(key=lambda d: -d["score"])
        # A sentence printed twice (a PDF repeats a passage; only its footnote numbers differ)
        # is one candidate, the better-scored copy: otherwise the runner-up that joins the
        # answer, and the margin the confidence reads, would be the same sentence again.
        seen: set[str] = set()
        unique = []
        for d in out:
            key = " ".join(strip_footnotes(d["text"]).split())
            if key not in seen:
                seen.add(key)
                unique.append(d)
        return unique

    @staticmethod
    def _window(cand: dict) -> str:
        return str(cand.get("window") or cand["text"])

    def confidence_features(self, q: Question, cands: list[dict], hits: list[Hit]) -> dict[str, float]:
        """Signals that the best candidate really answers the question (all roughly in [0, 1])."""
        best = cands[0]
        top_h = hits[0]
        second = cands[1]["score"] if len(cands) > 1 else 0.0
        agreement = 1.0 if (top_h.dense_rank is not None and top_h.dense_rank < 3 and top_h.lexical_rank is not None and top_h.lexical_rank < 3) else 0.0
        total = sum(self.idf(t) for t in set(q.terms)) or 1.0
        unseen = sum(self.idf(t) for t in set(q.terms) if not self.idf.known(t)) / total
        # The rarest question word the answer's neighbourhood lacks ("turnout", "kilowatt-hours").
        c = best["hit"].chunk
        have = set(content_terms(f"{c.section} {self._window(best)}"))
        idfs = {t: self.idf(t) for t in set(q.terms)}
        top_idf = max(idfs.values(), default=1.0) or 1.0
        missing = max((v for t, v in idfs.items() if t not in have), default=0.0) / top_idf
        ents = question_entities(q.query)
        return {
            "best_score": best["score"],
            "margin": best["score"] - second,
            "best_dense": best["feats"]["dense"],
            "best_coverage": best["feats"]["coverage"],
            "window_coverage": best["feats"]["window_coverage"],
            "chunk_coverage": self._coverage(q.terms, top_h.chunk.text),
            "top_passage_dense": top_h.dense_score,
            "agreement": agreement,
            "type_match": best["feats"]["type_match"],
            "unseen_terms": unseen,
            "entity_match": best["feats"].get("entity_match", 1.0),
            "place_conflict": ents.place_conflict(f"{c.section} {self._window(best)}"),
            "year_conflict": ents.year_conflict(self._window(best)),
            "missing_rare": missing,
            "type_near": best["feats"].get("type_near", 0.0),
            "typed": 0.0 if q.kind in ("OTHER", "LIST", "MANNER", "REASON") else 1.0,
            "span_fit": self._span_fit(q, best["text"]),
        }

    def _span_fit(self, q: Question, text: str) -> float:
        """How well the best short-answer span of ``text`` sits among the question's words
        (its :meth:`_closeness`, scaled to [-1, 1]); 0.0 for untyped questions or no span."""
        if q.kind not in _TYPED:
            return 0.0
        q_lower, q_terms = q.own_words.lower(), set(q.terms)
        fits = [self._closeness(q, text, sp, q_terms, q_lower) for sp in _clean_spans(q.kind, text, q_lower)]
        return max(-1.0, min(1.0, max(fits) / 3.0)) if fits else -1.0

    def confidence(self, q: Question, cands: list[dict], hits: list[Hit]) -> float:
        """Probability-like confidence that the answer is right (a logistic model over the features)."""
        if not cands:
            return 0.0
        w = self.selector["confidence_weights"]
        feats = self.confidence_features(q, cands, hits)
        # A floor under the learned model: the questions it was fitted on are all about the
        # reports, so it never learned what an unrelated question ("What is the boiling point
        # of water?") looks like, and the best passage's similarity says it plainly.
        if feats["top_passage_dense"] < self._min_relevance:
            return 0.0
        x = w.get("bias", 0.0) + sum(w.get(k, 0.0) * v for k, v in feats.items())
        return _sigmoid(x)

    # -- composition --------------------------------------------------------------------------
    def _neighbour(self, cand: dict, step: int) -> tuple[dict, Span, str] | None:
        """The sentence before (``step=-1``) or after (``+1``) a candidate in its document, also
        across a chunk boundary (a sentence ending in ":" often closes its chunk)."""
        c, j = cand["hit"].chunk, cand["j"] + step
        if 0 <= j < len(c.sentences):
            sp = c.sentences[j]
            return cand, sp, c.sentence_text(sp)
        row = self._chunk_row.get(c.id)
        if row is None or not 0 <= row + step < len(self.index.chunks):
            return None
        other = self.index.chunks[row + step]
        # Not into another section: the last lead-in of "Recommendations:" is not answered by
        # the first sentence of the next chapter.
        if other.doc_id != c.doc_id or other.section != c.section or not other.sentences:
            return None
        sp = other.sentences[0] if step > 0 else other.sentences[-1]
        moved = dict(cand, hit=replace(cand["hit"], chunk=other), j=0 if step > 0 else len(other.sentences) - 1)
        return moved, sp, other.sentence_text(sp)

    def _compare_spans(self, q: Question, cands: list[dict]) -> list[tuple[dict, Span]] | None:
        """For a comparison ("Which came first: A or B?"), the best sentence about each side,
        or None when one sentence serves both or a side has no sentence of its own.

        The best sentence overall is usually about one side only, and the answer (the earlier
        date, the larger toll) is the comparison of the two.
        """
        sides = [set(content_terms(a)) for a in q.alternatives[:2]]
        # "Which came first" weighs dates, "which was deadlier" numbers: each side's sentence should give one.
        measure = "DATE" if _WHEN_COMPARED.search(q.own_words) else "NUMBER" if _HOW_MUCH_COMPARED.search(q.own_words) else None
        typed = [1.0 if measure and find_spans(measure, c["text"]) else 0.0 for c in cands]
        picks = []
        for terms in (tuple(sides[0] - sides[1]), tuple(sides[1] - sides[0])):
            covs = [self._coverage(terms, c["text"]) for c in cands]
            side = [(c["score"] + self.settings.compare_weight * cov + self.settings.compare_type * t, i)
                    for i, (c, cov, t) in enumerate(zip(cands, covs, typed)) if cov > 0]
            if not side:
                return None
            picks.append(cands[max(side, key=lambda x: x[0])[1]])  # the first of equals, as cands rank them
        if picks[0]["span"] == picks[1]["span"]:
            return None
        return [(c, c["span"]) for c in picks]

    def _chosen_spans(self, q: Question, cands: list[dict]) -> list[tuple[dict, Span]]:
        if q.alternatives and self.settings.max_sentences >= 2:
            both = self._compare_spans(q, cands)
            if both:
                return both
        best = cands[0]
        picked: list[tuple[dict, Span]] = [(best, best["span"])]
        before, after = self._neighbour(best, -1), self._neighbour(best, +1)
        # A sentence that leans on the one before ("It ...", "He reiterates ...") takes it along.
        if best["feats"]["anaphor"] and before:
            picked.insert(0, before[:2])
        # A sentence that announces what follows ("... before the expiry of his tenure:").
        elif best["text"].rstrip(" ”\"’')]0123456789[").endswith(":") and after:
            picked.append(after[:2])
        # "Why" whose cause is not in the best sentence: the next one often gives it.
        elif q.kind == "REASON" and not CAUSE.search(best["text"]) and after:
            if CAUSE.search(after[2]) or ANAPHOR.match(after[2]):
                picked.append(after[:2])
        # The name, number or date asked for is not in the best sentence: a neighbour holding
        # it joins, the one before first for a name ("He reiterates ..." after the name), the
        # one after when it carries the best one on ("It is also known as the plastome. Its
        # existence was first proved in 1962.") or names who did it ("... was later replaced.").
        elif q.kind in _TYPED and not self.answers_type(q, best["text"]):
            if q.kind in ("PERSON", "ORG") and before and self.answers_type(q, before[2]):
                picked.insert(0, before[:2])
            elif after and self.answers_type(q, after[2]) and (ANAPHOR.match(after[2]) or q.kind in ("PERSON", "ORG")):
                picked.append(after[:2])
        picked = picked[: self.settings.max_sentences]
        # A lead-in ending in ":" with nothing after it in its section is no answer on its own.
        lone_lead_in = best["text"].rstrip(" ”\"’')]0123456789[").endswith(":") and after is None
        # A close runner-up (often the other half of a list, or the fact the best one lacks)
        # joins when there is room; both stay separate citations if not adjacent.
        if len(picked) < self.settings.max_sentences and len(cands) > 1:
            second = cands[1]
            gap = best["score"] - second["score"]
            close = gap <= self.settings.second_margin
            # Room permitting: two short sentences are no longer than one long one.
            short = gap <= self.settings.pair_margin and len(best["text"].split()) + len(second["text"].split()) <= self.settings.pair_words
            if (close or short or lone_lead_in) and second["span"] not in {sp for _, sp in picked}:
                picked.append((second, second["span"]))
        return picked

    def typed_ok(self, q: Question, picked: list[tuple[dict, Span]]) -> bool:
        """Whether the answer's sentences hold the kind of thing asked for (a number for "how
        many"). All of them, the runner-up too: reading only the best sentence and the
        neighbours it needs abstained less on dev (0.73 against 0.77 at 8 % false abstention).
        """
        return self.answers_type(q, " ".join(strip_footnotes(c["hit"].chunk.sentence_text(sp)) for c, sp in picked))

    def answers_type(self, q: Question, text: str) -> bool:
        """Whether ``text`` holds a span of the type ``q`` asks for (True for untyped questions).

        Spans that repeat the question ("five" in "which of the five states") do not count.
        """
        if q.kind not in _TYPED:
            return True
        q_lower = q.own_words.lower()
        spans = [(s, e) for s, e in find_spans(q.kind, text) if text[s:e].strip().lower() not in q_lower]
        if q.kind == "PLACE":
            spans = [(s, e) for s, e in spans if place_like(text[s:e], q_lower)]
        if q.kind == "PERSON":
            # Any capitalised word passes find_spans; a "who" needs someone's name.
            spans = [(s, e) for s, e in spans if person_like(text[s:e])]
        return bool(spans)

    def _short(self, q: Question, texts: list[str]) -> str:
        """The exact answer span for factoid types: in the best sentence (``texts[0]``) or, a
        little less readily, in the other sentences of the answer; chosen by closeness to the
        question's words."""
        if q.kind not in _TYPED:
            return ""
        q_lower = q.own_words.lower()
        q_terms = set(q.terms)
        wants_year = q.kind == "DATE" and re.search(r"\byears?\b", q_lower)
        best: tuple[float, str] | None = None
        for rank, text in enumerate(texts):
            for sp in _clean_spans(q.kind, text, q_lower):
                score = self._closeness(q, text, sp, q_terms, q_lower) - 1.0 * rank
                if wants_year and not _YEAR.search(text[sp[0] : sp[1]]):
                    score -= 3.0  # "until what year": 2029, not "1 September"
                if best is None or score > best[0]:
                    s, e = _trim_span(text, *sp)
                    best = (score, text[s:e])
        return best[1] if best else ""

    @staticmethod
    def _closeness(q: Question, text: str, sp: tuple[int, int], q_terms: set[str], q_lower: str) -> float:
        span_text = text[sp[0] : sp[1]]
        inner = set(content_terms(span_text))
        bonus = 2.0 * len(inner & q_terms)  # "35 tons" for "how many tons"
        if q.kind == "PERSON":
            # A person has a first and a last name; an all-caps word is an acronym (RFERL).
            bonus += 1.5 if person_like(span_text) else 0.0
            bonus -= 2.0 if span_text.isupper() else 0.0
        if q.kind == "PLACE" and re.search(r"\b(in|at|near|to|from|into)\s+$", text[max(0, sp[0] - 8) : sp[0]]):
            bonus += 1.5
        # "Which city/town/village": a country name (or "Uzbekistan’s") is not the answer.
        if q.kind == "PLACE" and re.search(r"\b(city|town|village|capital|district)\b", q_lower) and place_votes(span_text):
            bonus -= 3.0
        # Positions of question words in the sentence: the answer is usually near them.
        positions = [m.start() for m in re.finditer(r"\w+", text) if content_terms(m.group(0)) and content_terms(m.group(0))[0] in q_terms]
        if not positions:
            return bonus
        return bonus - min(abs(p - sp[0]) for p in positions) / 40.0

    def answer(self, q: Question, qvec: np.ndarray, hits: list[Hit], threshold: float | None = None) -> Answer:
        """Compose the answer for ``q`` from ``hits`` (or abstain)."""
        cands = self.candidates(q, qvec, hits)
        conf = self.confidence(q, cands, hits)
        thr = threshold if threshold is not None else self.threshold
        if not cands:
            return Answer(q.text, NOT_FOUND, "", False, 0.0, (), tuple(hits), resolved_question=q.query)
        picked = self._chosen_spans(q, cands)
        # Reading order; sentences that touch in one document become one citation.
        picked.sort(key=lambda p: (p[0]["hit"].chunk.doc_id, p[1].start))
        groups: list[tuple[str, str, list[Span]]] = []  # (doc_id, chunk_id, spans)
        for cand, sp in picked:
            ch = cand["hit"].chunk
            if groups and groups[-1][0] == ch.doc_id:
                gap = self.index.documents[ch.doc_id].text[groups[-1][2][-1].end : sp.start]
                if sp.start >= groups[-1][2][-1].end and gap.strip() == "":
                    groups[-1][2].append(sp)
                    continue
            groups.append((ch.doc_id, ch.id, [sp]))
        chunks_by_id = {p[0]["hit"].chunk.id: p[0]["hit"].chunk for p in picked}
        citations = []
        parts = []
        for n, (doc_id, cid, g) in enumerate(groups, start=1):
            doc = self.index.documents[doc_id]
            s, e = g[0].start, g[-1].end
            quote = doc.text[s:e]
            citations.append(Citation(n, doc.id, doc.title, chunks_by_id[cid].section, doc.page_at(s), s, e, quote, cid))
            parts.append(f"{strip_footnotes(quote)} [{n}]")
        text = " ".join(parts)
        # A question that asks for a number, date or name is not answered by sentences without one.
        if not self.typed_ok(q, picked):
            conf *= float(self.selector.get("untyped_factor", 1.0))
        # The short answer comes from the answer's own sentences, the best-scored one first (a
        # comparison need not cite the best sentence overall).
        spans = [sp for _, sp in picked]
        lead = next((c for c in cands if c["span"] in spans), cands[0])
        others = [strip_footnotes(c["hit"].chunk.sentence_text(sp)) for c, sp in picked if sp != lead["span"]]
        short = self._short(q, [lead["text"], *others])
        found = conf >= thr
        if not found:
            return Answer(
                q.text, NOT_FOUND, "", False, conf, (), tuple(hits), resolved_question=q.query, candidate=text
            )
        return Answer(q.text, text, short, True, conf, tuple(citations), tuple(hits), resolved_question=q.query, candidate=text)
