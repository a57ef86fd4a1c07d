"""The text of single dialogue turns (AskToAct appendix C.2.2 structure, our words).

The first user message (request + candidate APIs as compact JSON), the first assistant turn's
opening (task decomposition and parameter evaluation), the confirmation after each answer, the
final summary with the solution JSON, and the assistant instructions every model is trained and
evaluated with. ``assemble`` puts them in order; ``augment`` writes a premature summary with them.
"""

from __future__ import annotations

import json
from typing import Any

from asktoact.constants import TAG_DECOMPOSITION, TAG_EVALUATION, TAG_SUMMARY
from asktoact.data import templates as T
from asktoact.data.clarify import Group
from asktoact.schema import Example, Message, TransformationRecord


def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


def compact_json(obj: Any) -> str:
    """JSON without spaces after separators: the same content in about a fifth fewer tokens."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def first_user_message(ex: Example, record: TransformationRecord) -> str:
    return request_message(record.unspecified_query, ex.tools)


def request_message(query: str, tools) -> str:
    """A request and its candidate APIs (``ToolSpec`` objects) as the first user turn shows them."""
    return T.FIRST_USER.format(
        query=query, tools=compact_json([t.to_dict(compact=True) for t in tools])
    )


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
    return summary_of([c.to_dict() for c in record.solution()] if solution is None else solution)


def summary_of(solution: list) -> str:
    """The final turn that gives ``solution`` (``[{"task", "arguments"}]``) as the calls."""
    return f"{TAG_SUMMARY} " + T.SUMMARY.format(solution=compact_json(solution))


def with_system_prompt(messages: list[Message], system_role: bool = True) -> list[Message]:
    """The dialogue as a model is trained on and evaluated with it: the assistant instructions
    (``templates.SYSTEM_PROMPT``) first. A chat template without a system role (Mistral) gets them
    prepended to the first user turn instead, where they stay put as the dialogue grows."""
    if system_role:
        return [{"role": "system", "content": T.SYSTEM_PROMPT}, *messages]
    first, *rest = messages
    return [{"role": first["role"], "content": f"{T.SYSTEM_PROMPT}\n\n{first['content']}"}, *rest]
