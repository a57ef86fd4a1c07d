"""Registration of the structured configs (Hydra ConfigStore) of every setting that decides a result.

Two kinds of schema:

* **Derived** (``derived_schema``): the options of the groups that build an object — data sources,
  LLM clients, masking schemes, agents, simulators, judges, loggers. Each YAML names its
  ``_target_``; keys, types and defaults come from that target's signature and its bounds from its
  ``@configurable`` spec (``asktoact/configurable.py``), so both are written once, in the code.
* **Explicit** dataclasses for settings blocks that build nothing themselves (pipeline, training
  data, optimiser, trainer, model, adapter, augmentation, evaluation, RL), written beside the code
  they configure and imported here; only the jobs' and reports' configs live in this module (those
  layers sit above config). Their fields have no defaults: the YAML under ``conf/`` is the one
  place their values live.

Every option YAML of a group starts with ``defaults: [schema_<option> | schema, _self_]``; primary
configs start with their ``<name>_schema``. Bounds and enumerations (``config_field(..., ge=0,
le=1)``) are enforced by :func:`asktoact.config.validate.validate` before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml
from hydra.core.config_store import ConfigStore
from hydra.utils import get_object
from omegaconf import MISSING

from asktoact.bfcl.run import BfclConfig, BfclRunConfig
from asktoact.config.derive import derived_schema
from asktoact.configurable import UNIT, RunConfig, spec_of
from asktoact.configurable import config_field as F
from asktoact.data.augment import AugmentationConfig
from asktoact.data.build import GenerateConfig
from asktoact.eval.chat import ChatConfig
from asktoact.eval.irm import RewardConfig
from asktoact.eval.run import EvaluateConfig
from asktoact.paths import CONF_DIR
from asktoact.rl.run import RLAlgorithmConfig, RLConfig
from asktoact.serve.app import ServeConfig
from asktoact.train.settings import AdapterConfig, ModelConfig, TrainConfig, TrainerConfig

# -- derived from the YAML's _target_ -----------------------------------------------------------
# The groups whose options build an object. Each option YAML names its ``_target_`` and starts
# with ``defaults: [schema_<option>, _self_]``; that schema is derived here from the target's
# signature and its ``@configurable`` spec, so adding an option touches its code and its YAML.
OBJECT_GROUPS = ("data", "llm", "masking", "simulator", "agent", "judge", "logger")


def target_schema(path: str) -> type:
    """The schema of a node that builds ``path``: its signature, less the spec's exclusions."""
    target = get_object(path)  # what hydra.utils.instantiate will build from the same path
    spec = spec_of(target)
    return derived_schema(
        target,
        path,
        exclude=spec.exclude,
        bounds=spec.bounds,
        defaults=spec.defaults,
        not_identity=spec.not_identity,
    )


def option_schemas(group: str, conf_dir: str | Path = CONF_DIR) -> dict[str, type]:
    """``schema_<option>`` for every option YAML of ``group`` that names a ``_target_``."""
    out = {}
    for path in sorted(Path(conf_dir, group).glob("*.yaml")):
        target = (yaml.safe_load(path.read_text()) or {}).get("_target_")
        if target:
            out[f"schema_{path.stem}"] = target_schema(target)
    return out


# -- explicit settings blocks ------------------------------------------------------------------
# Each lives beside the code it configures (data/augment.py, data/build.py, train/settings.py,
# eval/run.py, eval/chat.py, eval/irm.py, rl/run.py); only the configs of the layers above this one
# (jobs, reports), which config may not import, are written here.
@dataclass
class JobConfig(RunConfig):
    """One job (``conf/job.yaml``): the row's settings at the top, each step a node of its own
    schema, so a job is composed once and hands every step its node."""

    experiment_name: str = F()
    scale_name: str = F()
    ratio: float = F(**UNIT)
    eval_set: str = F(choices=("in_domain", "ood"))
    irm: bool = F()  # run TL-Training's RL stage (IRM reward) after SFT
    variant: Optional[str] = F()  # noqa: UP045 (experiments whose rows are not a grid)
    shots: int = F(ge=0)  # k-shot prompting of the row's model (evaluate.demonstrations.k)
    train_steps: Optional[int] = F(ge=1)  # noqa: UP045 (steps_sweep: optimizer steps of a row)
    tags: list[str] = F()  # the W&B tags of the job's runs
    # where the row's planned settings depart from the paper's, for its plan row
    plan_notes: list[str] = F(identity=False)
    # The row's choices, which the steps read (train.model: ${model}, evaluate.agent: ${agent}).
    model: ModelConfig = MISSING
    adapter: AdapterConfig = MISSING
    masking: Any = MISSING
    agent: Any = MISSING
    # The steps.
    generate: GenerateConfig = MISSING
    ood: GenerateConfig = MISSING  # the out-of-domain set (eval_set: ood) ...
    ood_fallback: GenerateConfig = MISSING  # ... or, without its data, held-out demo domains
    train: TrainConfig = MISSING
    evaluate: EvaluateConfig = MISSING
    rl: RLConfig = MISSING
    bfcl: BfclConfig = MISSING  # BFCL's own evaluator over the row's model (enabled: false)
    # Demo domains held out of every demo training set: without TaskBench on disk, the
    # out-of-domain set is built from them (``ood_fallback``).
    ood_domains: list[str] = F()
    data_root: str = F()
    model_root: str = F()
    eval_root: str = F()


@dataclass
class DataSource:
    folder: str = F()
    overrides: list[str] = F()


@dataclass
class ReproduceConfig:
    run_name: str = F()
    preset_name: str = F()
    report_scale: str = F()  # whose training set reports/dataset.md shows
    scale: str = F()  # the scale of every experiment ...
    scales: dict[str, str] = F()  # ... but these (experiment -> scale)
    skip: list[str] = F()  # experiments this preset leaves out
    sweeps: dict[str, list[str]] = F()  # experiment -> sweep overrides replacing its own
    plan: bool = F()  # true: write reports/plan.md|json of every job and run none
    runs_dir: str = F()
    reports_dir: str = F()
    job_overrides: list[str] = F()
    dataset_sources: dict[str, DataSource] = F()


@dataclass
class ReportConfig:
    run_name: str = F()
    runs_dir: str = F()
    reports_dir: str = F()
    chat_dirs: list[str] = F()


def register() -> None:
    """Store every schema in Hydra's ConfigStore (idempotent; done when asktoact.config loads)."""
    cs = ConfigStore.instance()
    groups: dict[str, dict[str, Any]] = {g: option_schemas(g) for g in OBJECT_GROUPS}
    groups.update(
        {
            "augmentation": {"schema": AugmentationConfig},
            "adapter": {"schema": AdapterConfig},
            "model": {"schema": ModelConfig},
            "trainer": {"schema": TrainerConfig},
            "rl": {"schema": RLAlgorithmConfig},
            "reward": {"schema": RewardConfig},
        }
    )
    for group, nodes in groups.items():
        for name, node in nodes.items():
            cs.store(group=group, name=name, node=node)
    primaries = {
        "generate": GenerateConfig,
        "train": TrainConfig,
        "evaluate": EvaluateConfig,
        "chat": ChatConfig,
        "job": JobConfig,
        "reproduce": ReproduceConfig,
        "report": ReportConfig,
        "rl": RLConfig,
        "serve": ServeConfig,
        "bfcl": BfclRunConfig,
    }
    for name, node in primaries.items():
        cs.store(name=f"{name}_schema", node=node)
