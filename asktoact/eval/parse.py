"""Parse an assistant turn: the final summary, a question, or a round that asks nothing, and what
solution a summary gives.

Robust to what real models write: the solution may be JSON, a Python literal (single quotes,
True/None), wrapped in prose or code fences, with trailing text, or use ``name``/``api`` for the
task and a ``{param: value}`` object for the arguments. A summary whose solution cannot be read
yields ``solution=None`` with the reason (it counts as invalid for SCR) and never raises.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

from asktoact.constants import EOE, SOE, TAG_QUESTION, TAG_SUMMARY, TAGS

_SELF_CORRECTED = re.compile(re.escape(SOE) + r".*?" + re.escape(EOE), re.S)


@dataclass
class ParsedTurn:
    kind: str  # "summary" | "question" | "no_question" (a round that asks nothing)
    question: str = ""
    solution: list[dict[str, Any]] | None = None
    error: str | None = None


def _section(text: str, tag: str) -> str:
    start = text.rfind(tag) + len(tag)
    ends = [text.find(t, start) for t in TAGS if text.find(t, start) >= 0]
    return text[start : min(ends) if ends else len(text)].strip()


def _balanced(text: str, start: int) -> str | None:
    """The bracket-balanced span opening at ``text[start]``, quotes respected."""
    depth, quote, escaped = 0, None, False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _literal(span: str) -> Any:
    try:
        return json.loads(span)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(span)
    except (ValueError, SyntaxError):
        fixed = re.sub(
            r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", span))
        )
        return ast.literal_eval(fixed)


def normalise_solution(obj: Any) -> list[dict[str, Any]]:
    """To ``[{"task": str, "arguments": [{"name": str, "value": v}]}]`` or ValueError."""
    if isinstance(obj, dict):
        obj = [obj]
    if not isinstance(obj, list):
        raise ValueError("solution is not a list of calls")
    calls = []
    for k, call in enumerate(obj):
        if not isinstance(call, dict):
            raise ValueError(f"call {k} is not an object")
        task = call.get("task", call.get("name", call.get("api")))
        if not isinstance(task, str) or not task:
            raise ValueError(f"call {k} has no task name")
        args = call.get("arguments", call.get("parameters", []))
        if isinstance(args, dict):
            args = [{"name": n, "value": v} for n, v in args.items()]
        if not isinstance(args, list) or not all(isinstance(a, dict) and "name" in a for a in args):
            raise ValueError(f"call {k} has malformed arguments")
        calls.append(
            {
                "task": task,
                "arguments": [{"name": str(a["name"]), "value": a.get("value")} for a in args],
            }
        )
    return calls


def parse_solution(text: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The first bracketed value in ``text`` that reads as a solution, or (None, reason)."""
    text = re.sub(r"```(?:json|python)?", "", text)
    reason = "no solution found after [SUMMARY]"
    for m in re.finditer(r"[\[{]", text):
        span = _balanced(text, m.start())
        if span is None:
            continue
        try:
            return normalise_solution(_literal(span)), None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
    return None, reason


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# Code is not speech: a "?" in a fenced block or an inline span (``f".../{city}?"``) asks nothing.
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.S)


def asked(visible: str) -> str:
    """What a turn that is not a summary asks: its ``[QUESTION]`` section, or — a model that does
    not use our tags can still ask — its sentences that end with a question mark; "" when it asks
    nothing (a statement, a plan, an echo of the APIs)."""
    if TAG_QUESTION in visible:
        return _section(visible, TAG_QUESTION)
    sentences = (s.strip() for s in _SENTENCE_END.split(_CODE.sub(" ", visible)))
    return " ".join(s for s in sentences if s.rstrip("\"')]* ").endswith("?"))


def parse_turn(text: str) -> ParsedTurn:
    """A ``[SUMMARY]`` ends the episode with its solution; otherwise the turn is a clarification
    round, which needs a question (:func:`asked`): without one it is a wasted round."""
    visible = _SELF_CORRECTED.sub(" ", text)  # errors the model marked and corrected itself
    if TAG_SUMMARY in visible:
        solution, error = parse_solution(visible[visible.rfind(TAG_SUMMARY) + len(TAG_SUMMARY) :])
        return ParsedTurn("summary", solution=solution, error=error)
    question = asked(visible)
    return ParsedTurn("question" if question else "no_question", question=question)
