"""The structured configs (Hydra ConfigStore) of every setting that decides a result.

Two kinds of schema:

* **Derived** (``derived_schema``): the options of the groups that build an object — data sources,
  LLM clients, masking schemes, agents, simulators, judges, loggers. Each YAML names its
  ``_target_``; keys, types and defaults come from that target's signature and its bounds from its
  ``@configurable`` spec (``asktoact/configurable.py``), so both are written once, in the code.
* **Explicit** dataclasses for settings blocks that build nothing themselves (pipeline, training
  data, optimiser, trainer, model, adapter, augmentation, evaluation, jobs). Their fields have no
  defaults: the YAML under ``conf/`` is the one place their values live.

Every option YAML of a group starts with ``defaults: [schema_<option> | schema, _self_]``; primary configs
start with their ``<name>_schema``. Bounds and enumerations (``config_field(..., ge=0, le=1)``)
are enforced by :func:`asktoact.config.validate.validate` before any work starts.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from asktoact.config.derive import derived_schema
from asktoact.configurable import UNIT, spec_of
from asktoact.configurable import config_field as F
from asktoact.data.augment import ERROR_TYPES
from asktoact.eval.irm import CATEGORIES as IRM_CATEGORIES
from asktoact.hardware import DTYPES
from asktoact.paths import CONF_DIR
from asktoact.train.families import FAMILIES

# -- derived from the YAML's _target_ -----------------------------------------------------------
# The groups whose options build an object. Each option YAML names its ``_target_`` and starts
# with ``defaults: [schema_<option>, _self_]``; that schema is derived here from the target's
# signature and its ``@configurable`` spec, so adding an option touches its code and its YAML.
OBJECT_GROUPS = ("data", "llm", "masking", "simulator", "agent", "judge", "logger")


def import_target(path: str) -> Any:
    """The object a dotted ``_target_`` path names."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def target_schema(path: str) -> type:
    """The schema of a node that builds ``path``: its signature, less the spec's exclusions."""
    target = import_target(path)
    spec = spec_of(target)
    return derived_schema(
        target, path, exclude=spec.exclude, bounds=spec.bounds, defaults=spec.defaults
    )


def option_schemas(group: str, conf_dir: str | Path = CONF_DIR) -> dict[str, type]:
    """``schema_<option>`` for every option YAML of ``group`` that names a ``_target_``."""
    out = {}
    for path in sorted(Path(conf_dir, group).glob("*.yaml")):
        target = (yaml.safe_load(path.read_text()) or {}).get("_target_")
        if target:
            out[f"schema_{path.stem}"] = target_schema(target)
    return out


# -- explicit settings blocks (values in conf/) ----------------------------------------------
@dataclass
class AugmentationConfig:
    ratio: float = F(**UNIT)
    mix: dict[str, float] = F(keys=ERROR_TYPES, ge=0.0)


@dataclass
class SamplingConfig:
    removal_prob: float = F(**UNIT)


@dataclass
class QualityConfig:
    enabled: bool = F()
    threshold: float = F(**UNIT)
    model: str = F()
    batch_size: int = F(ge=1)
    device: str = F()
    leak_check: bool = F()


@dataclass
class PipelineSettings:
    """``conf/pipeline/default.yaml``: the data stages' settings."""

    max_examples: Optional[int] = F(ge=1)  # noqa: UP045 (OmegaConf reads typing.Optional)
    test_size: float = F(ge=0.0, lt=1.0)
    sampling: SamplingConfig = MISSING
    quality: QualityConfig = MISSING


@dataclass
class GenerateSettings(PipelineSettings):
    """What ``train``/``evaluate``/``chat`` need to build a dataset on the fly (``generate.*``)."""

    data: Any = MISSING


@dataclass
class LoraSpec:
    """peft's LoraConfig for ``lora``/``dora`` (``use_dora``); ``full`` has none."""

    _target_: str = "peft.LoraConfig"
    r: int = F(ge=1)
    lora_alpha: float = F(gt=0)
    lora_dropout: float = F(ge=0.0, lt=1.0)
    target_modules: Any = "${model.lora_target_modules}"
    use_dora: bool = F()
    task_type: str = "CAUSAL_LM"


