"""``asktoact-generate``: build the clarification dataset."""

from __future__ import annotations

import json
import logging

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="generate")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.data.build import build

    validate(cfg)
    out_dir = cfg.out_dir or HydraConfig.get().runtime.output_dir
    manifest = build(cfg, out_dir)
    log.info("dataset written to %s", out_dir)
    log.info("counts: %s", json.dumps(manifest["counts"]))


if __name__ == "__main__":
    main()
