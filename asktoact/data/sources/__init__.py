"""Loaders that normalise tool-calling datasets to :class:`asktoact.schema.Example`.

Each loader is a plain function ``load(..., rejects) -> list[Example]`` named by ``_target_`` in
``conf/data/*.yaml``. Malformed rows never stop a run: they go to ``rejects`` with a reason.
A loader whose input may come from elsewhere than its ``path`` (TaskBench: the hub) says whether
it can be had with an ``available(data)`` beside it in its module.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from omegaconf import DictConfig


def available(data: DictConfig) -> bool:
    """Whether a ``data`` config's input can be had: its module's own ``available(data)`` when it
    has one, else whether its ``path`` exists (a source without a path needs no input)."""
    module = importlib.import_module(data._target_.rsplit(".", 1)[0])
    check = getattr(module, "available", None)
    if check is not None:
        return bool(check(data))
    return data.get("path") is None or Path(data.path).exists()
