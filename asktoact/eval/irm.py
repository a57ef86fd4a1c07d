"""IRM: TL-Training's reward by tool-call error category (§3.3), for one generated solution.

``irm_reward(text, gold, tools, rewards)`` reads the ``[SUMMARY]`` solution of an assistant turn
and scores it against the gold calls and the candidate tools. The categories are
:data:`CATEGORIES`; their rewards are one table, ``conf/reward/default.yaml``, read by the RL stage
and by every evaluation alike (the paper's text does not print the values; the defaults are the
authors' public code's as our issue tracker gives them, not checked against that code here).

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
from dataclasses import dataclass
from typing import Any

from asktoact.configurable import config_field as F
from asktoact.eval.metrics import canonical
from asktoact.eval.parse import parse_turn
from asktoact.schema import ToolSpec

# Worst first: what each category means is in the module docstring and in conf/reward/default.yaml.
CATEGORIES = (
    "unparsable",  # no readable [SUMMARY] solution
    "tool_hallucination",  # a tool that is not a candidate
    "wrong_tool",  # a candidate, not the gold one (or a call missing / one too many)
    "hallucinated+redundant+missing",
    "hallucinated+redundant|missing",
    "redundant+missing",
    "hallucinated",
    "redundant|missing",
    "wrong_values",  # right tool and parameters, a value differs
    "exact",
)


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
    rewards: Mapping[str, float],
) -> tuple[float, str]:
    """(reward, category) of the solution in ``text`` (an assistant turn with ``[SUMMARY]``);
    ``rewards`` maps every category of :data:`CATEGORIES` to its reward (``conf/reward/``)."""
    table = rewards
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


def irm_call_reward(
    call: tuple[str, dict[str, Any]] | None,
    gold: dict[str, Any],
    tools: list[ToolSpec | Mapping[str, Any]],
    rewards: Mapping[str, float],
) -> tuple[float, str]:
    """(reward, category) of one next call of a tool-use trajectory (``call``: the parsed
    ``name\\n{json}`` turn, None when unreadable) against the gold ``{"name", "arguments"}``;
    the same categories and table as a ``[SUMMARY]`` solution."""
    if call is None:
        return rewards["unparsable"], "unparsable"
    known = dict(_parameters(t) for t in tools)
    category = call_category(_as_task(*call), _as_task(gold["name"], gold["arguments"]), known)
    return rewards[category], category


def _as_task(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"task": name, "arguments": [{"name": k, "value": v} for k, v in arguments.items()]}


@dataclass
class RewardConfig:
    """``conf/reward/``: TL-Training's IRM, a reward per tool-call error category (all of them)."""

    irm: dict[str, float] = F(keys=CATEGORIES, all_keys=True)
