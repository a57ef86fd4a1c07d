"""``asktoact-evaluate``: an assistant against the persona user simulator."""

from __future__ import annotations

import json
import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="evaluate")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.eval.run import run_evaluation

    validate(cfg)
    result = run_evaluation(cfg, HydraConfig.get().runtime.output_dir)
    log.info("metrics: %s", json.dumps({k: round(v, 4) for k, v in result["metrics"].items()}))


if __name__ == "__main__":
    main()
