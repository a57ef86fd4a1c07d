"""What the simulated user knows, and when an intent counts as clarified.

The user knows their original request only (AskToAct F.2). From the transformation record we take
what that request states: one *intent* per missing-value group (a value several calls share is
one intent) and one *stated fact* per argument the underspecified request still gives. Each fact
carries what matching a question to it may use (:mod:`asktoact.eval.matching`): where it sits
(call, API, parameter) and the API's own description of the parameter — never the dataset's
clarification questions or our question templates, which a model trained on them would match
more easily than any other model.

**Clarified**: an intent is clarified in the round whose user reply reveals its true value (the
value, or the expression the original request used for it, appears in the reply as a whole token).
A clarification round whose reply reveals no new intent is *wasted*: it counts in T but not in C.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from asktoact.data.clarify import groups
from asktoact.data.locate import value_in_text
from asktoact.data.phrasing import humanise
from asktoact.eval.matching import Profile, profile
from asktoact.schema import ToolSpec, TransformationRecord, render_value


@dataclass
class Fact:
    """Something the user can tell: an unspecified intent (``I<k>``) or a stated value (``S<k>``)."""

    key: str
    value_text: str  # how the user says it (as in their original request)
    forms: list[Any]  # what reveals it in a reply: the value and the original expression
    places: list[tuple[int, str, str]]  # (call, api, parameter)
    descriptors: list[str]  # "<parameter>: <the API's description of it>", per place
    profile: Profile | None = None

    @property
    def params(self) -> list[tuple[str, str]]:
        """(api, parameter) of each place."""
        return [(api, name) for _, api, name in self.places]


def _descriptor(name: str, tool: ToolSpec | None) -> str:
    spec = tool.param(name) if tool else None
    description = spec.description if spec and spec.description else ""
    return f"{humanise(name)}: {description}".strip(": ")


def said_after(request: str, value: str) -> str:
    """The word the user's own request puts before the value ("from" in "order pad thai from
    Spice Route"), "" when the value is not written there."""
    found = re.search(rf"(\w+)\W+{re.escape(value)}\b", request, re.IGNORECASE) if value else None
    return found.group(1).lower() if found else ""


def facts(record: TransformationRecord, tools: list[ToolSpec]) -> tuple[list[Fact], list[Fact]]:
    """(intents, stated facts) of a dialogue, in dialogue order, each with its matching profile."""
    tool = {t.name: t for t in tools}

    def fact(key: str, text: str, forms: list[Any], places: list[tuple[int, str, str]]) -> Fact:
        desc = [_descriptor(name, tool.get(api)) for _, api, name in places]
        said = said_after(record.original_query, text)
        return Fact(key, text, forms, places, desc, profile(key, places, tool, text, said))

    intents = []
    for k, group in enumerate(groups(record)):
        _, _, first = group[0]
        places = [(c, record.key_info[c].name, n) for c, n, _ in group]
        # A partially obfuscated list hides one element: that element is the intent.
        forms = (
            [first.original_value]
            if first.strategy == "partial"
            else [first.value, first.original_value]
        )
        text = first.original_value or render_value(first.value)
        intents.append(fact(f"I{k}", text, [f for f in forms if f not in ("", None)], places))
    stated = []
    for k, (i, n, a) in enumerate(p for p in record.params() if not p[2].removed):
        text = a.original_value or render_value(a.value)
        stated.append(fact(f"S{k}", text, [a.value], [(i, record.key_info[i].name, n)]))
    return intents, stated


def reveals(text: str, fact: Fact) -> bool:
    """Whether ``text`` states the fact's true value."""
    return any(value_in_text(text, form) for form in fact.forms)
