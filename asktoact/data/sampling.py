"""Which parameters to remove: Algorithm 1 of AskToAct (levels 0–3) and stratified subsetting.

Levels: 0 fully specified, 1 one parameter of one call, 2 several parameters of one call,
3 parameters across several calls. "Tools" are the calls of the solution (one API called twice
counts twice). Two places where the paper's pseudo-code cannot run as written are made explicit:
level 2 picks its call among calls with ≥ 2 removable parameters and is offered only when one
exists; levels 1 and 3 pick among calls with ≥ 1 removable parameter. Values that refer to another
call's output (TaskBench ``<node-k>``) and empty values are not user intent and never removed.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from asktoact.schema import Example

_REFERENCE = re.compile(r"^<node-\d+>$")


def removable(value: object) -> bool:
    if value is None or value == "" or value == []:
        return False
    return not (isinstance(value, str) and _REFERENCE.match(value))


@dataclass(frozen=True)
class Sample:
    """The level drawn for one example and the removed (call index, parameter) pairs."""

    level: int
    removed: tuple[tuple[int, str], ...]


def allowed_levels(ex: Example) -> list[int]:
    """The level set Algorithm 1 draws from, restricted to what the example can realise."""
    counts = [sum(removable(v) for _, v in c.arguments) for c in ex.solution]
    total_params = sum(counts)
    if total_params == 0:
        return [0]
    calls_with = sum(1 for c in counts if c >= 1)
    levels = [0, 1]
    if len(ex.solution) == 1 and total_params == 1:
        return levels
    if any(c >= 2 for c in counts):
        levels.append(2)
    if len(ex.solution) > 1 and calls_with >= 2:
        levels.append(3)
    return levels


def sample_parameters(ex: Example, rng: random.Random) -> Sample:
    params = [[n for n, v in c.arguments if removable(v)] for c in ex.solution]
    level = rng.choice(allowed_levels(ex))
    removed: list[tuple[int, str]] = []
    if level == 1:
        t = rng.choice([i for i, p in enumerate(params) if p])
        removed = [(t, rng.choice(params[t]))]
    elif level == 2:
        t = rng.choice([i for i, p in enumerate(params) if len(p) >= 2])
        n = rng.randint(2, len(params[t]))
        removed = [(t, p) for p in rng.sample(params[t], n)]
    elif level == 3:
        candidates = [i for i, p in enumerate(params) if p]
        chosen = rng.sample(candidates, rng.randint(2, len(candidates)))
        for t in chosen:
            n = rng.randint(1, len(params[t]))
            removed += [(t, p) for p in rng.sample(params[t], n)]
    # Dialogue order is call order then parameter order, whatever order sampling drew them in.
    order = {(i, n): k for k, (i, n) in enumerate((i, n) for i, p in enumerate(params) for n in p)}
    return Sample(level, tuple(sorted(removed, key=order.__getitem__)))


def stratum(ex: Example) -> tuple[str, int]:
    """Stratification key: API domain and parameter count (capped so strata stay populated)."""
    return ex.domain, min(ex.n_params, 6)


def stratified_subset(examples: list[Example], n: int | None, seed: int) -> list[Example]:
    """Pick ``n`` examples with each (domain, parameter-count) stratum in proportion to its size.

    Largest-remainder allocation; the result keeps the input order so outputs stay stable.
    """
    if n is None or n >= len(examples):
        return list(examples)
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[stratum(ex)].append(i)
    keys = sorted(groups)
    quotas = {k: n * len(groups[k]) / len(examples) for k in keys}
    alloc = {k: int(quotas[k]) for k in keys}
    rest = n - sum(alloc.values())
    for k in sorted(keys, key=lambda k: (-(quotas[k] - alloc[k]), k))[:rest]:
        alloc[k] += 1
    rng = random.Random(f"stratify:{seed}")
    picked = [i for k in keys for i in rng.sample(groups[k], alloc[k])]
    return [examples[i] for i in sorted(picked)]
