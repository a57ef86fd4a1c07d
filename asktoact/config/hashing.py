"""Identity of a configuration: a short hash of everything that decides a result.

Stores (datasets, trained models) and training resume are keyed by it, so that a changed setting
can never silently reuse an artifact built with another one. Keys that only say where things go
or how they are logged (cache folders, run names, loggers) are left out by the caller.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf


def resolved(cfg: DictConfig, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The resolved config as plain data, without the dotted keys in ``ignore``."""
    data = OmegaConf.to_container(cfg, resolve=True)
    for dotted in ignore:
        *parents, leaf = dotted.split(".")
        node = data
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return data


def config_hash(data: dict[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved configs (for error messages)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(where)
            else:
                out += differences(old[key], new[key], where)
        return out
    return [] if old == new else [path or "<root>"]
