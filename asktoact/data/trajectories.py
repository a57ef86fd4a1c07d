"""Tool-use trajectories (TL-Training's training data) over the executable tool environment.

From any source's examples (query, candidate tools, gold calls), a trajectory is: a system turn
listing the tools as OpenAI-style function specs (JSON), the user's request, then for each gold
call an assistant call turn (``name\\n{json arguments}``, :mod:`asktoact.tools.calls`) and the
environment's answer as a ``function`` turn, and a closing assistant answer. A seeded share
(``error_rate``) of the calls is first made wrongly, in one of TL-Training's ways
(:data:`ERROR_KINDS`), answered by the environment's error and followed by the correct call; the
environment's seeded transient failures (``transient_rate``) are answered the same way and the
same call is retried. Every error turn is recorded (turn index, kind, category), which is what
the tests check MAE against — MAE itself finds them from the feedback alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asktoact.configurable import configurable
from asktoact.schema import Example, ToolCall, ToolSpec
from asktoact.tools.calls import format_call, function_spec
from asktoact.tools.env import JSON_TYPES, ToolEnvironment

MAX_ATTEMPTS = 3  # a correct call retried after transient failures


@dataclass(frozen=True)
class ErrorKind:
    """One way to get a call wrong: ``eligible(tool, args)`` says whether it applies, ``make``
    returns the wrong (name, arguments); the environment's answer decides the category."""

    eligible: Callable[[ToolSpec, dict[str, Any]], bool]
    make: Callable[[ToolSpec, dict[str, Any], list[ToolSpec], random.Random], tuple[str, dict]]


def _similar_name(tool, args, tools, rng):
    """A name that shares the tool's prefix but is none of the tools (the model half-remembers)."""
    names = {t.name for t in tools}
    stem = tool.name.rsplit("_", 1)[0]
    options = [tool.name + "s", f"{tool.name}_v2", f"{stem}_details", f"{stem}_request"]
    return rng.choice([n for n in options if n not in names]), dict(args)


def _hallucinated_param(tool, args, tools, rng):
    known = {p.name for p in tool.parameters}
    extra = rng.choice([n for n in ("user_id", "priority", "notes", "format") if n not in known])
    return tool.name, {**args, extra: "default"}


def _missing_param(tool, args, tools, rng):
    required = [p.name for p in tool.parameters if p.required and p.name in args]
    drop = rng.choice(required)
    return tool.name, {k: v for k, v in args.items() if k != drop}


def _wrong_value(tool, args, tools, rng):
    """A value of the wrong JSON type (a number as text, text as a number)."""
    name = rng.choice(_checkable(tool, args))
    kind = tool.param(name).type
    value = args[name]
    wrong = len(str(value)) if kind == "string" else json.dumps(value)
    return tool.name, {**args, name: wrong}


def _checkable(tool, args) -> list[str]:
    """Arguments whose schema type the environment checks (a wrong type is then refused)."""
    return [k for k in args if tool.param(k) is not None and tool.param(k).type in JSON_TYPES]


ERROR_KINDS: dict[str, ErrorKind] = {
    "similar_tool": ErrorKind(lambda tool, args: True, _similar_name),
    "hallucinated_parameter": ErrorKind(lambda tool, args: True, _hallucinated_param),
    "missing_parameter": ErrorKind(
        lambda tool, args: any(p.required and p.name in args for p in tool.parameters),
        _missing_param,
    ),
    "wrong_value": ErrorKind(lambda tool, args: bool(_checkable(tool, args)), _wrong_value),
}


