"""An executable tool environment: calls checked against the tools' schemas, answered with a
plausible result or with the error a real tool stack would print.

``ToolEnvironment(tools, seed, transient_rate).execute(name, arguments, key)`` is deterministic in
(seed, key): the same call at the same place of the same trajectory always gets the same answer,
so datasets rebuild byte for byte. The error categories are TL-Training's (its Table 14), and each
message has the shape :mod:`asktoact.tools.feedback` recognises, so MAE finds the failed turn from
the feedback alone (:mod:`asktoact.tools.feedback`) (a test checks the two agree):

====================== ==========================================================================
category               when
====================== ==========================================================================
tool_hallucination     the name is not one of the tools ("NameError: name 'x' is not defined")
parameter_hallucination an argument the tool does not take ("… got an unexpected keyword argument")
parameter_missing      a required argument is absent ("… missing 1 required positional argument")
tool_call_failure      an argument of the wrong JSON type ("TypeError: … expects integer, got str")
tool_instability       a seeded share of well-formed calls fails like a flaky service (HTTP 503,
                       a read time-out); the same call retried goes through
====================== ==========================================================================
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from asktoact.schema import ToolSpec

CATEGORIES = (
    "tool_hallucination",
    "parameter_hallucination",
    "parameter_missing",
    "tool_call_failure",
    "tool_instability",
)

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}
_PY_NAMES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    content: str  # what the function turn says
    category: str | None = None  # an error's category (CATEGORIES), None on success


class ToolEnvironment:
    def __init__(self, tools: list[ToolSpec], seed: int = 0, transient_rate: float = 0.0):
        if not 0.0 <= transient_rate < 1.0:
            raise ValueError(f"transient_rate must be in [0, 1), got {transient_rate}")
        self.tools = {t.name: t for t in tools}
        self.seed, self.transient_rate = seed, transient_rate

    def execute(self, name: str, arguments: dict[str, Any], key: str = "") -> ToolResult:
        error = self.check(name, arguments)
        if error is not None:
            return error
        rng = random.Random(f"{self.seed}:{key}:{name}")
        if rng.random() < self.transient_rate:
            return _transient(name, rng)
        return ToolResult(True, _result(name, arguments, self.seed))

    def check(self, name: str, arguments: dict[str, Any]) -> ToolResult | None:
        """The schema error of the call, or None when the call is well formed."""
        tool = self.tools.get(name)
        if tool is None:
            return _error("tool_hallucination", f"NameError: name '{name}' is not defined")
        known = {p.name: p for p in tool.parameters}
        for arg in arguments:
            if arg not in known:
                text = f"TypeError: {name}() got an unexpected keyword argument '{arg}'"
                return _error("parameter_hallucination", text)
        for p in tool.parameters:
            if p.required and p.name not in arguments:
                text = f"TypeError: {name}() missing 1 required positional argument: '{p.name}'"
                return _error("parameter_missing", text)
        for arg, value in arguments.items():
            if not _has_type(value, known[arg].type):
                got = _PY_NAMES.get(type(value), type(value).__name__)
                text = f"TypeError: {name}(): argument '{arg}' expects {known[arg].type}, got {got}"
                return _error("tool_call_failure", text)
        return None


def _has_type(value: Any, json_type: str) -> bool:
    kinds = JSON_TYPES.get(json_type)
    if kinds is None:
        return True  # a type the schema language of the source does not pin down
    if isinstance(value, bool) and json_type != "boolean":
        return False  # True is an int in Python, not in JSON
    return isinstance(value, kinds)


def _error(category: str, text: str) -> ToolResult:
    return ToolResult(False, text, category)


def _transient(name: str, rng: random.Random) -> ToolResult:
    if rng.random() < 0.5:
        text = f"503 Server Error: Service Unavailable for url: https://tools.invalid/{name}"
    else:
        text = f"ReadTimeout: {name} did not answer within 30 seconds"
    return _error("tool_instability", text)


def _result(name: str, arguments: dict[str, Any], seed: int) -> str:
    """A plausible, deterministic success payload: a reference number and what was done."""
    blob = json.dumps([seed, name, arguments], sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(blob.encode()).hexdigest()
    reference = f"{name[:3].upper()}-{int(digest[:8], 16) % 100000:05d}"
    payload = {"status": "ok", "reference": reference, "tool": name, "arguments": arguments}
    return json.dumps(payload, ensure_ascii=False)
