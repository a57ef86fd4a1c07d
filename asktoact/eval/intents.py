"""What the simulated user knows, and when an intent counts as clarified.

The user knows their original request only (AskToAct F.2). From the transformation record we take
what that request states: one *intent* per missing-value group (a value several calls share is
one intent) and one *stated fact* per argument the underspecified request still gives. Each fact
carries short descriptors for matching questions to it: the parameter's name, its API's name and
the API's own description of the parameter — never the dataset's clarification questions, which a
model trained on them would match more easily than any other model.

**Clarified**: an intent is clarified in the round whose user reply reveals its true value (the
value, or the expression the original request used for it, appears in the reply as a whole token).
A clarification round whose reply reveals no new intent is *wasted*: it counts in T but not in C.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asktoact.data.clarify import groups
from asktoact.data.locate import value_in_text
from asktoact.data.phrasing import humanise
from asktoact.schema import ToolSpec, TransformationRecord, render_value


@dataclass
class Fact:
    """Something the user can tell: an unspecified intent (``I<k>``) or a stated value (``S<k>``)."""

    key: str
    value_text: str  # how the user says it (as in their original request)
    forms: list[Any]  # what reveals it in a reply: the value and the original expression
    params: list[tuple[str, str]]  # (api, parameter)
    descriptors: list[str]


def _descriptors(api: str, name: str, tool: ToolSpec | None) -> list[str]:
    spec = tool.param(name) if tool else None
    out = [f"What is the {humanise(name)} for {humanise(api)}?"]
    if spec and spec.description:
        out.append(f"{humanise(name)}: {spec.description}")
    return out


def _label(record: TransformationRecord, call: int) -> str:
    """The API's name, with its step when the dialogue calls it more than once."""
    name = record.key_info[call].name
    repeated = sum(c.name == name for c in record.key_info) > 1
    return f"{name} (step {call + 1})" if repeated else name


def facts(record: TransformationRecord, tools: list[ToolSpec]) -> tuple[list[Fact], list[Fact]]:
    """(intents, stated facts) of a dialogue, in dialogue order."""
    tool = {t.name: t for t in tools}
    intents = []
    for k, group in enumerate(groups(record)):
        i, _, first = group[0]
        params = [(record.key_info[c].name, n) for c, n, _ in group]
        desc = [
            d
            for c, n, _ in group
            for d in _descriptors(_label(record, c), n, tool.get(record.key_info[c].name))
        ]
        # A partially obfuscated list hides one element: that element is the intent.
        forms = (
            [first.original_value]
            if first.strategy == "partial"
            else [first.value, first.original_value]
        )
        text = first.original_value or render_value(first.value)
        intents.append(Fact(f"I{k}", text, [f for f in forms if f not in ("", None)], params, desc))
    stated = []
    for k, (i, n, a) in enumerate(p for p in record.params() if not p[2].removed):
        api = record.key_info[i].name
        text = a.original_value or render_value(a.value)
        desc = _descriptors(_label(record, i), n, tool.get(api))
        stated.append(Fact(f"S{k}", text, [a.value], [(api, n)], desc))
    return intents, stated


def reveals(text: str, fact: Fact) -> bool:
    """Whether ``text`` states the fact's true value."""
    return any(value_in_text(text, form) for form in fact.forms)
