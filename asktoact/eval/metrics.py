"""AskToAct metrics (appendix F.3), exactly as defined there, plus breakdowns and error rates.

Per query i: U_i unspecified intents (missing-value groups: a value several calls share is one
intent), C_i of them clarified (the user gave the value in answer to a question), T_i clarification
rounds (assistant turns that are not the final summary). Over N queries:

ICR = ΣC/ΣU, CE = ΣC/ΣT, CPS = 2·ICR·CE/(ICR+CE), IR = ΣT/N, SCR = share of queries with a valid
solution, TSS = mean F1 of predicted vs gold API-name sets, PRS = mean F1 of (API, parameter,
value) triples. Values match by strict string comparison of one canonical form (``canonical``).
CE is 0 when no round was asked (ΣT = 0); ICR is 1 when no intent was unspecified (ΣU = 0).
A round whose turn asked nothing (no ``[QUESTION]``, no sentence ending in "?") counts in T and
clarifies nothing; NQ is their share of all rounds.

Format and behaviour, apart (:data:`BEHAVIOUR`): a model that never learned the output format
scores 0 on SCR/TSS/PRS whatever it asks, so these columns tell the two apart. ASK = share of
rounds that ask a question (1 − NQ); PARSE = share of episodes that end in a readable
``[SUMMARY]`` solution (an empty one included); QP = question precision, the questions whose
target is a still-unclarified intent over all questions asked (0 when none was asked); ICR@P and
PRS@P = ICR and PRS over the episodes with a parsable solution only (both 0 when there is none:
nothing was solved; ICR@P 1 when those episodes left nothing unspecified, as ICR).

Table 6's error rates (``err_*``) are over the underspecified queries (U_i > 0) only, as in the
paper: clearly-stated, imprecise, irrelevant and redundant as shares of those queries'
clarification rounds; incomplete as the share of those queries with an intent never clarified.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from asktoact.data.augment import ERROR_TYPES


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
    # TL-Training's view of the final turn (asktoact.eval.irm): IRM reward and error category.
    irm: float = -2.0
    irm_category: str = "unparsable"
    no_question: int = 0  # rounds whose turn asked nothing (counted in ``rounds``)
    # Results written before these were measured lack them (None): their tables show "–".
    parsed: bool | None = None  # the episode ended in a readable [SUMMARY] solution
    precise: int | None = None  # questions that targeted a still-unclarified intent

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


# Every metric is a rate in [0, 1] but these: IR counts rounds, IRM is TL-Training's reward in
# [-2, 1]. Tables show rates in percent and these as they are.
NOT_RATES = frozenset({"IR", "IRM"})

COLUMNS = ("intents", "clarified", "rounds", "valid", "tss", "prs", "irm", "no_question")
# The format/behaviour columns (module doc), in the order tables show them.
BEHAVIOUR = ("ASK", "PARSE", "QP", "ICR@P", "PRS@P")
# RoTBench/TL-Training's scores of a tool call from its IRM category, for a [SUMMARY] solution and
# a trajectory's next call alike: the tool is right (TS), the tool and its parameter names are
# right (PI), the call is exact (CF).
_TOOL_WRONG = {"unparsable", "tool_hallucination", "wrong_tool"}
CALL_SCORES = {
    "TS": lambda c: c not in _TOOL_WRONG,
    "PI": lambda c: c in ("exact", "wrong_values"),
    "CF": lambda c: c == "exact",
}


def call_scores(category: str) -> dict[str, float]:
    """TS, PI and CF (1.0 or 0.0) of a tool call whose IRM category is ``category``."""
    return {name: float(score(category)) for name, score in CALL_SCORES.items()}


def icr(clarified, intents):
    """ΣC/ΣU, 1 where nothing was unspecified (ΣU = 0); scalars or arrays alike."""
    clarified, intents = np.asarray(clarified, dtype=float), np.asarray(intents, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(intents > 0, clarified / np.where(intents > 0, intents, 1), 1.0)
    return float(out) if out.ndim == 0 else out


def columns(outcomes: list[Outcome]) -> np.ndarray:
    """(N, columns) per-episode numbers every metric is a function of. Table 6's columns count
    only underspecified queries (U_i > 0), as the paper's rates do: whether the query is one,
    its rounds, and its errors of each type."""
    rows = [
        [
            *(float(getattr(o, c)) for c in COLUMNS),
            *call_scores(o.irm_category).values(),
            float(o.intents > 0),
            float(o.rounds if o.intents > 0 else 0),
            *(o.errors.get(k, 0) if o.intents > 0 else 0 for k in ERROR_TYPES),
            *_behaviour_columns(o),
        ]
        for o in outcomes
    ]
    width = len(COLUMNS) + len(CALL_SCORES) + 2 + len(ERROR_TYPES) + 5
    return np.asarray(rows, dtype=np.float64).reshape(len(outcomes), width)


def _behaviour_columns(o: Outcome) -> list[float]:
    """parsed, precise questions, intents and clarified of parsed episodes, PRS of parsed ones."""
    parsed = float(bool(o.parsed))
    return [parsed, float(o.precise or 0), o.intents * parsed, o.clarified * parsed, o.prs * parsed]


def metrics(sums: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """The F.3 metrics from column sums (last axis); works for one sample or a batch of them."""
    u, c, t, valid, tss, prs, irm, nq = (sums[..., k] for k in range(len(COLUMNS)))
    ratio = icr(c, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = np.where(t > 0, c / np.where(t > 0, t, 1), 0.0)
        total = ratio + ce
        cps = np.where(total > 0, 2 * ratio * ce / np.where(total > 0, total, 1), 0.0)
    out = {"ICR": ratio, "CE": ce, "CPS": cps, "IR": t / n, "SCR": valid / n, "TSS": tss / n}
    out["PRS"] = prs / n
    out["IRM"] = irm / n
    for k, name in enumerate(CALL_SCORES):
        out[name] = sums[..., len(COLUMNS) + k] / n
    out["NQ"] = nq / np.maximum(t, 1)  # share of rounds whose turn asked nothing
    # Table 6, over underspecified queries only (the paper's: 50 of them): the first four types
    # as shares of their clarification rounds, incomplete as the share of those queries.
    base = len(COLUMNS) + len(CALL_SCORES)
    queries, turns = np.maximum(sums[..., base], 1), np.maximum(sums[..., base + 1], 1)
    for k, kind in enumerate(ERROR_TYPES):
        total = sums[..., base + 2 + k]
        out[f"err_{kind}"] = total / queries if kind == "incomplete" else total / turns
    parsed, precise, p_intents, p_clarified, p_prs = (
        sums[..., base + 2 + len(ERROR_TYPES) + k] for k in range(5)
    )
    questions = t - nq
    out["ASK"] = questions / np.maximum(t, 1)
    out["PARSE"] = parsed / n
    out["QP"] = precise / np.maximum(questions, 1)
    out["ICR@P"] = np.where(parsed > 0, icr(p_clarified, p_intents), 0.0)
    out["PRS@P"] = p_prs / np.maximum(parsed, 1)
    return out


def resamples(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Indices of ``n_boot`` bootstrap resamples of ``n`` items, seeded: every interval of the
    project (``eval/task.py``, for both tasks) draws them this way."""
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def percentiles(samples: np.ndarray, level: float = 0.95) -> np.ndarray:
    """The ``level`` percentile interval of bootstrap ``samples`` (along the first axis)."""
    return np.percentile(samples, [(1 - level) / 2 * 100, (1 + level) / 2 * 100], axis=0)


def difference(diff: float, samples: np.ndarray, level: float = 0.95) -> dict[str, Any]:
    """A paired difference with its bootstrap interval; ``significant``: the interval excludes 0;
    ``p``: the two-sided bootstrap p-value (twice the share of resamples on the far side of 0,
    at most 1), which :func:`holm` adjusts across a table's tests."""
    lo, hi = (float(x) for x in percentiles(samples, level))
    tail = min(float(np.mean(samples <= 0)), float(np.mean(samples >= 0)))
    p = min(1.0, 2 * tail)
    return {"diff": diff, "low": lo, "high": hi, "significant": lo > 0 or hi < 0, "p": p}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (Holm 1979) of ``p_values``, in their order: the k-th
    smallest is multiplied by (m − k + 1), running maxima keep the order, capped at 1. A test
    whose adjusted p is below 1 − level keeps the family-wise error rate at that level across
    every test of a table."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [1.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