@dataclass
class AdapterConfig:
    name: str = F()
    lr: float = F(gt=0)
    peft: Optional[LoraSpec] = None  # noqa: UP045
    # LoRA on the top N transformer layers only (null: all). Backpropagation then stops at the
    # lowest adapted layer, which on a CPU makes a step much cheaper (benchmarks/bench_train.py).
    top_layers: Optional[int] = F(None, ge=1)  # noqa: UP045


@dataclass
class TokenizerConfig:
    vocab_size: int = F(ge=256)
    corpus_rows: int = F(ge=1)
    seed: int = F()


@dataclass
class GGUFSource:
    """A GGUF file inside an installed Python package (converted once to an HF folder)."""

    package: str = F()
    file: str = F()


@dataclass
class ModelConfig:
    name: str = F()
    family: str = F(choices=tuple(FAMILIES))  # train/families.py, the one list
    tiny: bool = F()
    hf_id: Optional[str] = F()  # noqa: UP045
    path: Optional[str] = F()  # noqa: UP045
    gguf: Optional[GGUFSource] = None  # noqa: UP045
    dtype: str = F(choices=("auto", *DTYPES))
    attn_implementation: str = F()
    eot: Optional[str] = F()  # noqa: UP045
    system_role: bool = F()  # false: the system prompt is folded into the first user turn
    lora_target_modules: Any = MISSING
    tokenizer: Optional[TokenizerConfig] = None  # noqa: UP045
    config: Any = None  # tiny models: the transformers config class to build


@dataclass
class TrainerConfig:
    max_epochs: int = F(ge=1)
    max_steps: int = F(ge=-1)
    accelerator: str = F()
    devices: Any = MISSING
    num_nodes: int = F(ge=1)
    precision: str = F()
    gradient_clip_val: Optional[float] = F(ge=0.0)  # noqa: UP045
    log_every_n_steps: int = F(ge=1)
    val_check_interval: Any = MISSING
    limit_val_batches: Any = MISSING
    checkpoint_every_n_steps: int = F(ge=1)
    gradient_checkpointing: bool = F()


@dataclass
class TrainDataConfig:
    path: Optional[str] = F()  # noqa: UP045
    system_prompt: bool = F()
    max_length: int = F(ge=16)
    micro_batch_size: int = F(ge=1)
    group_by_length: bool = F()
    mega_chunk_factor: int = F(ge=1)
    val_split: Optional[str] = F()  # noqa: UP045
    num_workers: int = F(ge=0)
    limit: Optional[int] = F(ge=1)  # noqa: UP045


@dataclass
class OptimConfig:
    effective_batch_size: int = F(ge=1)
    weight_decay: float = F(ge=0.0)
    betas: list[float] = F()
    warmup_ratio: float = F(**UNIT)
    loss_chunk_size: int = F(ge=1)


@dataclass
class EvalDataConfig:
    path: Optional[str] = F()  # noqa: UP045
    split: str = F()
    limit: Optional[int] = F(ge=1)  # noqa: UP045


# -- primary configs -------------------------------------------------------------------------
@dataclass
class RunConfig:
    seed: int = F()
    cache_dir: str = F()
    run_name: str = F()


@dataclass
class GenerateConfig(PipelineSettings, RunConfig):
    data: Any = MISSING
    llm: Any = MISSING
    augmentation: Any = MISSING
    out_dir: Optional[str] = F()  # noqa: UP045


@dataclass
class BuildsData(RunConfig):
    """Entry points that build a dataset when none is given (``data.path`` null)."""

    llm: Any = MISSING
    augmentation: Any = MISSING
    generate: GenerateSettings = MISSING


@dataclass
class TrainConfig(BuildsData):
    model: Any = MISSING
    adapter: Any = MISSING
    masking: Any = MISSING
    strategy: Any = MISSING
    logger: Any = MISSING
    trainer: Any = MISSING
    resume: bool = F()
    data: TrainDataConfig = MISSING
    optim: OptimConfig = MISSING


@dataclass
class EvaluateConfig(BuildsData):
    agent: Any = MISSING
    simulator: Any = MISSING
    judge: Any = MISSING
    reward: Any = MISSING
    logger: Any = MISSING
    resume: bool = F()
    max_rounds: int = F(ge=1)
    max_fallback_share: float = F(**UNIT)
    data: EvalDataConfig = MISSING


