"""``asktoact-train``: fine-tune a model on clarification dialogues."""

from __future__ import annotations

import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="train")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.train.run import run_training

    validate(cfg)
    summary = run_training(cfg, HydraConfig.get().runtime.output_dir)
    log.info("trained %d steps; outputs: %s", summary["global_step"], summary.get("outputs"))


if __name__ == "__main__":
    main()
