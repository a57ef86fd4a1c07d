"""Experiment tracking shared by training and evaluation: loggers, run identity, secret redaction.

Loggers are built from the ``logger`` config group with ``hydra.utils.instantiate``; the factories
here add what every run needs: W&B offline unless a key is present (``wandb sync`` later), the run
grouped and tagged by experiment, and the logged configuration with secret-looking values
redacted so that API keys never reach W&B, CSV files or saved configs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from asktoact.configurable import configurable

_SECRET = re.compile(r"(api_key|token|secret|password)(?!_env)", re.I)


def redact(obj: Any) -> Any:
    """A config copy safe to log: values of secret-looking keys replaced (``*_env`` names kept)."""
    if isinstance(obj, dict):
        return {k: ("***" if _SECRET.search(str(k)) and v else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def wandb_offline(offline: bool | None) -> bool:
    """Offline unless asked otherwise or a key is present (runs can be synced later)."""
    return bool(offline) if offline is not None else not os.environ.get("WANDB_API_KEY")


# What the entry point passes when it builds a logger (never in the YAML).
RUNTIME = ("save_dir", "name", "run_config")


@configurable(exclude=RUNTIME)
def wandb_logger(
    save_dir: str | Path,
    name: str,
    run_config: dict[str, Any],
    project: str = "asktoact",
    entity: str | None = None,
    group: str | None = None,
    tags: list[str] | None = None,
    offline: bool | None = None,
):
    """A Lightning ``WandbLogger`` (offline without a key) with the redacted config logged."""
    from pytorch_lightning.loggers import WandbLogger

    logger = WandbLogger(
        project=project,
        entity=entity,
        group=group,
        tags=list(tags or []),
        name=name,
        save_dir=str(save_dir),
        offline=wandb_offline(offline),
        log_model=False,
    )
    logger.log_hyperparams(redact(run_config))
    return logger


@configurable(exclude=RUNTIME)
def csv_logger(save_dir: str | Path, name: str, run_config: dict[str, Any]):
    """A Lightning ``CSVLogger`` writing ``<save_dir>/csv/version_*/`` with the redacted config."""
    from pytorch_lightning.loggers import CSVLogger

    logger = CSVLogger(save_dir=str(save_dir), name="csv")
    logger.log_hyperparams(redact(run_config))
    return logger


@configurable(exclude=RUNTIME)
def no_logger(save_dir: str | Path, name: str, run_config: dict[str, Any]) -> bool:
    """The ``logger=none`` choice: nothing is logged (Lightning reads ``False`` as no logger)."""
    return False


def finish(logger: Any, status: str = "success") -> None:
    """Flush and close a logger's run (W&B writes its summary and config files here); called in a
    ``finally`` so that a failing run is closed too (``status="failed"``)."""
    if not logger:
        return
    logger.finalize(status)
    if type(logger).__name__ == "WandbLogger":
        import wandb

        logger.experiment.finish()
        # finish() returns before W&B's service process has written every record of an offline
        # run to its .wandb file (seen: a file holding only its header); teardown waits for it.
        wandb.teardown()
