"""``asktoact-rl``: TL-Training's RL stage on an SFT model (IRM reward, TRL GRPO/RLOO)."""

from __future__ import annotations

import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="rl")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.rl.run import run_rl

    validate(cfg)
    summary = run_rl(cfg, HydraConfig.get().runtime.output_dir)
    log.info(
        "reward %s -> %s; outputs: %s",
        summary["reward_first"],
        summary["reward_last"],
        summary["outputs"],
    )


if __name__ == "__main__":
    main()
