"""Algorithm 1: level sets, level distribution, removal constraints; stratified subsets."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from asktoact.data import sampling
from asktoact.data.sources import demo
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec


def make(calls: list[dict], domain: str = "d") -> Example:
    tools = {
        name: ToolSpec(name, "", tuple(ParamSpec(p) for p in args))
        for c in calls
        for name, args in c.items()
    }
    solution = tuple(ToolCall(n, tuple(a.items())) for c in calls for n, a in c.items())
    return Example("x", "test", "q", tuple(tools.values()), solution, domain)


ONE_ONE = make([{"a": {"p": 1}}])
ONE_MANY = make([{"a": {"p": 1, "q": 2, "r": 3}}])
MANY = make([{"a": {"p": 1, "q": 2}}, {"b": {"s": 3}}, {"c": {"t": 4, "u": 5}}])


@pytest.mark.parametrize(
    ("example", "levels"),
    [
        (make([{"a": {}}]), [0]),
        (ONE_ONE, [0, 1]),
        (ONE_MANY, [0, 1, 2]),
        (MANY, [0, 1, 2, 3]),
        (make([{"a": {"p": 1}}, {"b": {"q": 2}}]), [0, 1, 3]),  # no call has 2 params
        (make([{"a": {"p": "<node-0>"}}, {"b": {"q": 2}}]), [0, 1]),  # references never removed
    ],
)
def test_allowed_levels_follow_algorithm_1(example, levels):
    assert sampling.allowed_levels(example) == levels


@pytest.mark.parametrize("example", [ONE_ONE, ONE_MANY, MANY])
def test_levels_are_uniform_over_the_allowed_set(example):
    n = 6000
    counts = Counter(sampling.sample_parameters(example, random.Random(i)).level for i in range(n))
    allowed = sampling.allowed_levels(example)
    assert set(counts) == set(allowed)
    for level in allowed:  # binomial sd at n=6000 is < 0.0065; 0.03 is > 4.5 sd
        assert abs(counts[level] / n - 1 / len(allowed)) < 0.03


def test_removed_parameters_satisfy_each_level():
    for i in range(3000):
        s = sampling.sample_parameters(MANY, random.Random(i))
        calls = {c for c, _ in s.removed}
        assert len(set(s.removed)) == len(s.removed)
        if s.level == 0:
            assert s.removed == ()
        elif s.level == 1:
            assert len(s.removed) == 1
        elif s.level == 2:
            assert len(s.removed) >= 2 and len(calls) == 1
        else:
            assert len(calls) >= 2
        order = [(c, n) for c, call in enumerate(MANY.solution) for n, _ in call.arguments]
        assert list(s.removed) == sorted(s.removed, key=order.index)  # dialogue order


def test_sampling_is_seeded():
    a = [sampling.sample_parameters(MANY, random.Random(f"s:{i}")) for i in range(50)]
    b = [sampling.sample_parameters(MANY, random.Random(f"s:{i}")) for i in range(50)]
    assert a == b


def test_stratified_subset_keeps_strata_proportions():
    rows = demo.load(n=2000, seed=1)
    subset = sampling.stratified_subset(rows, 500, seed=0)
    assert len(subset) == 500 == len({e.id for e in subset})
    full = Counter(map(sampling.stratum, rows))
    part = Counter(map(sampling.stratum, subset))
    for key, count in full.items():
        assert abs(part[key] - count * 500 / 2000) <= 1  # largest-remainder allocation
    assert sampling.stratified_subset(rows, 500, seed=0) == subset
    assert sampling.stratified_subset(rows, None, seed=0) == rows
