"""Which parameters to remove: Algorithm 1 of AskToAct (levels 0–3) and stratified subsetting.

Levels: 0 fully specified, 1 one parameter of one call, 2 several parameters of one call,
3 parameters across several calls. "Tools" are the calls of the solution (one API called twice
counts twice). Two places where the paper's pseudo-code cannot run as written are made explicit:
level 2 picks its call among calls with ≥ 2 removable parameters and is offered only when one
exists; levels 1 and 3 pick among calls with ≥ 1 removable parameter. Values that refer to another
call's output (TaskBench ``<node-k>``) and empty values are not user intent and never removed.

With the rules backend, a parameter is removable only when the rule can take its value out of
the query (``locate.removable_params``): the draw is made among those, so no row is lost later
for a value the rule cannot find (which would bias the kept rows towards easy, low levels). A
removed value that another call shares is removed from both (it is one intent, asked once).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from asktoact.data.locate import removable
from asktoact.schema import Example, render_value


@dataclass(frozen=True)
class Sample:
    """The level drawn for one example and the removed (call index, parameter) pairs."""

    level: int
    removed: tuple[tuple[int, str], ...]


def allowed_levels(ex: Example, allowed: set[tuple[int, str]] | None = None) -> list[int]:
    """The level set Algorithm 1 draws from, restricted to what the example can realise."""
    return _levels(removable_by_call(ex, allowed))


def _levels(params: list[list[str]]) -> list[int]:
    counts = [len(p) for p in params]
    if sum(counts) == 0:
        return [0]
    levels = [0, 1]
    if len(params) == 1 and counts[0] == 1:
        return levels
    if any(c >= 2 for c in counts):
        levels.append(2)
    if len(params) > 1 and sum(c >= 1 for c in counts) >= 2:
        levels.append(3)
    return levels


def removable_by_call(ex: Example, allowed: set[tuple[int, str]] | None = None) -> list[list[str]]:
    """Each call's parameters Algorithm 1 may remove (``allowed``: the backend's restriction)."""
    return [
        [n for n, v in c.arguments if removable(v) and (allowed is None or (i, n) in allowed)]
        for i, c in enumerate(ex.solution)
    ]


def sample_parameters(
    ex: Example, rng: random.Random, allowed: set[tuple[int, str]] | None = None
) -> Sample:
    params = removable_by_call(ex, allowed)
    level = rng.choice(_levels(params))
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
    if allowed is not None:
        removed += _value_mates(ex, removed, params)
    # Dialogue order is call order then parameter order, whatever order sampling drew them in.
    order = {(i, n): k for k, (i, n) in enumerate((i, n) for i, p in enumerate(params) for n in p)}
    return Sample(level, tuple(sorted(set(removed), key=order.__getitem__)))


def _value_mates(ex: Example, removed, params) -> list[tuple[int, str]]:
    """Removable parameters that share a removed parameter's value (the same text in the query)."""
    values = {render_value(ex.solution[i].args[n]) for i, n in removed}
    return [
        (i, n)
        for i, p in enumerate(params)
        for n in p
        if render_value(ex.solution[i].args[n]) in values
    ]


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
