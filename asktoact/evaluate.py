"""``asktoact-evaluate``: thin Hydra entry over :func:`asktoact.eval.run.run_evaluation`."""

from __future__ import annotations

import json
import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.paths import CONF_DIR

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
def main(cfg: DictConfig) -> None:
    from asktoact.eval.run import run_evaluation

    result = run_evaluation(cfg, HydraConfig.get().runtime.output_dir)
    log.info("metrics: %s", json.dumps({k: round(v, 4) for k, v in result["metrics"].items()}))


if __name__ == "__main__":
    main()
