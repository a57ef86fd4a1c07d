"""OpenAI chat requests with ``tools`` read as our evaluation protocol, and our replies written
back as OpenAI tool calls — so a client that speaks function calling (BFCL's FC handler, any
OpenAI SDK) can score a model trained on ``[QUESTION]`` / ``[SUMMARY]`` turns.

The request becomes the dialogue our models are trained and evaluated on: the assistant
instructions, a first user turn with the request and the candidate APIs as compact JSON
(:func:`asktoact.data.turns.request_message`), then the later turns. An earlier assistant turn
that called tools is shown as the ``[SUMMARY]`` that would have made those calls. Our protocol
gives all of a request's calls in one summary and never reads their results, so a request whose
last message is a tool result is answered without generating: the turn is complete
(:data:`TURN_DONE`, no calls). A reply with a readable ``[SUMMARY]`` solution becomes
``tool_calls``; a question, or a summary whose solution cannot be read, is plain content (a turn
that calls nothing). :class:`DialogueProtocol` is this module to the server; the next-call
protocol of tool-use trajectories is :mod:`asktoact.serve.trajectory`.
"""

from __future__ import annotations

import json
from typing import Any

from asktoact.data.sources.base import RowError
from asktoact.data.sources.xlam import parse_tool
from asktoact.data.turns import request_message, summary_of
from asktoact.errors import ConfigError
from asktoact.eval.parse import parse_turn

TURN_DONE = "The calls have been made."


def tool_specs(tools: list[dict[str, Any]]) -> list:
    """OpenAI ``tools`` entries (``{"type": "function", "function": {...}}``) as ``ToolSpec``s."""
    specs = []
    for i, tool in enumerate(tools):
        function = tool.get("function", tool) if isinstance(tool, dict) else None
        try:
            specs.append(parse_tool(function, i))
        except RowError as err:
            raise ConfigError(f"request tools[{i}]: {err}") from err
    return specs


def content_text(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of ``{"type": "text"}`` parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _as_summary(tool_calls: list[dict[str, Any]]) -> str:
    solution = []
    for call in tool_calls:
        fn = call.get("function", {})
        args = fn.get("arguments") or "{}"
        args = json.loads(args) if isinstance(args, str) else args
        solution.append(
            {
                "task": fn.get("name", ""),
                "arguments": [{"name": k, "value": v} for k, v in args.items()],
            }
        )
    return summary_of(solution)


def dialogue(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The request's messages as our dialogue (without the assistant instructions, which the
    agent adds as its chat format allows). System text goes before the first request."""
    specs, out, preamble = tool_specs(tools), [], []
    for m in messages:
        role, text = m.get("role"), content_text(m.get("content"))
        if role in ("system", "developer"):
            preamble.append(text)
        elif role == "tool":
            continue  # results are not part of our protocol (see the module docstring)
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            out.append({"role": "assistant", "content": _as_summary(calls) if calls else text})
        elif role == "user":
            if not any(o["role"] == "user" for o in out):
                text = request_message("\n".join([*preamble, text]).strip(), specs)
            out.append({"role": "user", "content": text})
        else:
            raise ConfigError(f"request messages: unknown role {role!r}")
    if not out or out[0]["role"] != "user":
        raise ConfigError("request messages: no user message to answer")
    return out


def turn_is_done(messages: list[dict[str, Any]]) -> bool:
    """The last message is a tool result: the calls of this turn were made."""
    return bool(messages) and messages[-1].get("role") == "tool"


def reply_message(text: str, call_id: str) -> dict[str, Any]:
    """Our model's turn as an OpenAI assistant message: tool calls from a readable summary."""
    parsed = parse_turn(text)
    if parsed.kind != "summary" or not parsed.solution:
        return {"role": "assistant", "content": text, "tool_calls": None}
    calls = [
        {
            "id": f"{call_id}-{k}",
            "type": "function",
            "function": {
                "name": c["task"],
                "arguments": json.dumps({a["name"]: a["value"] for a in c["arguments"]}),
            },
        }
        for k, c in enumerate(parsed.solution)
    ]
    return {"role": "assistant", "content": text, "tool_calls": calls}


class DialogueProtocol:
    """The server's view of this module: models trained on AskToAct dialogues."""

    name = "dialogue"

    def done(self, messages: list[dict[str, Any]]) -> bool:
        return turn_is_done(messages)

    def prompt(self, agent, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
        return agent.prompt(dialogue(messages, tools))

    def reply(self, text: str, call_id: str) -> dict[str, Any]:
        return reply_message(text, call_id)
