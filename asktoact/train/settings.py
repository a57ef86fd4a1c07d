"""The training settings: model, adapter, trainer, training data, optimiser, and ``train``'s config.

Structured-config schemas (Hydra's ConfigStore stores them, ``asktoact.config`` registers them)
for ``conf/model/``, ``conf/adapter/``, ``conf/trainer/`` and ``conf/train.yaml``: the keys, types
and bounds that ``asktoact.config.validate`` enforces before any work. The values live in the
YAML only. Kept apart from ``train/run.py`` so that validating a config never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import MISSING

from asktoact.configurable import UNIT
from asktoact.configurable import config_field as F
from asktoact.data.build import BuildsData
from asktoact.hardware import DTYPES
from asktoact.train.families import FAMILIES


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
    lr: Optional[float] = F(gt=0)  # noqa: UP045 (null only for ``none``, the untrained model)
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
    """A GGUF file inside an installed Python package, or split over several (``parts``, in
    order: ``<package>:<path in it>``), checked and converted once to an HF folder
    (``train/gguf.py``)."""

    package: Optional[str] = F()  # noqa: UP045 (the one package holding ``file``; null: parts)
    file: str = F()  # the file's name (with parts: what the joined file is called)
    parts: list[str] = F([])
    version: Optional[str] = F(None)  # noqa: UP045 (the packages' version, for error messages)
    size: Optional[int] = F(None)  # noqa: UP045 (bytes the file must have)
    sha256: Optional[str] = F(None)  # noqa: UP045
    architecture: Optional[str] = F(None)  # noqa: UP045 (its GGUF header's general.architecture)


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
    _target_: str = F()  # pytorch_lightning.Trainer: the keys it takes are its arguments
    # how long training goes on: a run continued with more steps resumes its checkpoints
    max_epochs: int = F(ge=1, identity="resumable")
    max_steps: int = F(ge=-1, identity="resumable")
    accelerator: str = F()
    devices: Any = MISSING
    num_nodes: int = F(ge=1)
    precision: str = F()
    gradient_clip_val: Optional[float] = F(ge=0.0)  # noqa: UP045
    log_every_n_steps: int = F(ge=1, identity=False)
    val_check_interval: Any = F(identity="resumable")
    limit_val_batches: Any = F(identity="resumable")
    checkpoint_every_n_steps: int = F(ge=1, identity=False)
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
    num_workers: int = F(ge=0, identity=False)
    limit: Optional[int] = F(ge=1)  # noqa: UP045


@dataclass
class OptimConfig:
    effective_batch_size: int = F(ge=1)
    weight_decay: float = F(ge=0.0)
    betas: list[float] = F()
    warmup_ratio: float = F(**UNIT)
    loss_chunk_size: int = F(ge=1)


@dataclass
class TrainConfig(BuildsData):
    model: Any = MISSING
    adapter: Any = MISSING
    masking: Any = MISSING
    strategy: Any = MISSING
    logger: Any = F(identity=False)
    trainer: Any = MISSING
    resume: bool = F(identity=False)
    data: TrainDataConfig = MISSING
    optim: OptimConfig = MISSING
