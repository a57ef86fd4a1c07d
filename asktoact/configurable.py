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


# What a setting is to a run's identity (the ``identity`` mark of :func:`config_field`), read by
# asktoact.identity for every store key, resume record and run folder name:
DECIDES = True  # (unmarked) decides what the run makes
NOT_IDENTITY = False  # says where things go or how they are logged: never part of a run's identity
RESUMABLE = "resumable"  # how long a run goes on: decides what it makes, but a run continued
# with another value (more steps, more queries) resumes its earlier work


def config_field(default: Any = MISSING, identity: bool | str = DECIDES, **bounds: Any) -> Any:
    """A dataclass field with a default (MISSING: the YAML must give it), validator bounds and
    its part in the run's identity (``identity=False``: none; ``"resumable"``: see above)."""
    if identity not in (DECIDES, NOT_IDENTITY, RESUMABLE):
        raise ValueError(f"identity={identity!r}: use True, False or {RESUMABLE!r}")
    metadata = check(**bounds) | ({} if identity is DECIDES else {"identity": identity})
    if isinstance(default, list | dict):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def identity_mark(field: dataclasses.Field) -> bool | str:
    """A schema field's part in the run's identity (:data:`DECIDES` unless marked)."""
    return field.metadata.get("identity", DECIDES)


@dataclasses.dataclass(frozen=True)
class ConfigSpec:
    """What the derived schema of a ``_target_`` needs beyond its signature."""

    exclude: tuple[str, ...] = ()  # parameters the caller passes, never the YAML
    not_identity: tuple[str, ...] = ()  # parameters that decide nothing a run makes
    bounds: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)  # interpolations


def configurable(
    exclude: typing.Iterable[str] = (),
    bounds: dict[str, dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
    not_identity: typing.Iterable[str] = (),
):
    """Mark a class or function as buildable from a YAML ``_target_`` (see the module doc);
    ``not_identity`` names the parameters marked ``identity=False`` in its derived schema."""
    spec = ConfigSpec(tuple(exclude), tuple(not_identity), dict(bounds or {}), dict(defaults or {}))

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
    cache_dir: str = config_field(identity=NOT_IDENTITY)
    run_name: str = config_field(identity=NOT_IDENTITY)
