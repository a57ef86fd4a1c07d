"""``asktoact-reproduce`` (``make reproduce``): every experiment end to end, then the reports."""

from __future__ import annotations

import logging

import hydra
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="reproduce")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.jobs.reproduce import reproduce

    validate(cfg)
    paths = reproduce(cfg)
    log.info("reports:\n%s", "\n".join(map(str, paths)))


if __name__ == "__main__":
    main()
