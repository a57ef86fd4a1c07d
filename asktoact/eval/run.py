"""``run_evaluation(cfg, run_dir)``: everything ``asktoact-evaluate`` does, as a plain function.

The dataset's task (``eval/task.py``) runs its evaluation loop and writes its outputs
(``metrics.json`` always): dialogues against the persona simulator (``eval/dialogues.py``) or the
next call on tool-use trajectories (``eval/tooluse.py``). This module owns what both read: the
evaluate schema, the evaluation rows, and what a resumed run must share with the one it continues.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig

from asktoact.configurable import UNIT
from asktoact.configurable import config_field as F
from asktoact.data.build import BuildsData, ensure_dataset
from asktoact.errors import ConfigError
from asktoact.eval import protocol
from asktoact.eval.demos import DemonstrationsConfig
from asktoact.eval.task import task_of
from asktoact.identity import dataset_fingerprint, folder_fingerprint, identity_of
from asktoact.io import resolve_dataset_dir


def load_rows(cfg: DictConfig, run_dir: Path) -> list[dict[str, Any]]:
    import datasets

    path = Path(cfg.data.path) if cfg.data.path else ensure_dataset(cfg, run_dir / "data")
    dd = datasets.load_from_disk(str(resolve_dataset_dir(path)))
    if cfg.data.split not in dd:
        raise ConfigError(f"data.split={cfg.data.split!r} not in {path} (splits: {sorted(dd)})")
    rows = dd[cfg.data.split]
    limit = cfg.data.limit
    return rows.select(range(min(limit, len(rows)))).to_list() if limit else rows.to_list()


def resume_identity(cfg: DictConfig) -> dict[str, Any]:
    """What the transcripts in a run folder must have been played with to be continued: the
    resolved config, less what may change on continuing (the fields marked ``identity=False``:
    where things go, how they are logged; or ``"resumable"``: how many queries are played), the
    content of the dataset it names and of the agent's model (and adapter) folders, and the
    protocol (personas and scoring code)."""
    identity = identity_of(cfg, resuming=True)
    if cfg.data.path:
        identity["dataset_content"] = dataset_fingerprint(resolve_dataset_dir(cfg.data.path))
    for key in ("path", "adapter"):
        identity[f"agent_{key}_content"] = folder_fingerprint(cfg.agent.get(key))
    identity["protocol"] = protocol.fingerprint()
    return identity


def run_evaluation(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    """The evaluation loop of the dataset's task (``eval/task.py``): dialogues against the
    simulator, or the next call on tool-use trajectories."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return task_of(cfg.data.path).evaluate(cfg, run_dir)


# -- settings (conf/evaluate.yaml; validated by asktoact.config) -----------------------------------
@dataclass
class EvalDataConfig:
    path: Optional[str] = F()  # noqa: UP045
    split: str = F()
    limit: Optional[int] = F(ge=1, identity="resumable")  # noqa: UP045 (episodes: more is resuming)


@dataclass
class EvaluateConfig(BuildsData):
    agent: Any = MISSING
    simulator: Any = MISSING
    judge: Any = MISSING
    reward: Any = MISSING
    logger: Any = F(identity=False)
    resume: bool = F(identity=False)
    max_rounds: int = F(ge=1)
    max_fallback_share: float = F(**UNIT, identity=False)  # when to stop, not what is played
    data: EvalDataConfig = MISSING
    demonstrations: DemonstrationsConfig = MISSING
    constrained: bool = F()  # next calls decoded as valid calls only (eval/constrained.py)