@dataclass
class ChatConfig(BuildsData):
    agent: Any = MISSING
    reward: Any = MISSING
    max_rounds: int = F(ge=1)
    index: int = F(ge=0)
    data: EvalDataConfig = MISSING


@dataclass
class ScaleConfig:
    """What a scale (``conf/scale/``: tiny, paper) sets for every job."""

    scale_name: str = F()
    source: str = F()
    model_name: str = F()
    generate_overrides: list[str] = F()
    ood_overrides: list[str] = F()
    train_overrides: list[str] = F()
    adapter_overrides: dict[str, Any] = F()
    eval_overrides: list[str] = F()
    local_agent_overrides: list[str] = F()  # only for local models (generation settings)
    rl_overrides: list[str] = F()  # the RL stage's settings at this scale (irm=true rows)


@dataclass
class JobConfig(ScaleConfig, RunConfig):
    experiment_name: str = F()
    adapter_name: str = F()
    masking_name: str = F()
    ratio: float = F(**UNIT)
    eval_set: str = F(choices=("in_domain", "ood"))
    eval_split: str = F()
    lr: Optional[float] = F(gt=0)  # noqa: UP045
    lora_r: Optional[int] = F(ge=1)  # noqa: UP045
    irm: bool = F()  # run TL-Training's RL stage (IRM reward) after SFT
    train_extra: list[str] = F()  # an experiment's own training settings (after the scale's)
    generate_extra: list[str] = F()  # an experiment's own data settings (replace the scale's keys)
    eval_extra: list[str] = F()  # an experiment's own evaluation settings (after the scale's)
    # An API model row (a litellm model id): evaluated with agent=litellm, nothing is trained.
    agent_model: Optional[str] = F()  # noqa: UP045
    agent_key_env: Optional[str] = F()  # noqa: UP045
    api_agent_overrides: list[str] = F()
    # Experiments whose rows are not a grid name them (``variant``); ``lookup`` holds the tables
    # an experiment's interpolations read (settings per variant, per scale).
    variant: Optional[str] = F()  # noqa: UP045
    lookup: Optional[dict[str, Any]] = F()  # noqa: UP045
    # Demo domains held out of every demo training set: without TaskBench on disk, the
    # out-of-domain set is built from them (ood_fallback_overrides).
    ood_domains: list[str] = F()
    ood_fallback_overrides: list[str] = F()
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


@dataclass
class RLAlgorithmConfig:
    """``conf/rl/``: the RL algorithm (TRL); its reward is ``conf/reward/``'s IRM table."""

    algorithm: str = F(choices=("grpo", "rloo"))
    lr: float = F(gt=0)
    beta: float = F(ge=0)  # KL penalty towards the SFT model
    batch_size: int = F(ge=1)
    num_generations: int = F(ge=2)  # rollouts per prompt (the group)
    max_completion_length: int = F(ge=1)
    temperature: float = F(gt=0)
    epochs: float = F(gt=0)
    max_steps: int = F(ge=-1)
    save_steps: int = F(ge=1)
    peft: Optional[LoraSpec] = None  # noqa: UP045 (None: full updates)


@dataclass
class RewardConfig:
    """``conf/reward/``: TL-Training's IRM, a reward per tool-call error category (all of them)."""

    irm: dict[str, float] = F(keys=IRM_CATEGORIES, all_keys=True)


@dataclass
class SFTSource:
    path: str = F()  # a train run's merged/ folder, or a base model with ``adapter``
    adapter: Optional[str] = F()  # noqa: UP045
    system_role: bool = F()


@dataclass
class RLDataConfig:
    path: str = F()
    limit: Optional[int] = F(ge=1)  # noqa: UP045


@dataclass
class RLConfig(RunConfig):
    rl: Any = MISSING
    reward: Any = MISSING
    sft: SFTSource = MISSING
    data: RLDataConfig = MISSING
    resume: bool = F()
    report_to: str = F(choices=("csv", "wandb"))  # not "logger": that name is a config group


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
    }
    for name, node in primaries.items():
        cs.store(name=f"{name}_schema", node=node)
