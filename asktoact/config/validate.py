"""Check a composed configuration before any work: unknown keys, missing values, bounds, choices.

Types are already enforced by OmegaConf when Hydra composes (``quality.threshold=abc`` fails there,
naming the key). What composition cannot see is checked here, on every node typed by a schema
(:mod:`asktoact.config.schema`): keys the schema does not know (Hydra's ``+key=`` appends them
silently), values still ``???``, numbers outside their range and values outside their enumeration.
All problems are reported at once, each with its full key and what is allowed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError, MissingMandatoryValue

from asktoact.errors import ConfigError


def validate(cfg: DictConfig) -> DictConfig:
    """Return ``cfg`` unchanged if it is valid, else raise :class:`ConfigError`."""
    problems: list[str] = []
    known = _fields(cfg)
    for key in cfg:
        if key != "hydra":  # Hydra's own node is Hydra's to check
            _walk_key(cfg, key, "", known, problems)
    if problems:
        raise ConfigError("invalid configuration:\n  - " + "\n  - ".join(problems))
    return cfg


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            _walk(node._get_node(i), f"{path}[{i}]", problems)
        return
    if not isinstance(node, DictConfig) or node._is_none() or node._is_missing():
        return
    known = _fields(node)
    for key in node:
        _walk_key(node, key, path, known, problems)


def _fields(node: DictConfig) -> dict[str, dataclasses.Field] | None:
    """The schema's fields of a node typed by a structured config, else None (untyped)."""
    schema = OmegaConf.get_type(node)
    return (
        {f.name: f for f in dataclasses.fields(schema)}
        if dataclasses.is_dataclass(schema)
        else None
    )


def _walk_key(node: DictConfig, key: Any, path: str, known, problems: list[str]) -> None:
    where = _join(path, key)
    if known is not None and key not in known:
        allowed = ", ".join(k for k in known if not k.startswith("_"))
        problems.append(f"{where}: unknown key (allowed here: {allowed})")
        return
    if OmegaConf.is_missing(node, key):
        problems.append(f"{where}: no value given (set it, e.g. {where}=...)")
        return
    if known is not None:
        _check_value(node, key, where, known[key].metadata, problems)
    _walk(node._get_node(key), where, problems)


def _check_value(node: DictConfig, key: str, where: str, spec, problems: list[str]) -> None:
    if not spec:
        return
    try:
        value = node[key]
    except (InterpolationResolutionError, MissingMandatoryValue):
        return  # resolved later by whoever owns the interpolation; nothing to check here
    if value is None:
        return
    items = list(value) if isinstance(value, ListConfig) else [value]  # a list: each item
    for item in items if "choices" in spec else []:
        if item not in spec["choices"]:
            allowed = ", ".join(map(repr, spec["choices"]))
            problems.append(f"{where}={item!r}: must be one of {allowed}")
    if "keys" in spec and isinstance(value, DictConfig):
        bad = sorted(set(value.keys()) - set(spec["keys"]))
        if bad:
            problems.append(f"{where}: unknown keys {bad} (allowed: {', '.join(spec['keys'])})")
        missing = [k for k in spec["keys"] if k not in value] if spec.get("all_keys") else []
        if missing:
            problems.append(f"{where}: missing keys {missing} (every one of them is needed)")
    numbers = value.values() if isinstance(value, DictConfig) else [value]
    for number in numbers:
        message = _out_of_range(number, spec)
        if message:
            problems.append(f"{where}={number!r}: {message}")


def _out_of_range(value: Any, spec: dict[str, Any]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    checks = (
        ("ge", lambda b: value >= b, ">="),
        ("gt", lambda b: value > b, ">"),
        ("le", lambda b: value <= b, "<="),
        ("lt", lambda b: value < b, "<"),
    )
    failed = [f"{op} {spec[k]}" for k, ok, op in checks if k in spec and not ok(spec[k])]
    if not failed:
        return None
    wanted = " and ".join(f"{op} {spec[k]}" for k, _, op in checks if k in spec)
    return f"out of range: must be {wanted}"
