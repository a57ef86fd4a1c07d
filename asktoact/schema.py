"""Data types shared by every stage: tools, calls, examples, transformation records, dialogues.

The JSON shapes are the paper's (docs/architecture.md, "Data formats"): a solution is
``[{"task": api, "arguments": [{"name": p, "value": v}, ...]}, ...]`` and a transformation record
carries ``original_query``, ``unspecified_query``, ``key_info`` (one entry per call, in call order)
and ``tool_steps``. Dialogues are plain chat messages ``{"role": ..., "content": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

Message = dict[str, str]


def render_value(value: Any) -> str:
    """The one textual form of a parameter value used in queries, answers and checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ParamSpec:
    """One typed parameter of a tool. ``type`` is normalised (see sources.base.normalise_type)."""

    name: str
    type: str = "string"
    description: str = ""
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str = ""
    parameters: tuple[ParamSpec, ...] = ()

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.parameters if p.name == name), None)

    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """JSON form; ``compact`` (shown to the assistant) leaves out the default type string."""
        params = {}
        for p in self.parameters:
            entry: dict[str, Any] = {"type": p.type, "description": p.description}
            if compact and p.type == "string":
                del entry["type"]
            if not p.required:
                entry["required"] = False
            if p.default is not None:
                entry["default"] = p.default
            params[p.name] = entry
        return {"name": self.name, "description": self.description, "parameters": params}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolSpec:
        params = tuple(
            ParamSpec(
                name=k,
                type=v.get("type", "string"),
                description=v.get("description", ""),
                required=v.get("required", True),
                default=v.get("default"),
            )
            for k, v in d.get("parameters", {}).items()
        )
        return cls(d["name"], d.get("description", ""), params)


@dataclass(frozen=True)
class ToolCall:
    task: str
    arguments: tuple[tuple[str, Any], ...] = ()

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.arguments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "arguments": [{"name": k, "value": v} for k, v in self.arguments],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(d["task"], tuple((a["name"], a["value"]) for a in d.get("arguments", [])))


def solution_to_json(calls: list[ToolCall] | tuple[ToolCall, ...]) -> str:
    return json.dumps([c.to_dict() for c in calls], ensure_ascii=False)


@dataclass(frozen=True)
class Example:
    """A fully specified query with its tools and gold solution, as every source normalises to."""

    id: str
    source: str
    query: str
    tools: tuple[ToolSpec, ...]
    solution: tuple[ToolCall, ...]
    domain: str = "unknown"

    def tool(self, name: str) -> ToolSpec | None:
        return next((t for t in self.tools if t.name == name), None)

    @property
    def n_params(self) -> int:
        return sum(len(c.arguments) for c in self.solution)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "domain": self.domain,
            "query": self.query,
            "tools": [t.to_dict() for t in self.tools],
            "solution": [c.to_dict() for c in self.solution],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Example:
        return cls(
            id=d["id"],
            source=d["source"],
            query=d["query"],
            tools=tuple(ToolSpec.from_dict(t) for t in d["tools"]),
            solution=tuple(ToolCall.from_dict(c) for c in d["solution"]),
            domain=d.get("domain", "unknown"),
        )


@dataclass
class ArgRecord:
    """What happened to one argument of one call (AskToAct appendix C.1.3, plus our fields).

    ``original_value`` is the expression as it appears in the original query, ``value`` the typed
    value of the solution. ``strategy`` is how a removed value left the query: ``removal``,
    ``abstraction`` or ``partial`` (one list element removed). ``question`` is the clarification
    question; ``error``/``error_detail`` are set by the augmentation stage.
    """

    value: Any
    original_value: str
    current_value: str
    removed: bool = False
    strategy: str | None = None
    question: str | None = None
    error: str | None = None
    error_detail: dict[str, Any] | None = None


@dataclass
class CallRecord:
    name: str
    arguments: dict[str, ArgRecord] = field(default_factory=dict)


@dataclass
class TransformationRecord:
    id: str
    original_query: str
    unspecified_query: str
    key_info: list[CallRecord]
    level: int = 0
    tool_steps: list[str] = field(default_factory=list)

    def removed(self) -> list[tuple[int, str, ArgRecord]]:
        """Removed arguments in dialogue order: (call index, parameter name, record)."""
        return [
            (i, name, arg)
            for i, call in enumerate(self.key_info)
            for name, arg in call.arguments.items()
            if arg.removed
        ]

    def params(self) -> list[tuple[int, str, ArgRecord]]:
        return [(i, n, a) for i, c in enumerate(self.key_info) for n, a in c.arguments.items()]

    def solution(self) -> list[ToolCall]:
        return [
            ToolCall(c.name, tuple((n, a.value) for n, a in c.arguments.items()))
            for c in self.key_info
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TransformationRecord:
        key_info = [
            CallRecord(c["name"], {k: ArgRecord(**v) for k, v in c["arguments"].items()})
            for c in d["key_info"]
        ]
        return cls(
            id=d["id"],
            original_query=d["original_query"],
            unspecified_query=d["unspecified_query"],
            key_info=key_info,
            level=d.get("level", 0),
            tool_steps=list(d.get("tool_steps", [])),
        )
