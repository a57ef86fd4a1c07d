"""The six user personas of AskToAct Table 11: traits, tone and behaviour, in our words.

Wording: ``answer`` gives a value (``{value}``), ``avoid`` dodges a question without giving it,
``repeat`` gives a value already given (asked again), ``refuse_repeat`` dodges a question already
answered, ``unknown`` says the user cannot answer, ``confused`` says the user cannot tell what the
assistant is asking (a turn with no question in it: a wasted round). ``example`` is the persona's reply to "What is
your name?" when the name is Emma (the LLM simulator's prompt shows it, as F.2 does).

Behaviour (the rules simulator; also documented in the README):

====================== ================================ ============ ============
persona                how it answers                   avoids first avoids again
====================== ================================ ============ ============
cold_fish              the bare value                   never        never
reluctant_collaborator sour, sarcastic                  30 %         60 %
easily_irritated       angry; hates repeated questions  25 %         80 %
enthusiastic_supporter warm                             never        never
skeptic                the value, with doubt            never        never
jokester               a wrong value, then the real one never        never
====================== ================================ ============ ============

"Avoids first": the first question about a still-open intent gets ``avoid`` instead of the value
with that chance; asked again, the user gives in and answers. "Avoids again": a question about an
intent already answered gets ``refuse_repeat`` instead of ``repeat``. Each decision is a pure
function of (seed, dialogue id, intent, attempt): see :func:`chance`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    key: str
    name: str
    traits: str
    tone: str
    example: str
    answer: tuple[str, ...]
    avoid: tuple[str, ...]
    repeat: tuple[str, ...]
    refuse_repeat: tuple[str, ...]
    unknown: tuple[str, ...]
    confused: tuple[str, ...]
    avoid_first: float = 0.0
    avoid_again: float = 0.0


PERSONAS = {
    p.key: p
    for p in (
        Persona(
            "cold_fish",
            "a cold fish",
            "indifferent to questions, curt, engages as little as possible",
            "flat, terse, almost mechanical",
            "Emma.",
            answer=("{value}.", "{value}"),
            avoid=("No.",),
            repeat=("{value}. Again.",),
            refuse_repeat=("Already said.",),
            unknown=("Don't know.", "No idea."),
            confused=("What's the question?", "Not following."),
        ),
        Persona(
            "reluctant_collaborator",
            "a reluctant collaborator",
            "openly negative and unwilling to help, dodges questions where it can",
            "sour, resistant, sarcastic",
            "Why would you even need my name? Let's skip that, okay?",
            answer=(
                "Fine, if you really need it: {value}. Can we stop now?",
                "Ugh. {value}. Happy?",
            ),
            avoid=("Why do you even need that? Let's skip it.", "Do I have to? Next question."),
            repeat=("I literally said {value} already. Do you even listen?",),
            refuse_repeat=("I'm not saying it twice.",),
            unknown=("How would I know that? Not my problem.",),
            confused=("Are you asking me something or just talking? Make it quick.",),
            avoid_first=0.30,
            avoid_again=0.60,
        ),
        Persona(
            "easily_irritated",
            "an easily irritated responder",
            "volatile and quick to anger, doubts every question, hates being asked twice",
            "agitated, accusing, impatient",
            "Seriously? Why does everyone need my name? Can we move on?",
            answer=("It's {value}! Why is this taking so long?", "{value}. Hurry up!"),
            avoid=("What kind of question is that?! Just get on with it!",),
            repeat=("Seriously?! I ALREADY told you: {value}. Move on!",),
            refuse_repeat=("I already told you! I'm not repeating myself!",),
            unknown=("How should I know?! Stop asking me pointless things!",),
            confused=("What are you even asking me?! Say it plainly!",),
            avoid_first=0.25,
            avoid_again=0.80,
        ),
        Persona(
            "enthusiastic_supporter",
            "an enthusiastic supporter",
            "warm and eager to help, wants everything to be clear",
            "friendly and encouraging",
            "I'm Emma! So lovely to meet you!",
            answer=(
                "Great question! It's {value}. Happy to help!",
                "Sure thing, {value}! Anything else?",
            ),
            avoid=("Oh, let me think about that one!",),
            repeat=("No worries, it's still {value}!",),
            refuse_repeat=("I think I mentioned that already!",),
            unknown=("Oh, I'm sorry, I really don't know that one!",),
            confused=("Sorry, I'm not sure what you'd like me to tell you. Could you ask again?",),
        ),
        Persona(
            "skeptic",
            "a skeptic",
            "questions why things are asked and adds doubt, which can confuse",
            "cautious, probing, a little dismissive",
            "It's Emma, but why do you want to know? Is something else going on?",
            answer=(
                "It's {value}, but why do you need that exactly?",
                "{value}, I think. Is that really necessary?",
            ),
            avoid=("Why would that matter?",),
            repeat=("Didn't I say {value} before? Why ask again?",),
            refuse_repeat=("You asked that already. Why?",),
            unknown=("I can't answer that, and I'm not sure it matters.",),
            confused=("I don't see a question there. What do you actually want from me?",),
        ),
        Persona(
            "jokester",
            "a jokester",
            "playful, first gives a silly wrong answer and then takes it back",
            "light-hearted and teasing",
            "I'm Amy, haha, just kidding! I'm Emma.",
            answer=(
                "Banana! Ha, just kidding, it's {value}.",
                "Hmm, the moon? Nah, only joking: {value}.",
            ),
            avoid=("That's for me to know and you to find out!",),
            repeat=("Deja vu! Still {value}, silly.",),
            refuse_repeat=("Nice try, I already answered that one!",),
            unknown=("No clue, and that's no joke!",),
            confused=("Was that a riddle? I didn't catch any question in it!",),
        ),
    )
}


def fingerprint() -> str:
    """A hash of every persona's wording and behaviour: evaluation stores and resumes are keyed
    by it, so a persona added or reworded never reuses evaluations made with the old set."""
    from dataclasses import asdict

    from asktoact.identity import config_hash

    return config_hash([asdict(p) for p in PERSONAS.values()])


def pick_persona(key: str, rng: random.Random) -> Persona:
    if key == "random":
        return PERSONAS[rng.choice(sorted(PERSONAS))]
    try:
        return PERSONAS[key]
    except KeyError:
        raise ValueError(
            f"simulator.persona must be 'random' or one of {sorted(PERSONAS)}, got {key!r}"
        ) from None


def chance(seed: int, dialogue: str, intent: str, attempt: int, what: str) -> float:
    """A number in [0, 1) fixed by (seed, dialogue, intent, attempt, what): a persona's decision
    is ``chance(...) < probability``, so episodes replay identically and can be worked by hand."""
    blob = f"{seed}|{dialogue}|{intent}|{attempt}|{what}".encode()
    return int(hashlib.sha256(blob).hexdigest()[:8], 16) / 16**8
