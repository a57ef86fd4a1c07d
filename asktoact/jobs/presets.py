"""Which experiments ``make reproduce`` runs, and at which scale.

An experiment is ``conf/experiment/<name>.yaml`` plus ``experiments/<name>/``; those whose folder
has a ``table.yaml`` make a paper table, and ``make reproduce`` runs every one of them — adding an
experiment touches nothing here. A preset (``conf/preset/``) gives one scale for all
(``scale``) and the exceptions (``scales``: experiment → scale, ``skip``: experiments left out).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from asktoact.paths import CONF_DIR, EXPERIMENTS_DIR


def table_experiments() -> list[str]:
    """Every experiment with a config and a table, in name order."""
    configs = {p.stem for p in (Path(CONF_DIR) / "experiment").glob("*.yaml")}
    return sorted(n for n in configs if (EXPERIMENTS_DIR / n / "table.yaml").exists())


def experiment_scales(cfg: DictConfig) -> dict[str, str]:
    """experiment → scale for the preset ``cfg`` (its ``scale``, ``scales``, ``skip``)."""
    names = table_experiments()
    unknown = sorted((set(cfg.scales) | set(cfg.skip)) - set(names))
    if unknown:
        raise ValueError(f"preset {cfg.preset_name}: unknown experiments {unknown}; known: {names}")
    return {n: cfg.scales.get(n, cfg.scale) for n in names if n not in cfg.skip}
