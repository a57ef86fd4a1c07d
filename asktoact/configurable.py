"""How code says how it is configured, without importing the config layer.

A class or function built from a YAML ``_target_`` is marked with :func:`configurable`: what its
derived schema leaves out (arguments the caller passes at run time), the bounds and choices its
values must keep, and config-only defaults (interpolations such as ``${seed}``). The schema itself
is derived from the signature by ``asktoact.config`` when it registers the YAML that names the
target, so a new source, agent or simulator needs its code and its YAML, nothing else.
Settings blocks that build nothing are dataclasses whose fields use :func:`config_field`.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from typing import Any

from omegaconf import MISSING

UNIT = {"ge": 0.0, "le": 1.0}


def check(
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    choices: typing.Sequence[Any] | None = None,
    keys: typing.Sequence[str] | None = None,
    all_keys: bool | None = None,
) -> dict[str, Any]:
    """Field metadata the validator enforces: numeric bounds, allowed values, allowed dict keys
    (with ``all_keys``, every one of them must be given)."""
    spec = {"ge": ge, "le": le, "gt": gt, "lt": lt, "choices": choices, "keys": keys}
    spec["all_keys"] = all_keys
    return {k: v for k, v in spec.items() if v is not None}


def config_field(default: Any = MISSING, **bounds: Any) -> Any:
    """A dataclass field with a default (MISSING: the YAML must give it) and validator bounds."""
    if isinstance(default, list | dict):
        return dataclasses.field(
            default_factory=lambda: copy.deepcopy(default), metadata=check(**bounds)
        )
    return dataclasses.field(default=default, metadata=check(**bounds))


@dataclasses.dataclass(frozen=True)
class ConfigSpec:
    """What the derived schema of a ``_target_`` needs beyond its signature."""

    exclude: tuple[str, ...] = ()  # parameters the caller passes, never the YAML
    bounds: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)  # interpolations


def configurable(
    exclude: typing.Iterable[str] = (),
    bounds: dict[str, dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
):
    """Mark a class or function as buildable from a YAML ``_target_`` (see the module doc)."""
    spec = ConfigSpec(tuple(exclude), dict(bounds or {}), dict(defaults or {}))

    def mark(target):
        target.__config_spec__ = spec
        return target

    return mark


def spec_of(target: Any) -> ConfigSpec:
    """The target's own :class:`ConfigSpec` (a subclass inherits its base's unless it has one)."""
    return getattr(target, "__config_spec__", ConfigSpec())


# What every run has; each entry point's primary config extends it.
@dataclasses.dataclass
class RunConfig:
    seed: int = config_field()
    cache_dir: str = config_field()
    run_name: str = config_field()
