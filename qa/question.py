"""Reading a question: validation, its expected answer type, follow-up resolution."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from qa.errors import BadQuestion
from qa.lexical import content_terms

MAX_QUESTION_CHARS = 1000

# Up to three words between "which" and its noun ("which former Afghan vice president"),
# but not a verb ("what did the ambassador hand over" asks for a thing, not a person).
_MOD = r"(?:(?!(?:is|was|were|are|did|does|do|has|have|had|will|would|can|could|should)\b)[\w’'-]+ ){0,3}"

# One such word ("what exact date", "which earlier years"); more would let a date phrase that
# follows another noun ("which leader in recent years") decide the type.
_MOD1 = r"(?:(?!(?:is|was|were|are|did|does|do|has|have|had|will|would|can|could|should|in|of|over|for|during)\b)[\w’'-]+ )?"

# Nouns that make "which/what ... X" or "the name of the X" ask for a person.
_PERSON_NOUNS = (r"(person|official|leader|president|minister|ambassador|analyst|journalist|lawyer|diplomat|spokesperson|spokesman|"
                 r"rapporteur|commissioner|correspondent|reporter|expert|man|woman|general|activist|politician|envoy|chief|head|"
                 r"commander|representative|governor|mayor|director|chairman|deputy|founder|author|player|scientist|king|queen|emperor|"
                 r"defender|contributor|parliamentarian|lawmaker|researcher|cleric|writer|editor|prosecutor|judge|senator|spokeswoman)")

# Answer types, from the question's wording. Order matters: the first match wins.
_TYPE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("PERCENT", re.compile(r"\b(what|which) (percentage|percent|share|proportion|fraction)\b|\bhow many per ?cent\b|\bby how much\b.*\b(drop|fall|rise|increase|decrease)|\bpercent(age)?\b|\bturnout\b"
                             r"|\b(inflation|interest|growth|unemployment|poverty|literacy|tax|vat|mortgage|refinancing|base|policy) rates?\b"
                             r"|\brates? of (inflation|interest|growth|unemployment|poverty|literacy)\b", re.I)),
    ("MONEY", re.compile(r"\bwhat (\w+ )?(price|cost|fee|fare|tariff)s?\b(?! (of|for) (living|the (war|conflict|crisis)))|\bwhat did .{0,60}\bcost\b|\bhow much (money|aid|funding|investment|did .* (invest|grant|offer|pay|spend|give))|\b(worth|value|cost|price|sum|amount) of\b|\bwhat (is|was|were|are) the (\w+ )?(fine|penalty|price|cost|budget|salary)\b|\bhow much .*\b(worth|invest|grant|fund|trade|pay|spend|offer|cost)|\bwhat (\w+ )?fines?\b", re.I)),
    ("COUNT", re.compile(r"\bhow many\b|\bwhat (is|was|were|are) the number of\b|\bnumber of (people|persons|men|women|children|soldiers|troops|deaths|dead|casualties|victims|refugees|migrants|citizens|members|seats|candidates|cases|incidents|attacks)\b|\bdeath toll\b|\bhead ?count\b", re.I)),
    ("NUMBER", re.compile(r"\bhow (many|much|long|far|large|big|old)\b|\bwhat (\w+ )?(number|amount|quantity|size|volume)\b|\bnumber of\b|\bwhat (\w+ )?(prison )?(term|sentence)s?\b|\bwhat (is|was|were|are) (the )?([\w’'-]+ ){0,2}(population|death toll|head ?count|tally)\b|\bpopulation of\b|\bwhat (is|was|were|are|will be) the (\w+ )?(length|distance|height|width|depth|area|capacity|size|speed|weight|volume|range)\b|\bwhat (\w+ )?capacity\b|\bexchange rate\b", re.I)),
    ("NAME", re.compile(r"\b(what|which) (was|is|were|are) (the |this |that |it |they )?.{0,60}\b(called|named|dubbed|titled|nicknamed)\b|\bwhat (name|label|title|nickname) did\b|\bunder what name\b"
                           r"|\bwhat (is|was|are|were) the names? of (?!(the |a |an )?([\w’'-]+ ){0,4}" + _PERSON_NOUNS + r"s?\b)", re.I)),
    ("DATE", re.compile(r"^\s*when\b|\b(what|which) " + _MOD1 + r"(dates?|days?|years?|months?|time|period)\b|\bwhat (is|was|were|are) the (\w+ )?(date|day|year|month)s?\b|\buntil what\b|\bin what year\b|\bsince when\b|\bwhen did\b|\bwhen was\b|\bwhen will\b", re.I)),
    ("PERSON", re.compile(r"^\s*(who|whom|whose)\b|\b(which|what) " + _MOD + _PERSON_NOUNS + r"\b|(?:^|[,;:(]\s*|\b(?:and|but|so|then|to|from|by|with|for|of)\s+)(?:who|whom)\b|\bname of the\b", re.I)),
    ("PLACE", re.compile(r"^\s*where\b|\b(which|what) " + _MOD + r"(city|cities|country|countries|towns?|villages?|regions?|provinces?|places?|capitals?|locations?|border|enclaves?|districts?|states?|republics?|nations?)\b"
                            r"|\bwhich parts? of (the )?(?-i:[A-Z])|\bwhere\b", re.I)),
    ("REASON", re.compile(r"^\s*why\b|\bfor what reason\b|\bwhat (was|is|were) the (reason|cause|motive|motivation)\b|\bwhat (caused|prompted|triggered|motivated|drove|led to)\b|\bhow come\b|\breason\b", re.I)),
    ("ORG", re.compile(r"\b(which|what) " + _MOD + r"(organi[sz]ation|group|body|agency|company|outlet|newspaper|party|bloc|alliance|institution|bank|court|ministry|gathering|summit|meeting|forum|conference|"
                         r"broadcaster|carrier|airline|department|coalition|venture|consortium|firm|council|committee|commission)\b"
                         # "Which authority" names a body; "what authority" may ask for a power.
                         r"|\bwhich " + _MOD + r"authorit(y|ies)\b", re.I)),
    ("MANNER", re.compile(r"^\s*how (did|does|do|has|have|is|was|were|will|can|could|should|would)\b|\bin what way\b", re.I)),
]


@dataclass(frozen=True)
class Question:
    """A validated question, ready for retrieval."""

    text: str  # as asked (cleaned of control characters)
    query: str  # what retrieval sees (follow-ups resolved)
    kind: str  # expected answer type
    terms: tuple[str, ...]  # stemmed content terms of ``query``
    asked: str = ""  # the question proper, without context borrowed from the last answer
    # The two things a comparison weighs ("Which came first: A or B?"): each needs its own
    # sentence in the answer.
    alternatives: tuple[str, ...] = ()

    @property
    def own_words(self) -> str:
        """What the question itself says: a span that only repeats it is no answer ("five" in
        "which of the five states"), but words of the previous answer that a follow-up
        borrowed for retrieval ("Where did it arrive? ... Zakarpatska ...") may well be."""
        return self.asked or self.query


def prepare_question(text: str, query: str) -> Question:
    """A :class:`Question` for ``text`` as resolved to ``query`` (see :func:`resolve_follow_up`)."""
    # "Who said that?" is resolved by appending the previous answer: that part is context.
    asked = text if query != text and query.startswith(text) else query
    kind = answer_type(asked)
    # "What about the date? <previous question>": the new attribute says what is asked for.
    focus = re.match(r"What about (?:the |a |an )?(.+?)\? ", query)
    if focus and answer_type(f"what {focus.group(1)}") != "OTHER":
        kind = answer_type(f"what {focus.group(1)}")
    return Question(text=text, query=query, kind=kind, terms=tuple(content_terms(query)), asked=asked,
                    alternatives=alternatives(asked))


# "...: A or B?" / "..., A, or B?" at the end of a question: the things it compares.
_ALTERNATIVES = re.compile(r"[:,]\s*(?P<a>[^:,?]{3,}?),?\s+or\s+(?P<b>[^:?]{3,}?)\s*\?*\s*$", re.I)


# "Did A happen before or after B?", "Was A larger or smaller than B?": the sides are the
# subject and what follows the pair of opposites.
_BEFORE_OR_AFTER = re.compile(
    r"^(?:did|was|were|is|are|has|had|does|do)\s+(?P<a>.{3,}?)"
    r"(?:\s+(?:happen|occur|take place|come|begin|start|end))?\s+"
    r"(?:before or after|after or before|earlier or later than|later or earlier than|"
    r"(?:larger|bigger|higher|greater|more) or (?:smaller|lower|less|fewer) than|"
    r"(?:smaller|lower|less|fewer) or (?:larger|bigger|higher|greater|more) than)"
    r"\s+(?P<b>[^?]{3,}?)\s*\?*\s*$",
    re.I,
)


def alternatives(question: str) -> tuple[str, ...]:
    """The two alternatives a comparison weighs ("Which came first: the embassy statement or
    the prosecutor's warning?" -> both; "Did A happen before or after B?" -> A and B), or
    ``()`` when the question compares nothing."""
    m = _ALTERNATIVES.search(question) or _BEFORE_OR_AFTER.search(question)
    if not m:
        return ()
    a, b = (re.sub(r"^(?:the|a|an)\s+", "", m.group(g).strip(), flags=re.I) for g in ("a", "b"))
    # Each side must name something of its own ("before or after" compares nothing).
    if not (set(content_terms(a)) - set(content_terms(b))) or not (set(content_terms(b)) - set(content_terms(a))):
        return ()
    return (a, b)


def sanitize(question: Any) -> str:
    """Validated question text, or ``BadQuestion`` with a message for a person."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    # Lone surrogates cannot be encoded; control characters carry no meaning here.
    q = question.encode("utf-8", "replace").decode("utf-8")
    q = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in q)
    q = re.sub(r"\s+", " ", q).strip()
    if not q:
        raise BadQuestion("Please type a question.")
    if len(q) > MAX_QUESTION_CHARS:
        raise BadQuestion(
            f"The question is too long ({len(q):,} characters; the limit is {MAX_QUESTION_CHARS:,}). Ask about one thing at a time."
        )
    if not re.search(r"\w", q):
        raise BadQuestion("The question has no words in it.")
    return q


