"""Template dialogue assembly (AskToAct appendix C.2.2 and D.2).

A dialogue is a sequence of *actions*: one clarification question per missing-value group, then
the final summary with the solution JSON. The first assistant turn opens with the task
decomposition and the parameter evaluation; each later turn confirms the value just given. An
error annotated on the record by the augmentation stage is rendered at its action slot between
``<SOE>`` and ``<EOE>`` followed by the type's correction; for imprecise and irrelevant questions
the user answers the faulty question first and the correction opens the next assistant turn.
"""

from __future__ import annotations

import json
import random
from typing import Any

from asktoact.constants import (
    EOE,
    SOE,
    TAG_DECOMPOSITION,
    TAG_EVALUATION,
    TAG_QUESTION,
    TAG_SUMMARY,
)
from asktoact.data import templates as T
from asktoact.data.clarify import Group, groups
from asktoact.schema import Example, Message, TransformationRecord


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def compact_json(obj: Any) -> str:
    """JSON without spaces after separators: the same content in about a fifth fewer tokens."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def first_user_message(ex: Example, record: TransformationRecord) -> str:
    tools = compact_json([t.to_dict(compact=True) for t in ex.tools])
    return T.FIRST_USER.format(query=record.unspecified_query, tools=tools)


def opening(record: TransformationRecord) -> str:
    steps = " ".join(record.tool_steps)
    lines = []
    for k, call in enumerate(record.key_info, start=1):
        items = [
            T.EVAL_MISSING.format(param=n)
            if a.removed
            else T.EVAL_KNOWN.format(param=n, value=_value(a.value))
            for n, a in call.arguments.items()
        ]
        if items:
            lines.append(T.EVAL_STEP.format(k=k, api=call.name, items="; ".join(items)))
    decomposition = T.DECOMPOSITION.format(n=len(record.key_info), steps=steps)
    return f"{TAG_DECOMPOSITION} {decomposition} {TAG_EVALUATION} {' '.join(lines)}"


def confirmation(record: TransformationRecord, group: Group) -> str:
    parts = [
        T.CONFIRM.format(api=record.key_info[i].name, param=n, value=_value(a.value))
        for i, n, a in group
    ]
    return f"{TAG_EVALUATION} " + " ".join(parts)


def summary(record: TransformationRecord, solution: list | None = None) -> str:
    calls = compact_json([c.to_dict() for c in record.solution()] if solution is None else solution)
    return f"{TAG_SUMMARY} " + T.SUMMARY.format(solution=calls)


def with_system_prompt(messages: list[Message], system_role: bool = True) -> list[Message]:
    """The dialogue as a model is trained on and evaluated with it: the assistant instructions
    (``templates.SYSTEM_PROMPT``) first. A chat template without a system role (Mistral) gets them
    prepended to the first user turn instead, where they stay put as the dialogue grows."""
    if system_role:
        return [{"role": "system", "content": T.SYSTEM_PROMPT}, *messages]
    first, *rest = messages
    return [{"role": first["role"], "content": f"{T.SYSTEM_PROMPT}\n\n{first['content']}"}, *rest]


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
    kind = error["type"]
    wrapped = f"{SOE} {error['content']} {EOE}"
    correction = T.CORRECTIONS[kind].format(**error.get("fill", {}))
    if kind in ("imprecise", "irrelevant"):
        # The user has to react to the faulty question before the assistant can correct itself.
        messages.append({"role": "assistant", "content": f"{prefix} {wrapped}"})
        replies = T.UNCLEAR_REPLIES if kind == "imprecise" else T.IRRELEVANT_REPLIES
        messages.append({"role": "user", "content": rng.choice(replies[rng.choice(list(replies))])})
        return correction, action
    return f"{prefix} {wrapped} {correction}", action
