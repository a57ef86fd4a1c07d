"""Loaders that normalise tool-calling datasets to :class:`asktoact.schema.Example`.

Each loader is a plain function ``load(..., rejects) -> list[Example]`` named by ``_target_`` in
``conf/data/*.yaml``. Malformed rows never stop a run: they go to ``rejects`` with a reason.
A loader whose input may come from elsewhere than its ``path`` (TaskBench: the hub) says whether
it can be had with an ``available(data)`` beside it in its module.
"""

from __future__ import annotations

from pathlib import Path

from hydra.utils import get_object
from omegaconf import DictConfig


def available(data: DictConfig) -> bool:
    """Whether a ``data`` config's input can be had: its module's own ``available(data)`` when it
    has one, else whether its ``path`` exists (a source without a path needs no input)."""
    module = get_object(data._target_.rpartition(".")[0])  # the loader's module
    check = getattr(module, "available", None)
    if check is not None:
        return bool(check(data))
    return data.get("path") is None or Path(data.path).exists()
