"""Structured-config schemas derived from the constructors they configure.

A config node that builds an object (``_target_``) gets its schema from that object's signature:
the parameter names are the allowed keys, the annotations their types, the signature's defaults
the node's defaults. So a default lives in exactly one place — the constructor — and the YAML
options only say what differs. Value bounds and enumerations are declared beside the schema
(``check(...)``) and enforced by :mod:`asktoact.config.validate` before any work starts.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING

from asktoact.configurable import config_field

_PRIMITIVES = (int, float, bool, str)


# Classes whose derived schema should be used when a parameter is annotated with them.
NESTED: dict[type, type] = {}


def omegaconf_type(tp: Any) -> Any:
    """The closest type OmegaConf can hold: primitives, Optional primitives, nested schemas,
    homogeneous dicts/lists of primitives; anything else is ``Any``."""
    if tp in _PRIMITIVES or tp is Any:
        return tp
    if tp is Path:
        return str
    if tp in NESTED:
        return NESTED[tp]
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and len(args) == 2:
            inner = omegaconf_type(rest[0])
            return Optional[inner] if inner is not Any else Any  # noqa: UP045 (OmegaConf needs it)
        return Any
    # typing.Dict/List, not the builtins: OmegaConf's type checks know the typing forms.
    if origin is dict and args and args[0] is str:
        value = omegaconf_type(args[1])
        return typing.Dict[str, value if value in _PRIMITIVES else Any]  # noqa: UP006
    if origin is list and args:
        value = omegaconf_type(args[0])
        return typing.List[value if value in _PRIMITIVES else Any]  # noqa: UP006
    return Any


def _parameters(target: Any) -> list[tuple[str, inspect.Parameter, Any]]:
    """(name, parameter, type hint) of a function, or of a class's ``__init__``; a class whose
    ``__init__`` forwards ``**kwargs`` to its base also gets the base's parameters."""
    if not inspect.isclass(target):
        hints = typing.get_type_hints(target)
        params = inspect.signature(target).parameters.values()
        return [(p.name, p, hints.get(p.name, Any)) for p in params if _named(p)]
    out: list[tuple[str, inspect.Parameter, Any]] = []
    for cls in target.__mro__:
        if "__init__" not in vars(cls) or cls is object:
            continue
        hints = typing.get_type_hints(cls.__init__)
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]  # no self
        seen = {name for name, _, _ in out}
        out += [
            (p.name, p, hints.get(p.name, Any)) for p in params if _named(p) and p.name not in seen
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return out


def _named(param: inspect.Parameter) -> bool:
    return param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)


def derived_schema(
    target: Any,
    target_path: str,
    exclude: typing.Iterable[str] = (),
    bounds: dict[str, dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
    extra: typing.Iterable[tuple[str, Any, Any]] = (),
    not_identity: typing.Iterable[str] = (),
) -> type:
    """A dataclass schema for ``_target_: target_path`` with one field per parameter of
    ``target`` (a class or a function) except ``exclude``.

    ``defaults`` only wires config-specific values (interpolations such as ``${cache_dir}``); the
    value defaults come from the signature. ``extra`` adds (name, type, default) fields the node
    carries for other readers (e.g. a label used in run names). ``not_identity`` names the
    parameters that decide nothing the run makes (marked ``identity=False``).
    """
    bounds, defaults = bounds or {}, defaults or {}
    fields: list[tuple[str, Any, Any]] = [("_target_", str, dataclasses.field(default=target_path))]
    for name, param, hint in _parameters(target):
        if name in exclude:
            continue
        default = defaults.get(name, param.default)
        default = MISSING if default is inspect.Parameter.empty else default
        tp = omegaconf_type(hint)
        if dataclasses.is_dataclass(tp) and default is None:
            tp = Optional[tp]  # noqa: UP045
        identity = name not in not_identity
        fields.append((name, tp, config_field(default, identity, **bounds.get(name, {}))))
    for name, tp, default in extra:
        fields.append((name, tp, config_field(default)))
    unknown = set(bounds) - {f[0] for f in fields}
    if unknown:
        raise TypeError(f"bounds for {sorted(unknown)} name no parameter of {target_path}")
    schema = dataclasses.make_dataclass(f"{target.__name__}Config", fields)
    if inspect.isclass(target):
        NESTED[target] = schema
    return schema
