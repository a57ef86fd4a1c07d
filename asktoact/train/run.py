"""``run_training(cfg, run_dir)``: everything ``asktoact-train`` does, as a plain function.

Data (generated on demand) → tokenizer and model (+ adapter) → data module → Lightning Trainer
with the configured strategy, precision, logger and callbacks → fit (resuming from
``checkpoints/last.ckpt`` when present) → adapter + merged model saved in HF format.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.strategies import DeepSpeedStrategy

from asktoact import tracking
from asktoact.data.build import ensure_dataset
from asktoact.errors import ConfigError
from asktoact.eval.task import task_of
from asktoact.hardware import resolve_precision
from asktoact.identity import claim, dataset_fingerprint, folder_fingerprint, identity_of
from asktoact.io import remove_leftovers, resolve_dataset_dir, write_json
from asktoact.train.checkpoints import (
    AtomicCheckpointIO,
    FaultPoints,
    candidates,
    checkpoint_callback,
    choose,
)
from asktoact.train.datamodule import DialogueDataModule
from asktoact.train.models import (
    apply_adapter,
    eot_of,
    load_model,
    load_tokenizer,
    parameter_counts,
)
from asktoact.train.module import ClarifyLM
from asktoact.vocab import add_marker_tokens, fit_embeddings, marker_vocab_size
from asktoact.weights import save_outputs

log = logging.getLogger(__name__)


def make_strategy(cfg: DictConfig):
    spec = {k: v for k, v in cfg.items() if k != "name"}
    return instantiate(spec) if "_target_" in spec else spec["spec"]


def make_trainer(cfg: DictConfig, run_dir: Path, accumulate: int) -> pl.Trainer:
    from pytorch_lightning.callbacks import LearningRateMonitor, RichProgressBar

    t = cfg.trainer
    config = OmegaConf.to_container(cfg, resolve=True)
    # _partial_: the run's config is an argument, and must not be instantiated itself.
    logger = instantiate(cfg.logger, _partial_=True)(run_dir, cfg.run_name, config)
    callbacks = [
        checkpoint_callback(run_dir / "checkpoints", t.checkpoint_every_n_steps),
        FaultPoints(),
        RichProgressBar(),
    ]
    strategy = make_strategy(cfg.strategy)
    # DeepSpeed saves its own sharded checkpoint folders; every other strategy saves through a
    # CheckpointIO plugin, and ours writes atomically.
    plugins = [] if isinstance(strategy, DeepSpeedStrategy) else [AtomicCheckpointIO()]
    if logger:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    return instantiate(
        trainer_arguments(t),
        precision=resolve_precision(t.precision),  # "auto": what the hardware computes natively
        strategy=strategy,
        plugins=plugins,
        accumulate_grad_batches=accumulate,
        logger=logger,
        callbacks=callbacks,
        default_root_dir=str(run_dir),
        use_distributed_sampler=False,  # the data module shards by rank itself
    )


def trainer_arguments(trainer: DictConfig) -> DictConfig:
    """The trainer node less the keys its ``_target_`` does not take (ours: checkpoint and
    gradient-checkpointing settings), read from the target's signature."""
    import inspect

    from hydra.utils import get_class

    takes = inspect.signature(get_class(trainer._target_)).parameters
    values = OmegaConf.to_container(trainer, resolve=True)  # cut from the run's root
    return OmegaConf.create({k: v for k, v in values.items() if k == "_target_" or k in takes})


def accumulation(cfg: DictConfig) -> int:
    """Micro-batches per optimizer step: the effective batch over micro-batch x world size,
    which must divide it (a rounded batch would train with another batch than the one asked)."""
    devices = cfg.trainer.devices if isinstance(cfg.trainer.devices, int) else 1
    micro, nodes, batch = (
        cfg.data.micro_batch_size,
        cfg.trainer.num_nodes,
        cfg.optim.effective_batch_size,
    )
    per_step = micro * devices * nodes
    if batch % per_step:
        raise ConfigError(
            f"optim.effective_batch_size={batch} is not a multiple of data.micro_batch_size={micro}"
            f" x trainer.devices={devices} x trainer.num_nodes={nodes} = {per_step}: change one of"
            " them so that the product divides the effective batch"
        )
    return batch // per_step


def chat_preparation(cfg: DictConfig, data_path: Path | None = None):
    """What every training row becomes before encoding, as the dataset's task says
    (``eval/task.py``): a dialogue with the evaluation system prompt first
    (``data.system_prompt``), placed as the model's chat template allows; a tool-use trajectory
    as it is, its own system turn (the tools) first."""
    return task_of(data_path).training_chat(cfg.model.system_role, cfg.data.system_prompt)


