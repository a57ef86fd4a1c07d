"""``asktoact-bfcl``: one model scored by BFCL's own evaluator."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="bfcl")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.bfcl.run import run_alone

    validate(cfg)
    run_alone(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
