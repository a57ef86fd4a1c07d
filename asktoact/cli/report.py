"""``asktoact-report`` (``make tables``): rebuild the tables and plots from the runs found."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="report")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.report import build_reports

    validate(cfg)
    written = build_reports(cfg.runs_dir, cfg.reports_dir, list(cfg.chat_dirs))
    print("\n".join(map(str, written)) or f"no experiment runs found under {cfg.runs_dir}")


if __name__ == "__main__":
    main()
