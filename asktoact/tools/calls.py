"""The call-turn format of tool-use trajectories and the function specs shown to the model.

An assistant call turn is the tool's name on the first line and its arguments as one JSON object
on the rest (``book_taxi\\n{"city": "Lisbon"}``) — the TL-Training authors' released format. The
tools are listed, in the first (system) turn, as a JSON list of OpenAI-style function specs
(``{"type": "function", "function": {"name", "description", "parameters": {"type": "object",
"properties", "required"}}}``). Both directions live here so that data, training, RL and
evaluation read and write them the same way.
"""

from __future__ import annotations

import json
import re
from typing import Any

from asktoact.schema import ParamSpec, ToolSpec

_NAME = re.compile(r"[A-Za-z_][\w.\-]*")


def format_call(name: str, arguments: dict[str, Any]) -> str:
    return f"{name}\n{json.dumps(arguments, ensure_ascii=False)}"


def parse_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """(name, arguments) of a call turn, or None when the text is not one (prose, bad JSON,
    arguments that are not an object)."""
    head, _, rest = text.strip().partition("\n")
    head = head.strip()
    if not _NAME.fullmatch(head):
        return None
    try:
        arguments = json.loads(rest) if rest.strip() else {}
    except json.JSONDecodeError:
        return None
    return (head, arguments) if isinstance(arguments, dict) else None


def function_spec(tool: ToolSpec) -> dict[str, Any]:
    properties = {}
    for p in tool.parameters:
        entry: dict[str, Any] = {"type": p.type, "description": p.description}
        if p.default is not None:
            entry["default"] = p.default
        properties[p.name] = entry
    required = [p.name for p in tool.parameters if p.required]
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": parameters},
    }


def tool_from_spec(spec: dict[str, Any]) -> ToolSpec:
    """A ToolSpec from an OpenAI-style spec (with or without the ``{"function": …}`` wrapper).
    Raises ``KeyError``/``TypeError``/``ValueError`` on a spec without a name or with parameters
    that are not an object (the loader records the row with the reason)."""
    fn = spec.get("function", spec)
    name = fn["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"function name {name!r} is not an identifier")
    params = fn.get("parameters") or {}
    props = params.get("properties") or {}
    if not isinstance(props, dict):
        raise TypeError("parameters.properties is not an object")
    required = set(params.get("required") or [])
    out = tuple(
        ParamSpec(
            name=k,
            type=str((v or {}).get("type", "string")),
            description=str((v or {}).get("description", "")),
            required=k in required,
            default=(v or {}).get("default"),
        )
        for k, v in props.items()
    )
    return ToolSpec(name, str(fn.get("description", "")), out)
