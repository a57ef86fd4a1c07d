"""Which fact a clarification question asks for, from what the user knows — never from how our
training data phrases questions.

A user knows their request, the values it left out, and what the assistant was shown: the APIs,
their parameters' names and descriptions. So each fact (an unspecified intent or a stated value)
gets a :class:`Profile` built from exactly that: its parameter's words, its description's words,
the API it belongs to and the call's position, the *kind* of value it is (a place, a moment, a
count...) and the *direction* its name or description gives (``from_currency`` vs
``to_currency``, ``origin`` vs ``destination``). A question is scored against every profile of
the dialogue by these signals:

* **meaning** — the sentence-embedding similarity of the question to the parameter's name and
  description, and to the value as the user knows it ("league: La Liga"): a paraphrase that
  shares no word still lands near its parameter;
* **words** — the question's words found in the profile, each weighted by how few of the
  dialogue's facts share it (``currency`` tells nothing when two facts are currencies; ``from``
  does); a profile holds, beside its own words, what else a user calls the thing or does with it
  (a dish is food, what one eats; a query is what one looks for);
* **kind** — the question word asks for the fact's kind ("where" a place, "when" a moment, "how
  many" a count, "how long" a duration, "who" a person, "what kind" a category), and not for
  the facts of other kinds; a bare "what" ("what should I order?") asks for a thing, not for a
  place, a moment, a count or a person;
* **focus** — the noun the question word governs ("what *number* should I text?") is the thing
  asked for: it counts for the fact whose words hold it and against the others, more than a
  word elsewhere in the sentence ("text");
* **direction** — a question about where something comes *from* is not about where it goes *to*
  (from the parameter's name or description, else from the user's own request: "order pad thai
  *from* Spice Route");
* and a question that names an API, or a step ("translate_text (step 3)"), is about that call.

The tables below are small and general (English question words and direction words), not a list
of our templates; the measured matching on four phrasing families is in the README
(docs/evaluation.md) and tested in ``tests/test_matching.py``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from asktoact.data.phrasing import humanise, synonyms, words
from asktoact.schema import ToolSpec

# Words that carry no meaning for matching (their presence in two facts tells them apart not).
_STOP_WORDS = """a an the of for to in on at by is are be it its this that with and or what which
who whom how when where do does did you your i me my we us should would could can will please tell
give use need want like any some there here so as from into per been being value values one have
mind run"""
_STOP = set(_STOP_WORDS.split())

# A value's kind, from words of its parameter's name or description (first match wins per kind;
# a parameter may have several kinds: ``duration_minutes`` is a duration and a count).
_KIND_WORDS = {
    "place": "city town address origin destination location place airport country street room"
    " restaurant shop store clinic venue",
    "moment": "date day time hour when check yyyy hh season year arrival departure start",
    "count": "number passengers guests nights quantity bedrooms count travellers people many",
    "amount": "amount price cap rent budget principal loan weight height salary cost",
    "duration": "minutes duration days years length period term nights delay long",
    "person": "recipient attendees members people artist performer person guests team band",
    "category": "category kind type cuisine specialty activity mode program genre",
}
_KINDS = {kind: set(ws.split()) for kind, ws in _KIND_WORDS.items()}

# What else a user calls a thing, or does with it, by a word of its parameter's name or
# description: "what would you like to eat?" asks for the dish, "what are you looking for?" for
# the search query. General English, like the question words below; not our question templates.
_ALSO_CALLED_WORDS = {
    "dish": "food meal eat",
    "cuisine": "food",
    "query": "look search find",
    "keyword": "look search find",
    "product": "item thing buy purchase",
    "program": "cycle setting",
    "league": "competition division",
    "song": "music tune listen",
    "film": "movie watch",
    "message": "say write",
    "brand": "make maker",
}
_ALSO_CALLED = {word: set(ws.split()) for word, ws in _ALSO_CALLED_WORDS.items()}

# What kind of value a question word asks for.
_QUESTION_KINDS = [
    (r"\bwhere\b|\bwhich (?:city|town|place|address|airport)\b", {"place"}),
    (r"\bwhen\b|\b(?:what|which) (?:time|day|date|hour|year)\b|\bat what\b", {"moment"}),
    (r"\bhow many\b", {"count", "duration"}),
    (r"\bhow much\b|\bbudget\b|\bhow big\b", {"amount", "duration"}),
    (r"\bhow long\b|\bhow far back\b|\bover how\b", {"duration"}),
    (r"\bwho\b|\bwhom\b|\bwhose\b|\bwhich people\b", {"person"}),
    (r"\bwhat (?:kind|type|sort)\b|\bwhich (?:kind|type|sort)\b", {"category"}),
]

# Direction: where a value comes from vs where it goes.
_FROM_WORDS = {"from", "origin", "departure", "depart", "source", "start", "starting", "leave"}
_TO_WORDS = {"to", "destination", "arrival", "arrive", "target", "end", "into", "heading"}
_FROM_QUESTION = re.compile(
    r"\bfrom\b|\bout of\b|\bleav(?:e|ing)\b|\bdepart|\bstart(?:ing)?\b|\bcurrently\b|\bhave now\b"
)
_TO_QUESTION = re.compile(
    r"\binto\b|\bto\s*\?|\bto (?:which|what|the|a)\b|\bheading\b|\barriv|\bend up\b|\bgo\b"
    r"|\bdestination\b"
)
_STEP = re.compile(r"\bstep (\d+)\b")
# "What" as the object or subject of a verb ("what would you like", "what should go in") asks
# for a thing: not a place, a moment, a count, an amount, a duration or a person.
_THING = re.compile(
    r"\bwhat (?:would|should|do|does|did|can|could|will|shall|are|am) (?:you|i|we)\b"
    r"|\bwhat (?:should|would|will|can|could) (?:go|be)\b"
)
# "to" in a description is a direction only where it ends a phrase ("ISO code to convert to.");
# before a verb it is an infinitive ("Text to translate.").
_DESCRIBED_TO = re.compile(r"\bto\s*(?:[.,;:)]|$)")
_KIND_OF = re.compile(r"(?:kind|type|sort) of\b")
# The thing a question asks for: the noun its question word governs ("what *number*", "which
# *specialist*", "how many *rooms*", "what kind of *product*").
_FOCUS = re.compile(
    r"\b(?:what|which|whose|how many|how much)\s+(?:(?:kind|type|sort) of\s+)?(?:the\s+)?"
    r"([a-z][a-z-]+)"
)
# Words after a question word that are not the thing asked for ("what *should* ...").
_NOT_FOCUS_WORDS = """is are was were do does did should would could can will shall may might
must i you we it they he she one ones of kind type sort time day"""
_NOT_FOCUS = set(_NOT_FOCUS_WORDS.split())


def _stem(word: str) -> str:
    """Plural and verb endings off, so "stocks", "travelling" meet "stock", "travel"."""
    for end in ("ies", "ing", "es", "s"):
        if word.endswith(end) and len(word) - len(end) >= 3:
            return word[: -len(end)] + ("y" if end == "ies" else "")
    return word


def content(text: str) -> set[str]:
    return {_stem(w) for w in words(text) if w not in _STOP}


def vocabulary_of(text: str) -> set[str]:
    """Content words of a parameter's name or description, with the words the project's keyword
    table (:mod:`asktoact.data.phrasing`) gives for the same kind of thing ("subject" → title)."""
    found = set(words(text))
    related = {s for w in found for s in (*synonyms(w), *_ALSO_CALLED.get(w, ()))}
    return content(text) | {_stem(s) for s in related}


@dataclass
class Profile:
    """What a user knows about one fact, as the matcher uses it."""

    key: str
    apis: set[str]  # the APIs it belongs to (a shared value belongs to several)
    calls: set[int]  # their positions in the request (0-based)
    vocabulary: set[str]  # stemmed content words of its parameter names and descriptions
    names: set[str]  # stemmed content words of its parameter names alone
    kinds: set[str]
    direction: str | None  # "from" | "to" | None
    texts: list[str] = field(default_factory=list)  # what the embedder compares questions with


def profile(
    key: str,
    params: list[tuple[int, str, str]],
    tools: dict[str, ToolSpec],
    value: str = "",
    said_after: str = "",
) -> Profile:
    """A fact's profile from its (call, api, parameter) places, the candidate tools, the value as
    the user knows it and the word their request puts before it: where the API's description
    gives no direction, "from Spice Route" in the request says the restaurant is where the order
    comes from."""
    vocabulary, names, kinds, texts, directions = set(), set(), set(), [], set()
    for _, api, name in params:
        tool = tools.get(api)
        spec = tool.param(name) if tool else None
        description = spec.description if spec and spec.description else ""
        name_words = set(words(name))
        described = set(words(description))
        vocabulary |= vocabulary_of(name) | vocabulary_of(description)
        names |= vocabulary_of(name)
        kinds |= {k for k, ws in _KINDS.items() if (name_words | described) & ws}
        if _KIND_OF.match(description.lower()):  # "Kind of place." names a category
            kinds = (kinds - {"place", "person"}) | {"category"}
        if spec and spec.type in ("integer", "number") and not kinds & {"amount", "duration"}:
            kinds.add("count")
        if name_words & _FROM_WORDS or described & _FROM_WORDS - {"start"}:
            directions.add("from")
        described_to = described & (_TO_WORDS - {"to"}) or _DESCRIBED_TO.search(description.lower())
        if name_words & _TO_WORDS or (described_to and not described & _FROM_WORDS):
            directions.add("to")
        texts += [humanise(name), f"{humanise(name)}: {description}".strip(": ")]
        if value:
            texts.append(f"{humanise(name)}: {value}")
    if not directions and said_after in ("from", "to", "into"):
        directions.add("from" if said_after == "from" else "to")
    direction = directions.pop() if len(directions) == 1 else None
    return Profile(
        key,
        {api for _, api, _ in params},
        {call for call, _, _ in params},
        vocabulary,
        names,
        kinds,
        direction,
        texts,
    )


@dataclass
class Signals:
    """What a question says about itself, read once for every profile."""

    vocabulary: set[str]
    kinds: set[str]
    direction: str | None
    step: int | None  # the call a "step N" names (0-based)
    raw_words: set[str]
    focus: set[str] = field(default_factory=set)  # stemmed nouns its question words govern
    thing: bool = False  # a bare "what" that asks for a thing (see _THING)


def read_question(question: str) -> Signals:
    text = question.lower()
    kinds = set().union(*(k for pattern, k in _QUESTION_KINDS if re.search(pattern, text)))
    came, goes = bool(_FROM_QUESTION.search(text)), bool(_TO_QUESTION.search(text))
    direction = "from" if came and not goes else "to" if goes and not came else None
    step = _STEP.search(text)
    focus = {_stem(w) for w in _FOCUS.findall(text) if w not in _NOT_FOCUS}
    thing = not kinds and not focus and bool(_THING.search(text))
    return Signals(
        content(question),
        kinds,
        direction,
        int(step.group(1)) - 1 if step else None,
        set(words(question)),
        focus,
        thing,
    )


@dataclass
class Weights:
    """How much each signal counts (the similarity itself counts 1); the defaults are the
    simulator's (``RulesSimulator``'s ``*_weight`` parameters)."""

    words: float
    kind: float
    direction: float
    api: float
    focus: float


def _evidence(asked: set[str], bags: list[set[str]]) -> list[float]:
    """Per bag, the question's words in it, each weighted by how few bags share it (a word
    every bag has tells nothing; one only this bag has tells most), about 1 per such word."""
    df: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            df[w] = df.get(w, 0) + 1
    n = len(bags)
    return [
        min(sum(math.log((n + 1) / df[w]) for w in asked & bag) / math.log(n + 1), 1.5)
        for bag in bags
    ]


def scores(
    signals: Signals,
    profiles: list[Profile],
    similarity: list[float],
    weights: Weights,
    topics: tuple[set[str], ...] = (),
) -> list[float]:
    """One score per profile: the embedding similarity plus the other signals' evidence;
    ``topics``: the content words of what the dialogue's APIs are for (their descriptions)."""
    named = _named_apis(signals, profiles)
    # The words of an API the question names say which call it means (below), not which value;
    # so do the words of what the APIs are for ("forecast", "cart"), unless they name the value.
    asked = signals.vocabulary - {w for a in named for w in content(a)}
    topic = set().union(*(content(a) for p in profiles for a in p.apis), *topics)
    by_words = _evidence(asked, [p.vocabulary - (topic - p.names) for p in profiles])
    holds_focus = [_focus_in(signals.focus, p) for p in profiles]
    focused = any(holds_focus)
    out = []
    for p, sim, w, holds in zip(profiles, similarity, by_words, holds_focus, strict=True):
        score = sim + weights.words * w
        if focused:  # the very thing asked for is this parameter's, or another's
            score += weights.focus if holds else -weights.focus
        if signals.kinds:  # "how many" asks for a count, not a room
            score += weights.kind if signals.kinds & p.kinds else -weights.kind / 2
        elif signals.thing and p.kinds - {"category"}:  # "what should I order?" is no address
            score -= weights.kind / 2
        if signals.direction and p.direction:
            score += weights.direction if signals.direction == p.direction else -weights.direction
        if named:
            score += weights.api if p.apis & named else -weights.api
        elif any(asked & content(a) for a in p.apis):  # a word of its API ("product")
            score += weights.api / 2
        if signals.step is not None:
            score += weights.api if signals.step in p.calls else -weights.api
        out.append(score)
    return out


def _focus_in(focus: set[str], p: Profile) -> bool:
    """Whether the thing asked for is one of the profile's words, or ends one of its compounds
    ("rooms" asks for the bedrooms too)."""
    return any(v == f or (len(f) >= 4 and v.endswith(f)) for f in focus for v in p.vocabulary)


def without_calls(question: str, apis: set[str]) -> str:
    """The question with the API names (``translate_text`` or "translate text") and steps
    ("(step 2)") it mentions taken out."""
    for api in sorted(apis, key=len, reverse=True):
        spelled = r"[\s_]+".join(map(re.escape, words(api)))
        question = re.sub(rf"\b{spelled}\b", " ", question, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", re.sub(r"\(?\bstep \d+\)?", " ", question)).strip()


def _named_apis(signals: Signals, profiles: list[Profile]) -> set[str]:
    """The dialogue's APIs whose full name the question writes (``get_forecast``, or its words)."""
    apis = {a for p in profiles for a in p.apis}
    return {a for a in apis if set(words(a)) <= signals.raw_words}
