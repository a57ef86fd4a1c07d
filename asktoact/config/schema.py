"""The structured configs (Hydra ConfigStore) of every setting that decides a result.

Two kinds of schema:

* **Derived** (``derived_schema``): nodes that build an object with ``_target_`` — data sources,
  LLM clients, masking schemes, agents, simulators, judges, loggers. Keys, types and defaults come
  from the constructor's signature, so a default is written once, in the code it configures.
* **Explicit** dataclasses for settings blocks that build nothing themselves (pipeline, training
  data, optimiser, trainer, model, adapter, augmentation, evaluation, jobs). Their fields have no
  defaults: the YAML under ``conf/`` is the one place their values live.

Every option YAML of a group starts with ``defaults: [<schema name>, _self_]``; primary configs
start with their ``<name>_schema``. Bounds and enumerations (``config_field(..., ge=0, le=1)``)
are enforced by :func:`asktoact.config.validate.validate` before any work starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from asktoact import tracking
from asktoact.config.derive import config_field as F
from asktoact.config.derive import derived_schema
from asktoact.constants import ERROR_TYPES
from asktoact.data import trajectories
from asktoact.data.sources import bfcl, demo, taskbench, tl_format, xlam
from asktoact.eval import agents, judge, simulator
from asktoact.eval.irm import CATEGORIES as IRM_CATEGORIES
from asktoact.eval.personas import PERSONAS
from asktoact.hardware import DTYPES
from asktoact.llm import LLMClient, rules_backend
from asktoact.train.families import FAMILIES
from asktoact.train.keytokens import KEY_DEFINITIONS
from asktoact.train.masking import ERROR_MODES, Masking

UNIT = {"ge": 0.0, "le": 1.0}

# -- derived from constructors ---------------------------------------------------------------
LLMClientConfig = derived_schema(
    LLMClient,
    "asktoact.llm.LLMClient",
    exclude=("stats",),
    defaults={"cache_path": "${cache_dir}/llm.sqlite"},
    bounds={
        "max_concurrency": {"ge": 1},
        "num_retries": {"ge": 1},
        "max_repairs": {"ge": 0},
        "retry_wait_min_s": {"ge": 0},
        "retry_wait_max_s": {"ge": 0},
        "temperature": {"ge": 0},
        "max_tokens": {"ge": 1},
        "timeout_s": {"gt": 0},
    },
)
RULES_LLM = derived_schema(rules_backend, "asktoact.llm.rules_backend")

SOURCES = {
    "demo": derived_schema(
        demo.load,
        "asktoact.data.sources.demo.load",
        exclude=("rejects",),
        bounds={"n": {"ge": 1}, "max_calls": {"ge": 1}, "distractors": {"ge": 0}},
    ),
    "xlam": derived_schema(xlam.load, "asktoact.data.sources.xlam.load", exclude=("rejects",)),
    "taskbench": derived_schema(
        taskbench.load, "asktoact.data.sources.taskbench.load", exclude=("rejects",)
    ),
    "bfcl": derived_schema(bfcl.load, "asktoact.data.sources.bfcl.load", exclude=("rejects",)),
    "trajectories": derived_schema(
        trajectories.load,
        "asktoact.data.trajectories.load",
        exclude=("rejects",),
        bounds={
            "n": {"ge": 1},
            "max_calls": {"ge": 1},
            "error_rate": {"ge": 0.0, "le": 1.0},
            "transient_rate": {"ge": 0.0, "lt": 1.0},
        },
    ),
    "tl_format": derived_schema(
        tl_format.load, "asktoact.data.sources.tl_format.load", exclude=("rejects",)
    ),
}

MaskingConfig = derived_schema(
    Masking,
    "asktoact.train.masking.Masking",
    bounds={
        "errors": {"choices": ERROR_MODES},
        "w_max": {"ge": 1.0},
        "pkt_keys": {"choices": KEY_DEFINITIONS},
    },
)

_SIMULATOR_BOUNDS = {
    "persona": {"choices": ("random", *PERSONAS)},
    "match_threshold": UNIT,
    "vague_threshold": UNIT,
    **{f"{k}_weight": UNIT for k in ("word", "kind", "direction", "api")},
    "embed_batch_size": {"ge": 1},
}
_SEED = {"seed": "${seed}"}
SIMULATORS = {
    "schema_rules": derived_schema(
        simulator.RulesSimulator,
        "asktoact.eval.simulator.RulesSimulator",
        bounds=_SIMULATOR_BOUNDS,
        defaults=_SEED,
    ),
    "schema_litellm": derived_schema(
        simulator.LiteLLMSimulator,
        "asktoact.eval.simulator.LiteLLMSimulator",
        bounds=_SIMULATOR_BOUNDS,
        defaults=_SEED,
    ),
}

AGENTS = {
    "schema_reference": derived_schema(agents.ReferenceAgent, "asktoact.eval.agents.OracleAgent"),
    "schema_local": derived_schema(
        agents.LocalAgent,
        "asktoact.eval.agents.LocalAgent",
        bounds={
            "batch_size": {"ge": 1},
            "max_new_tokens": {"ge": 1},
            "dtype": {"choices": ("auto", *DTYPES)},
            "temperature": {"gt": 0},
        },
    ),
    "schema_litellm": derived_schema(agents.LiteLLMAgent, "asktoact.eval.agents.LiteLLMAgent"),
    "schema_replay": derived_schema(agents.ReplayAgent, "asktoact.eval.agents.ReplayAgent"),
}

JUDGES = {
    "schema_rules": derived_schema(judge.rules_judge, "asktoact.eval.judge.rules_judge"),
    "schema_litellm": derived_schema(judge.LiteLLMJudge, "asktoact.eval.judge.LiteLLMJudge"),
}

_RUNTIME = ("save_dir", "name", "run_config")  # what the entry point passes when it builds a logger
LOGGERS = {
    "schema_wandb": derived_schema(
        tracking.wandb_logger, "asktoact.tracking.wandb_logger", exclude=_RUNTIME
    ),
    "schema_csv": derived_schema(
        tracking.csv_logger, "asktoact.tracking.csv_logger", exclude=_RUNTIME
    ),
    "schema_none": derived_schema(
        tracking.no_logger, "asktoact.tracking.no_logger", exclude=_RUNTIME
    ),
}


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
    groups: dict[str, dict[str, Any]] = {
        "data": {f"schema_{k}": v for k, v in SOURCES.items()},
        "llm": {"schema": LLMClientConfig, "schema_rules": RULES_LLM},
        "masking": {"schema": MaskingConfig},
        "simulator": SIMULATORS,
        "agent": AGENTS,
        "judge": JUDGES,
        "logger": LOGGERS,
        "augmentation": {"schema": AugmentationConfig},
        "adapter": {"schema": AdapterConfig},
        "model": {"schema": ModelConfig},
        "trainer": {"schema": TrainerConfig},
        "rl": {"schema": RLAlgorithmConfig},
        "reward": {"schema": RewardConfig},
    }
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
