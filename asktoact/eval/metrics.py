"""AskToAct metrics (appendix F.3), exactly as defined there, plus breakdowns and error rates.

Per query i: U_i unspecified intents (missing-value groups: a value several calls share is one
intent), C_i of them clarified (the user gave the value in answer to a question), T_i clarification
rounds (assistant turns that are not the final summary). Over N queries:

ICR = ΣC/ΣU, CE = ΣC/ΣT, CPS = 2·ICR·CE/(ICR+CE), IR = ΣT/N, SCR = share of queries with a valid
solution, TSS = mean F1 of predicted vs gold API-name sets, PRS = mean F1 of (API, parameter,
value) triples. Values match by strict string comparison of one canonical form (``canonical``).
CE is 0 when no round was asked (ΣT = 0); ICR is 1 when no intent was unspecified (ΣU = 0).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from asktoact.constants import ERROR_TYPES


def canonical(value: Any) -> str:
    """One string per value: integral floats as integers (3.0 → "3"), booleans as true/false,
    strings unchanged, lists/objects as compact JSON of canonical parts."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return json.dumps([canonical(v) for v in value], ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(
            {str(k): canonical(v) for k, v in sorted(value.items())}, ensure_ascii=False
        )
    return "null" if value is None else str(value)


def f1(pred: set, gold: set) -> float:
    if not pred and not gold:
        return 1.0
    hits = len(pred & gold)
    if hits == 0:
        return 0.0
    p, r = hits / len(pred), hits / len(gold)
    return 2 * p * r / (p + r)


def api_set(solution: list[dict[str, Any]] | None) -> set[str]:
    return {c["task"] for c in solution or []}


def triples(solution: list[dict[str, Any]] | None) -> set[tuple[str, str, str]]:
    return {
        (c["task"], a["name"], canonical(a["value"]))
        for c in solution or []
        for a in c["arguments"]
    }


@dataclass
class Outcome:
    """What one episode contributes to the metrics."""

    id: str
    intents: int  # U_i
    clarified: int  # C_i
    rounds: int  # T_i
    valid: bool
    tss: float
    prs: float
    n_calls: int
    errors: dict[str, int] = field(
        default_factory=dict
    )  # per error type: turns (or 1 for incomplete)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_solution(
    pred: list[dict[str, Any]] | None, gold: list[dict[str, Any]]
) -> tuple[bool, float, float]:
    valid = pred is not None and len(pred) > 0
    return (
        valid,
        f1(api_set(pred), api_set(gold)) if valid else 0.0,
        f1(triples(pred), triples(gold)) if valid else 0.0,
    )


def aggregate(outcomes: list[Outcome]) -> dict[str, float]:
    n = len(outcomes)
    if n == 0:
        return {}
    u = sum(o.intents for o in outcomes)
    c = sum(o.clarified for o in outcomes)
    t = sum(o.rounds for o in outcomes)
    icr = c / u if u else 1.0
    ce = c / t if t else 0.0
    turns = max(t, 1)
    result = {
        "N": n,
        "ICR": icr,
        "CE": ce,
        "CPS": 2 * icr * ce / (icr + ce) if icr + ce else 0.0,
        "IR": t / n,
        "SCR": sum(o.valid for o in outcomes) / n,
        "TSS": sum(o.tss for o in outcomes) / n,
        "PRS": sum(o.prs for o in outcomes) / n,
    }
    # Table 6: question-level errors as shares of clarification turns, incomplete per query.
    for kind in ERROR_TYPES:
        total = sum(o.errors.get(kind, 0) for o in outcomes)
        result[f"err_{kind}"] = total / n if kind == "incomplete" else total / turns
    return result


def breakdown(outcomes: list[Outcome], key: str) -> dict[int, dict[str, float]]:
    """Metrics per value of ``intents`` or ``n_calls`` (AskToAct Figure 3)."""
    groups: dict[int, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o, key)].append(o)
    return {k: aggregate(v) for k, v in sorted(groups.items())}
