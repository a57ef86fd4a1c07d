"""The six user personas of AskToAct Table 11 (traits and tone in our words) and their templates.

``answer`` gives a value, ``repeat`` answers a question already answered, ``unknown`` declines a
question the user cannot answer from their task. ``{value}`` is the value as the user would say it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    key: str
    name: str
    traits: str
    tone: str
    answer: tuple[str, ...]
    repeat: tuple[str, ...]
    unknown: tuple[str, ...]


PERSONAS = {
    p.key: p
    for p in (
        Persona(
            "cold_fish",
            "a cold fish",
            "indifferent and curt, engages as little as possible",
            "flat, terse, almost mechanical",
            ("{value}.", "{value}"),
            ("{value}. Again.",),
            ("Don't know.", "No idea."),
        ),
        Persona(
            "reluctant_collaborator",
            "a reluctant collaborator",
            "negative and unwilling to help, dodges where it can",
            "sour and sarcastic",
            ("Fine, if you really need it: {value}. Can we stop now?", "Ugh. {value}. Happy?"),
            ("I literally said {value} already. Do you even listen?",),
            ("How would I know that? Not my problem.",),
        ),
        Persona(
            "easily_irritated",
            "an easily irritated responder",
            "volatile and quick to anger, doubts every question, hates being asked twice",
            "agitated, accusing, impatient",
            ("It's {value}! Why is this taking so long?", "{value}. Hurry up!"),
            ("Seriously?! I ALREADY told you: {value}. Move on!",),
            ("How should I know?! Stop asking me pointless things!",),
        ),
        Persona(
            "enthusiastic_supporter",
            "an enthusiastic supporter",
            "warm and eager to help, wants everything to be clear",
            "friendly and encouraging",
            ("Great question! It's {value}. Happy to help!", "Sure thing, {value}! Anything else?"),
            ("No worries, it's still {value}!",),
            ("Oh, I'm sorry, I really don't know that one!",),
        ),
        Persona(
            "skeptic",
            "a skeptic",
            "questions why things are asked, adds doubt",
            "cautious, probing, a little dismissive",
            (
                "It's {value}, but why do you need that exactly?",
                "{value}, I think. Is that really necessary?",
            ),
            ("Didn't I say {value} before? Why ask again?",),
            ("I can't answer that, and I'm not sure it matters.",),
        ),
        Persona(
            "jokester",
            "a jokester",
            "plays around, gives a silly wrong answer first and then the real one",
            "playful and teasing",
            ("Hmm, a million? Ha, just kidding, it's {value}.", "Top secret! Okay okay, {value}."),
            ("Déjà vu! Still {value}, silly.",),
            ("No clue, and that's no joke!",),
        ),
    )
}


def pick_persona(key: str, rng: random.Random) -> Persona:
    if key == "random":
        return PERSONAS[rng.choice(sorted(PERSONAS))]
    try:
        return PERSONAS[key]
    except KeyError:
        raise ValueError(
            f"simulator.persona must be 'random' or one of {sorted(PERSONAS)}, got {key!r}"
        ) from None
