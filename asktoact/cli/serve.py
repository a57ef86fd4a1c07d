"""``asktoact-serve``: a local agent model behind an OpenAI-compatible API."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from asktoact.cli import user_errors
from asktoact.config import CONF_DIR, validate


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="serve")
@user_errors
def main(cfg: DictConfig) -> None:
    from asktoact.serve.app import serve

    validate(cfg)
    serve(cfg)


if __name__ == "__main__":
    main()
