"""How the rules backends talk about a parameter: what kind of thing it is, and how to name it.

One keyword table serves the underspecifier (``a certain city``) and, for names too short to
read, the question writer; questions otherwise name a parameter by its own words.
"""

from __future__ import annotations

import re

from asktoact.schema import ParamSpec

# keyword in the parameter's name or description -> (noun, abstraction phrase)
_KINDS: list[tuple[tuple[str, ...], str, str]] = [
    (("email", "mail"), "email address", "an email address"),
    (("phone", "mobile"), "phone number", "a phone number"),
    (("airport", "iata"), "airport", "a certain airport"),
    (("city", "town"), "city", "a certain city"),
    (("country",), "country", "a certain country"),
    (("currency",), "currency", "a certain currency"),
    (("date", "day", "birthday"), "date", "a specific date"),
    (("time", "hour", "clock"), "time", "a specific time"),
    (("symbol", "ticker", "stock"), "stock symbol", "a certain stock"),
    (("address", "street", "location"), "address", "a certain place"),
    (("url", "link", "website", "domain"), "web address", "a certain web address"),
    (("language",), "language", "a certain language"),
    (("year", "season"), "year", "a certain year"),
    (("song", "track"), "song", "a certain song"),
    (("movie", "film"), "film", "a certain film"),
    (("artist", "singer", "band"), "artist", "a certain artist"),
    (("team", "club"), "team", "a certain team"),
    (("room",), "room", "one of the rooms"),
    (("group", "channel", "chat"), "group", "a certain group"),
    (("brand",), "brand", "a certain brand"),
    (("cuisine",), "cuisine", "a certain cuisine"),
    (("restaurant",), "restaurant", "a certain restaurant"),
    (("product", "item"), "product", "a certain product"),
    (("title", "subject"), "title", "a certain title"),
    (("text", "message", "body", "content"), "message", "a certain message"),
    (("word", "term", "keyword"), "word", "a certain word"),
    (("user", "username", "person", "name"), "name", "a certain name"),
    (("id", "identifier", "code", "number"), "identifier", "a certain identifier"),
]

_WORD = re.compile(r"[a-z]+")


def words(text: str) -> list[str]:
    """Lower-case words of an identifier or sentence (``maxPrice``/``max_price`` → max, price)."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return _WORD.findall(text.lower())


def humanise(name: str) -> str:
    return " ".join(words(name)) or name


def synonyms(word: str) -> tuple[str, ...]:
    """The keywords that name the same kind of thing as ``word`` in the table above ("item" →
    product, item), or none."""
    for keys, _, _ in _KINDS:
        if word in keys:
            return keys
    return ()


def kind_of(param: ParamSpec | None, name: str) -> tuple[str, str] | None:
    """(noun, abstraction) for the first keyword found in the name, then in the description."""
    sources = [words(name)] + ([words(param.description)] if param else [])
    for ws in sources:
        for keys, noun, phrase in _KINDS:
            if any(k in ws for k in keys):
                return noun, phrase
    return None


def noun_for(param: ParamSpec | None, name: str) -> str:
    """How a question names a parameter: by its own words, so that it says which of several
    similar parameters it means ("origin airport", not "airport"); by its kind only when the name
    is too short to read ("q", "id")."""
    own = humanise(name)
    if len(own.replace(" ", "")) > 2:
        return own
    found = kind_of(param, name)
    return found[0] if found else own


def abstraction_for(param: ParamSpec | None, name: str, followed_by_word: bool) -> str:
    """A vague stand-in for a value, e.g. ``a certain city``; numbers before a unit get
    ``a certain number of`` so that ``for 3 nights`` becomes ``for a certain number of nights``."""
    ptype = param.type if param else "string"
    if ptype in ("integer", "number") and followed_by_word:
        return "a certain number of"
    found = kind_of(param, name)
    if found:
        return found[1]
    if ptype in ("integer", "number"):
        return f"a certain {humanise(name)} value"
    return f"a certain {humanise(name)}"


def element_abstraction(name: str) -> str:
    """Stand-in for one element of a list, e.g. ``symbols`` → ``one more symbol``."""
    noun = humanise(name)
    return "one more " + (noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun)
