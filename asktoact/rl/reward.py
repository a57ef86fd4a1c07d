"""IRM: TL-Training's reward by tool-call error category (§3.3), for one generated solution.

``irm_reward(text, gold, tools)`` reads the ``[SUMMARY]`` solution of an assistant turn and scores
it against the gold calls and the candidate tools. The categories and their default rewards (the
paper's text does not print them; these are the values of the authors' public code as given in
our issue tracker (not checked against that code here), configurable
in ``conf/rl/``):

=========================================== ========
category                                    reward
=========================================== ========
``unparsable`` (no readable solution)       -2.0
``tool_hallucination`` (not a candidate)    -2.0
``wrong_tool`` (a candidate, not the gold)  -1.5
``hallucinated+redundant+missing``          -1.8
``hallucinated+redundant|missing``          -1.3
``redundant+missing``                       -1.0
``hallucinated``                            -0.8
``redundant|missing``                       -0.5
``wrong_values``                            -0.25
``exact``                                   +1.0
=========================================== ========

Parameters, per call: *missing* = a gold parameter absent from the prediction; *redundant* = a
predicted parameter the tool has but the gold call does not use; *hallucinated* = a predicted
parameter the tool does not have. Values compare like PRS (one canonical string per value).

**Several calls.** Predicted and gold calls are paired by position (the solution's order is the
calls' order). Each pair is scored as above; a gold call with no prediction, or a predicted call
beyond the gold ones, scores as ``wrong_tool``. The solution's reward is the mean over the pairs
(so a partly right solution earns part of the way), and its category is that of the worst pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asktoact.eval.metrics import canonical
from asktoact.eval.parse import parse_turn
from asktoact.schema import ToolSpec

DEFAULT_REWARDS: dict[str, float] = {
    "unparsable": -2.0,
    "tool_hallucination": -2.0,
    "wrong_tool": -1.5,
    "hallucinated+redundant+missing": -1.8,
    "hallucinated+redundant|missing": -1.3,
    "redundant+missing": -1.0,
    "hallucinated": -0.8,
    "redundant|missing": -0.5,
    "wrong_values": -0.25,
    "exact": 1.0,
}
CATEGORIES = tuple(DEFAULT_REWARDS)


def _parameters(tool: ToolSpec | Mapping[str, Any]) -> tuple[str, set[str]]:
    if isinstance(tool, ToolSpec):
        return tool.name, {p.name for p in tool.parameters}
    return str(tool["name"]), set(tool.get("parameters") or {})


def parameter_category(hallucinated: bool, redundant: bool, missing: bool) -> str | None:
    """The category of a call whose tool is right, from its parameter errors (None: none)."""
    if hallucinated and redundant and missing:
        return "hallucinated+redundant+missing"
    if hallucinated and (redundant or missing):
        return "hallucinated+redundant|missing"
    if redundant and missing:
        return "redundant+missing"
    if hallucinated:
        return "hallucinated"
    if redundant or missing:
        return "redundant|missing"
    return None


def call_category(pred: dict[str, Any], gold: dict[str, Any], tools: dict[str, set[str]]) -> str:
    if pred["task"] not in tools:
        return "tool_hallucination"
    if pred["task"] != gold["task"]:
        return "wrong_tool"
    known = tools[pred["task"]]
    mine = {a["name"]: canonical(a["value"]) for a in pred["arguments"]}
    want = {a["name"]: canonical(a["value"]) for a in gold["arguments"]}
    errors = parameter_category(
        hallucinated=bool(set(mine) - known),
        redundant=bool((set(mine) & known) - set(want)),
        missing=bool(set(want) - set(mine)),
    )
    if errors:
        return errors
    return "exact" if mine == want else "wrong_values"


def irm_reward(
    text: str,
    gold: list[dict[str, Any]],
    tools: list[ToolSpec | Mapping[str, Any]],
    rewards: Mapping[str, float] | None = None,
) -> tuple[float, str]:
    """(reward, category) of the solution in ``text`` (an assistant turn with ``[SUMMARY]``)."""
    table = {**DEFAULT_REWARDS, **(rewards or {})}
    turn = parse_turn(text)
    if turn.kind != "summary" or not turn.solution:
        return table["unparsable"], "unparsable"
    known = dict(_parameters(t) for t in tools)
    n = max(len(turn.solution), len(gold))
    categories = []
    for k in range(n):
        if k >= len(turn.solution) or k >= len(gold):
            categories.append("wrong_tool")  # a call missing, or one too many
        else:
            categories.append(call_category(turn.solution[k], gold[k], known))
    worst = min(categories, key=lambda c: table[c])
    return sum(table[c] for c in categories) / n, worst