def trajectory(
    example: Example, env: ToolEnvironment, error_rate: float, kinds: list[str], seed: int
) -> dict[str, Any] | str:
    """The trajectory row of one example, or the reason it has none."""
    rng = random.Random(f"{seed}:{example.id}")
    specs = [function_spec(t) for t in example.tools]
    messages = [
        {"role": "system", "content": json.dumps(specs, ensure_ascii=False)},
        {"role": "user", "content": example.query},
    ]
    errors, references = [], []
    for step, call in enumerate(example.solution):
        tool, args = example.tool(call.task), call.args
        if tool is None:
            return f"gold call {step} uses {call.task!r}, which is not a candidate tool"
        usable = [k for k in kinds if ERROR_KINDS[k].eligible(tool, args)]
        if usable and rng.random() < error_rate:
            kind = rng.choice(usable)
            name, wrong = ERROR_KINDS[kind].make(tool, args, list(example.tools), rng)
            result = env.execute(name, wrong, key=f"{example.id}:{step}:wrong")
            if result.ok:  # a wrong call the environment accepts teaches nothing to MAE
                return f"the {kind} error of call {step} was not refused by the environment"
            errors.append({"turn": len(messages), "kind": kind, "category": result.category})
            messages += _exchange(name, wrong, result.content)
        for attempt in range(MAX_ATTEMPTS):
            result = env.execute(call.task, args, key=f"{example.id}:{step}:{attempt}")
            if result.category not in (None, "tool_instability"):
                return f"gold call {step} is refused by the environment: {result.content}"
            if not result.ok:
                errors.append(
                    {"turn": len(messages), "kind": "transient", "category": result.category}
                )
            messages += _exchange(call.task, args, result.content)
            if result.ok:
                references.append(f"{call.task} ({json.loads(result.content)['reference']})")
                break
        else:
            return f"call {step} failed transiently {MAX_ATTEMPTS} times"
    closing = "Everything you asked for went through: " + ", ".join(references) + "."
    messages.append({"role": "assistant", "content": closing})
    return {
        "id": example.id,
        "source": example.source,
        "domain": example.domain,
        "messages": messages,
        "tools": json.dumps([t.to_dict() for t in example.tools], ensure_ascii=False),
        "calls": json.dumps([_call_dict(c) for c in example.solution], ensure_ascii=False),
        "errors": json.dumps(errors),
        "n_calls": len(example.solution),
        "n_errors": len(errors),
    }


def _exchange(name: str, arguments: dict[str, Any], feedback: str) -> list[dict[str, str]]:
    return [
        {"role": "assistant", "content": format_call(name, arguments)},
        {"role": "function", "content": feedback},
    ]


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {"name": call.task, "arguments": call.args}


@configurable(
    exclude=("rejects",),
    bounds={
        "n": {"ge": 1},
        "max_calls": {"ge": 1},
        "error_rate": {"ge": 0.0, "le": 1.0},
        "transient_rate": {"ge": 0.0, "lt": 1.0},
    },
)
def load(
    n: int = 600,
    seed: int = 0,
    max_calls: int = 3,
    distractors: int = 2,
    error_rate: float = 0.3,
    transient_rate: float = 0.05,
    kinds: list[str] | None = None,
    domains: list[str] | None = None,
    exclude_domains: list[str] | None = None,
    name: str = "trajectories",
    rejects=None,
) -> list[dict[str, Any]]:
    """``n`` trajectories over the demo APIs (``asktoact.data.sources.demo``): its requests and
    gold calls, ``error_rate`` of the calls made wrongly first (``kinds``, default all of
    :data:`ERROR_KINDS`), ``transient_rate`` of the well-formed calls failing like a flaky
    service. An example with no trajectory goes to ``rejects`` with the reason."""
    from asktoact.data.sources import demo

    kinds = list(kinds or ERROR_KINDS)
    unknown = sorted(set(kinds) - set(ERROR_KINDS))
    if unknown:
        raise ValueError(f"data.kinds: unknown {unknown}; valid: {sorted(ERROR_KINDS)}")
    examples = demo.load(n, seed, max_calls, distractors, domains, exclude_domains)
    rows = []
    for example in examples:
        env = ToolEnvironment(list(example.tools), seed, transient_rate)
        row = trajectory(example, env, error_rate, kinds, seed)
        if isinstance(row, str):
            if rejects is not None:
                rejects.add(name, example.id, row)
            continue
        rows.append(row)
    return rows


load.produces = "trajectories"  # build() writes these rows as they are (data/trajectory_build.py)


def trajectory_chat(messages: list[dict[str, str]], system_role: bool = True) -> list[dict]:
    """A trajectory as a model is trained on and evaluated with it: as written, its system turn
    (the tools) first; a chat template without a system role (Mistral) gets the tools at the
    head of the first user turn instead."""
    if system_role or messages[0]["role"] != "system":
        return list(messages)
    system, first, *rest = messages
    return [{"role": first["role"], "content": f"{system['content']}\n\n{first['content']}"}, *rest]
