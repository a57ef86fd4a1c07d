"""``asktoact-job``: one experiment job (one table row); ``--multirun experiment=<name>`` runs a
whole experiment."""

from __future__ import annotations

import json
import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="job")
@user_errors
def main(cfg: DictConfig) -> float:
    from asktoact.jobs.job import run_job

    validate(cfg)
    result = run_job(cfg, HydraConfig.get().runtime.output_dir)
    metrics = {k: round(v, 4) for k, v in result["metrics"].items()}
    log.info("%s: %s", cfg.run_name, json.dumps(metrics))
    # The objective of sweepers that optimise (Optuna): CPS, or exact next calls (CF) on
    # tool-use trajectories.
    return float(metrics.get("CPS", metrics.get("CF", 0.0)))


if __name__ == "__main__":
    main()
