"""``run_training(cfg, run_dir)``: everything ``asktoact-train`` does, as a plain function.

Data (generated on demand) → tokenizer and model (+ adapter) → data module → Lightning Trainer
with the configured strategy, precision, logger and callbacks → fit (resuming from
``checkpoints/last.ckpt`` when present) → adapter + merged model saved in HF format.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from asktoact.data.build import ensure_dataset
from asktoact.train.datamodule import DialogueDataModule
from asktoact.train.models import (
    apply_adapter,
    eot_of,
    load_model,
    load_tokenizer,
    parameter_counts,
    save_outputs,
)
from asktoact.train.module import ClarifyLM

log = logging.getLogger(__name__)

_SECRET = re.compile(r"(api_key|token|secret|password)(?!_env)", re.I)


def redact(obj: Any) -> Any:
    """A config copy safe to log: values of secret-looking keys replaced (``*_env`` names kept)."""
    if isinstance(obj, dict):
        return {k: ("***" if _SECRET.search(str(k)) and v else redact(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def resolve_precision(value: str) -> str:
    if value != "auto":
        return value
    return (
        "bf16-mixed" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "32-true"
    )


def make_strategy(cfg: DictConfig):
    spec = {k: v for k, v in cfg.items() if k != "name"}
    return instantiate(spec) if "_target_" in spec else spec["spec"]


def wandb_offline(logger_cfg) -> bool:
    """Offline unless asked otherwise or a key is present (runs can be synced later)."""
    if logger_cfg.get("offline") is not None:
        return bool(logger_cfg.offline)
    return not os.environ.get("WANDB_API_KEY")


def wandb_run_args(cfg: DictConfig) -> dict[str, Any]:
    """Project, entity, group, tags and name of the W&B run, shared by training and evaluation."""
    lc = cfg.logger
    return {
        "project": lc.project,
        "entity": lc.entity,
        "group": lc.group,
        "tags": list(lc.tags),
        "name": cfg.run_name,
    }


def make_logger(cfg: DictConfig, run_dir: Path):
    kind = cfg.logger.kind
    if kind == "none":
        return False
    if kind == "csv":
        from pytorch_lightning.loggers import CSVLogger

        logger = CSVLogger(save_dir=str(run_dir), name="csv")
    elif kind == "wandb":
        from pytorch_lightning.loggers import WandbLogger

        logger = WandbLogger(
            **wandb_run_args(cfg),
            save_dir=str(run_dir),
            offline=wandb_offline(cfg.logger),
            log_model=False,
        )
    else:
        raise ValueError(f"logger.kind must be wandb, csv or none, got {kind!r}")
    logger.log_hyperparams(redact(OmegaConf.to_container(cfg, resolve=True)))
    return logger


def make_trainer(cfg: DictConfig, run_dir: Path, accumulate: int) -> pl.Trainer:
    from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint, RichProgressBar

    t = cfg.trainer
    logger = make_logger(cfg, run_dir)
    callbacks = [
        ModelCheckpoint(
            dirpath=str(run_dir / "checkpoints"),
            filename="step{step}",
            save_last=True,
            every_n_train_steps=t.checkpoint_every_n_steps,
            save_top_k=1,
        ),
        RichProgressBar(),
    ]
    if logger:
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    return pl.Trainer(
        max_epochs=t.max_epochs,
        max_steps=t.max_steps,
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        precision=resolve_precision(t.precision),
        strategy=make_strategy(cfg.strategy),
        accumulate_grad_batches=accumulate,
        gradient_clip_val=t.gradient_clip_val,
        logger=logger,
        callbacks=callbacks,
        log_every_n_steps=t.log_every_n_steps,
        val_check_interval=t.val_check_interval,
        limit_val_batches=t.limit_val_batches,
        default_root_dir=str(run_dir),
        use_distributed_sampler=False,
    )


def accumulation(cfg: DictConfig) -> int:
    world = int(cfg.trainer.devices if isinstance(cfg.trainer.devices, int) else 1) * int(
        cfg.trainer.num_nodes
    )
    per_step = cfg.data.micro_batch_size * world
    if cfg.optim.effective_batch_size % per_step:
        log.warning(
            "optim.effective_batch_size=%d is not a multiple of micro batch x devices (%d); rounding",
            cfg.optim.effective_batch_size,
            per_step,
        )
    return max(1, round(cfg.optim.effective_batch_size / per_step))


def run_training(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(cfg.seed, workers=True)
    data_path = Path(cfg.data.path) if cfg.data.path else ensure_dataset(cfg, run_dir / "data")
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    dm = DialogueDataModule(
        data_path,
        tokenizer,
        instantiate(cfg.masking),
        eot_of(cfg.model),
        cfg.data.max_length,
        cfg.data.micro_batch_size,
        cfg.data.group_by_length,
        cfg.data.val_split,
        cfg.data.num_workers,
        cfg.seed,
        run_dir / "encode_rejects.jsonl",
        cfg.data.limit,
    )
    model = apply_adapter(load_model(cfg.model, tokenizer, cfg.seed), cfg.adapter, cfg.model)
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
    last = run_dir / "checkpoints" / "last.ckpt"
    ckpt = str(last) if cfg.resume and last.exists() else None
    if ckpt:
        log.info("resuming from %s", ckpt)
    trainer.fit(module, datamodule=dm, ckpt_path=ckpt)
    if type(trainer.logger).__name__ == "WandbLogger":  # flush the run's files (config, summary)
        trainer.logger.experiment.finish()
    summary = {
        "run_dir": str(run_dir),
        "data": str(data_path),
        "parameters": params,
        "encoding": dm.stats,
        "global_step": trainer.global_step,
        "resumed_from": ckpt,
        "metrics": {k: float(v) for k, v in trainer.callback_metrics.items()},
    }
    if trainer.is_global_zero:
        summary["outputs"] = save_outputs(model, tokenizer, run_dir, cfg.adapter.kind)
        (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
