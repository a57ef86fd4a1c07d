"""OpenAI chat requests read as TL-Training's tool-use trajectories (``data=trajectories``), and a
written call returned as an OpenAI tool call — the protocol for models trained on next calls.

A trajectory is the chat those models learn from (:mod:`asktoact.data.trajectories`): a system
turn holding the candidate tools as OpenAI function specs (JSON), the user's request, then one
call per assistant turn (the tool's name on the first line, its arguments as a JSON object) and
the tool's answer as a ``function`` turn. So the request's earlier tool calls are written one per
turn, each followed by its result (matched by ``tool_call_id``). The model writes one call a turn
and reads its result before the next: a reply that parses as a call becomes one ``tool_call``;
anything else (the closing answer, a question) is plain content. Unlike the dialogue protocol a
tool result does not end the turn — the model decides whether to call again.
"""

from __future__ import annotations

import json
from typing import Any

from asktoact.data.trajectories import trajectory_chat
from asktoact.errors import ConfigError
from asktoact.serve.protocol import content_text, tool_specs
from asktoact.tools.calls import format_call, function_spec, parse_call


def _call_text(call: dict[str, Any]) -> str:
    fn = call.get("function", {})
    args = fn.get("arguments") or "{}"
    return format_call(fn.get("name", ""), json.loads(args) if isinstance(args, str) else args)


def trajectory(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The request as a trajectory. System text goes before the first request; a call whose
    result never came is kept as a call turn of its own."""
    specs = [function_spec(t) for t in tool_specs(tools)]
    out = [{"role": "system", "content": json.dumps(specs, ensure_ascii=False)}]
    preamble: list[str] = []
    pending: dict[str, str] = {}  # tool_call_id -> call text, in the order they were made

    def flush() -> None:
        out.extend({"role": "assistant", "content": c} for c in pending.values())
        pending.clear()

    for m in messages:
        role, text = m.get("role"), content_text(m.get("content"))
        if role == "tool":
            key = m.get("tool_call_id")
            key = key if key in pending else next(iter(pending), None)
            call = pending.pop(key) if key is not None else None
            if call is not None:  # a result of no known call has nothing to answer
                out += [
                    {"role": "assistant", "content": call},
                    {"role": "function", "content": text},
                ]
            continue
        flush()
        if role in ("system", "developer"):
            preamble.append(text)
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            pending.update((c.get("id") or f"#{k}", _call_text(c)) for k, c in enumerate(calls))
            if text and not calls:
                out.append({"role": "assistant", "content": text})
        elif role == "user":
            if not any(o["role"] == "user" for o in out):
                text = "\n".join([*preamble, text]).strip()
            out.append({"role": "user", "content": text})
        else:
            raise ConfigError(f"request messages: unknown role {role!r}")
    flush()
    if len(out) < 2 or out[1]["role"] != "user":
        raise ConfigError("request messages: no user message to answer")
    return out


class TrajectoryProtocol:
    """Models trained on tool-use trajectories: one call a turn, every result read."""

    name = "trajectory"

    def done(self, messages: list[dict[str, Any]]) -> bool:
        return False  # after a result the model writes its next call or its answer

    def prompt(self, agent, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
        return agent.chat_text(trajectory_chat(trajectory(messages, tools), agent.system_role))

    def reply(self, text: str, call_id: str) -> dict[str, Any]:
        call = parse_call(text)
        if call is None:
            return {"role": "assistant", "content": text, "tool_calls": None}
        name, arguments = call
        function = {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}
        tool_call = {"id": f"{call_id}-0", "type": "function", "function": function}
        return {"role": "assistant", "content": text, "tool_calls": [tool_call]}