def answer_type(question: str) -> str:
    """The kind of answer the question asks for (COUNT, NUMBER, DATE, PERSON, ..., or OTHER)."""
    for kind, rx in _TYPE_RULES:
        if rx.search(question):
            return kind
    if re.match(r"^\s*(list|name|what are|which are|what were|which were)\b", question, re.I):
        return "LIST"
    return "OTHER"


_FOLLOW_UP_RE = re.compile(r"^\s*(and|what about|how about|and what about|same for|what of)\s+(.+?)\s*\??\s*$", re.I)
_PRONOUN_RE = re.compile(r"\b(that|this|it|he|she|they|them|those|these|his|her|their|its)\b", re.I)


def _history_turns(history: Any) -> list[tuple[str, str]]:
    """(question, answer) pairs from a list of pairs or of chat messages {role, content}."""
    turns: list[tuple[str, str]] = []
    if not history or not isinstance(history, (list, tuple)):  # anything else (an HTTP client's `true`) is no history
        return turns
    pending_q: str | None = None
    for item in history:
        if isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
            if not isinstance(content, str):
                continue
            if role == "user":
                pending_q = content
            elif role == "assistant" and pending_q is not None:
                turns.append((pending_q, content))
                pending_q = None
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            q, a = item
            if isinstance(q, str):
                turns.append((q, a if isinstance(a, str) else ""))
    if pending_q is not None:
        turns.append((pending_q, ""))
    return turns


