"""Template dialogue assembly (AskToAct appendix C.2.2 and D.2).

A dialogue is a sequence of *actions*: one clarification question per missing-value group, then
the final summary with the solution JSON. The first assistant turn opens with the task
decomposition and the parameter evaluation; each later turn confirms the value just given. An
error annotated on the record by the augmentation stage is rendered at its action slot between
``<SOE>`` and ``<EOE>`` followed by the type's correction; for imprecise and irrelevant questions
the user answers the faulty question first and the correction opens the next assistant turn.
"""

from __future__ import annotations

import random
from typing import Any

from asktoact.constants import EOE, SOE, TAG_QUESTION
from asktoact.data import templates as T
from asktoact.data.augment import ERRORS
from asktoact.data.clarify import Group, groups
from asktoact.data.turns import confirmation, first_user_message, opening, summary
from asktoact.schema import Example, Message, TransformationRecord


def user_answer(group: Group, rng: random.Random) -> str:
    arg = group[0][2]
    answer = arg.original_value or str(arg.value)
    return rng.choice(T.TONES[rng.choice(list(T.TONES))]).format(value=answer)


def find_error(record: TransformationRecord) -> dict[str, Any] | None:
    for _, _, arg in record.params():
        if arg.error:
            return {"type": arg.error, **(arg.error_detail or {})}
    return None


def build_messages(ex: Example, record: TransformationRecord, seed: int) -> list[Message]:
    """The full chat for a record (with its error, if one is annotated)."""
    rng = random.Random(f"assemble:{seed}:{record.id}")
    gs = groups(record)
    actions = [f"{TAG_QUESTION} {g[0][2].question}" for g in gs] + [summary(record)]
    error = find_error(record)
    messages: list[Message] = [{"role": "user", "content": first_user_message(ex, record)}]
    prefix = opening(record)
    for slot, action in enumerate(actions):
        if error and error["slot"] == slot:
            prefix, action = _inject(error, prefix, action, messages, rng)
        messages.append({"role": "assistant", "content": f"{prefix} {action}"})
        if slot < len(gs):
            messages.append({"role": "user", "content": user_answer(gs[slot], rng)})
            prefix = confirmation(record, gs[slot])
    return messages


def _inject(error: dict, prefix: str, action: str, messages: list[Message], rng: random.Random):
    """Render the error before ``action``; returns the (prefix, action) of the turn that goes on."""
    kind = ERRORS[error["type"]]
    wrapped = f"{SOE} {error['content']} {EOE}"
    correction = kind.correction.format(**error.get("fill", {}))
    if kind.user_replies is not None:
        # The user has to react to the faulty question before the assistant can correct itself.
        messages.append({"role": "assistant", "content": f"{prefix} {wrapped}"})
        replies = kind.user_replies
        messages.append({"role": "user", "content": rng.choice(replies[rng.choice(list(replies))])})
        return correction, action
    return f"{prefix} {wrapped} {correction}", action