def resume_identity(cfg: DictConfig) -> dict[str, Any]:
    """What a checkpoint must have been trained with to be continued: the resolved config, less
    what may change on resuming (the fields marked ``identity=False``: where things go, how they
    are logged; or ``"resumable"``: how long training runs), and the content of the dataset and
    model folders it names (the same path may hold another dataset or model by now)."""
    identity = identity_of(cfg, resuming=True)
    if cfg.data.path:
        identity["dataset_content"] = dataset_fingerprint(resolve_dataset_dir(cfg.data.path))
    identity["model_content"] = folder_fingerprint(cfg.model.path)
    return identity


def resume_checkpoint(cfg: DictConfig, run_dir: Path) -> str | None:
    """The newest readable checkpoint when resuming is on and it was written with these settings
    (``checkpoints.choose``: ``last.ckpt``, else the step checkpoints before it).

    The checkpoint folder keeps the settings it was trained with (``config.json``); a checkpoint
    from other settings is never silently continued. Starting over removes the old checkpoints,
    so a later resume cannot pick one of them up.
    """
    folder = run_dir / "checkpoints"
    remove_leftovers(folder)  # a checkpoint being written when the run was killed
    found = bool(candidates(folder))
    if claim(folder / "config.json", resume_identity(cfg), cfg.resume, "checkpoints", found):
        ckpt = choose(folder)
        log.info("resuming from %s", ckpt)
        return str(ckpt)
    for stale in candidates(folder):
        stale.unlink()
    return None


def data_module(cfg: DictConfig, run_dir: Path, tokenizer, masking) -> DialogueDataModule:
    data_path = Path(cfg.data.path) if cfg.data.path else ensure_dataset(cfg, run_dir / "data")
    return DialogueDataModule(
        data_path,
        tokenizer,
        masking,
        eot_of(cfg.model),
        cfg.data.max_length,
        cfg.data.micro_batch_size,
        cfg.data.group_by_length,
        cfg.data.val_split,
        cfg.data.num_workers,
        cfg.seed,
        run_dir / "encode_rejects.jsonl",
        cfg.data.limit,
        cfg.data.mega_chunk_factor,
        prepare=chat_preparation(cfg, data_path),
    )


def run_training(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    if cfg.adapter.name == "none":
        raise ConfigError("adapter=none is the untrained model: there is nothing to train")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(run_dir)  # an adapter/ or merged/ being written when the run was killed
    ckpt = resume_checkpoint(cfg, run_dir)
    pl.seed_everything(cfg.seed, workers=True)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    masking = instantiate(cfg.masking)
    model = load_model(cfg.model, tokenizer, cfg.seed, cfg.cache_dir)
    # <SOE>/<EOE> as tokens of their own (masking.markers=special): added after the model is
    # built (a tiny model's random init stays the job's saved base) and before the data is
    # encoded; their embedding rows are trained under LoRA too
    markers = add_marker_tokens(tokenizer) if masking.adds_marker_tokens else None
    fit_embeddings(model, marker_vocab_size(tokenizer))
    model = apply_adapter(model, cfg.adapter, trainable_tokens=markers)
    dm = data_module(cfg, run_dir, tokenizer, masking)
    model.train()  # from_pretrained returns eval mode: dropout (LoRA's too) would stay off
    if cfg.trainer.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    params = parameter_counts(model)
    log.info("parameters: %s", params)
    o = cfg.optim
    module = ClarifyLM(
        model, cfg.adapter.lr, o.weight_decay, tuple(o.betas), o.warmup_ratio, o.loss_chunk_size
    )
    trainer = make_trainer(cfg, run_dir, accumulation(cfg))
    if trainer.logger:
        trainer.logger.log_hyperparams(
            {"params/trainable": params["trainable"], "params/total": params["total"]}
        )
    status = "failed"
    try:
        trainer.fit(module, datamodule=dm, ckpt_path=ckpt)
        status = "success"
    finally:  # flush the run's files (config, summary), also when training fails
        tracking.finish(trainer.logger, status)
    summary = {
        "run_dir": str(run_dir),
        "data": str(dm.path),
        "parameters": params,
        "encoding": dm.stats,
        "global_step": trainer.global_step,
        "resumed_from": ckpt,
        "metrics": {
            **module.restored_metrics,
            **{k: float(v) for k, v in trainer.callback_metrics.items()},
        },
    }
    if trainer.is_global_zero:
        summary["outputs"] = save_outputs(model, tokenizer, run_dir)
        write_json(run_dir / "train_summary.json", summary)
    return summary


if __name__ == "__main__":  # a job's train step as one task of a SLURM job step (jobs/job.py)
    import sys

    logging.basicConfig(level=logging.INFO)
    run_training(OmegaConf.load(sys.argv[1]), sys.argv[2])