def resolve_follow_up(question: str, history: Any) -> str:
    """Rewrite a short follow-up against the previous turn.

    "And Tajikistan?" after "How much aid did Uzbekistan send?" becomes "How much aid did
    Tajikistan send?"; "Who said that?" borrows the previous answer's words, so retrieval
    lands on the same passage.
    """
    turns = _history_turns(history)
    if not turns:
        return question
    prev_q, prev_a = turns[-1]
    m = _FOLLOW_UP_RE.match(question)
    if m and len(m.group(2).split()) <= 5:
        new = m.group(2).strip().rstrip("?")
        if not re.match(r"[A-Z0-9]", new):
            # "And the turnout?": another attribute of the same thing, not another name for
            # the previous question's subject; ask about it, with the previous question as context.
            return f"What about {new}? {prev_q}"
        # Replace the last proper-noun phrase of the previous question that is not its first word.
        names = [x for x in re.finditer(r"(?<!^)\b[A-Z][\w’'-]+(?:\s+[A-Z][\w’'-]+)*", prev_q)]
        if names:
            target = names[0]
            return prev_q[: target.start()] + new + prev_q[target.end() :]
        return f"{prev_q.rstrip('?')} {new}?"
    words = content_terms(question)
    if len(words) <= 3 and _PRONOUN_RE.search(question):
        context = re.sub(r"\[\d+\]", "", prev_a)[:400] if prev_a else prev_q
        return f"{question} {context}".strip()
    return question
