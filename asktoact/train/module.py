"""The LightningModule: weighted masked loss over the accumulated batch, AdamW + cosine warmup.

``training_step`` reads top to bottom: decoder hidden states → chunked weighted cross-entropy sums
→ divide by the window's total weight (times accumulate × world size, which Lightning's
accumulation and DDP's gradient averaging divide out again) → the optimizer sees exactly
Σ w·CE / Σ w over the whole effective batch.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

import pytorch_lightning as pl
import torch

from asktoact.train.loss import LossSums, weighted_lm_loss


def decoder_and_head(model):
    """The transformer body (hidden states out) and output embedding of an HF/peft causal LM."""
    return model.get_decoder(), model.get_output_embeddings()


class ClarifyLM(pl.LightningModule):
    def __init__(
        self,
        model,
        lr=1e-4,
        weight_decay=0.0,
        betas=(0.9, 0.999),
        warmup_ratio=0.1,
        loss_chunk_size=1024,
        trainable_only_checkpoints=True,
    ):
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.betas = lr, weight_decay, tuple(betas)
        self.warmup_ratio, self.chunk = warmup_ratio, loss_chunk_size
        self.trainable_only = trainable_only_checkpoints
        # Checkpoints hold only trainable tensors (a LoRA run saves MBs, not the frozen base).
        self.strict_loading = not trainable_only_checkpoints
        self._val = [0.0, 0.0]
        self._tick: float | None = None
        self._rng: dict[str, Any] | None = None  # from a checkpoint, restored before a step
        self.restored_metrics: dict[str, float] = {}  # last logged values of a checkpoint
        self.save_hyperparameters(ignore=["model"])

    def on_fit_start(self) -> None:
        strategy = self.trainer.strategy
        if getattr(strategy, "zero_stage_3", False):
            import deepspeed

            # The loss reads the output embedding's weight directly instead of calling the head
            # module, so ZeRO-3 must gather it whenever the engine's top-level module runs.
            head = self.model.get_output_embeddings()
            deepspeed.zero.register_external_parameter(strategy.model.module, head.weight)

    def loss_sums(self, batch: dict[str, torch.Tensor]) -> LossSums:
        body, head = decoder_and_head(self.model)
        hidden = body(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        return weighted_lm_loss(
            hidden, head.weight, batch["labels"], batch["loss_weights"], self.chunk, head.bias
        )

    def training_step(self, batch, batch_idx):
        sums = self.loss_sums(batch)
        scale = self.trainer.accumulate_grad_batches * self.trainer.world_size
        norm = batch.get("window_weight", sums.weight)
        loss = sums.loss / norm.clamp_min(1e-8) * scale
        n_tokens = int(batch["attention_mask"].sum())
        self.log("train/loss", sums.loss.detach() / sums.weight.clamp_min(1e-8), prog_bar=True)
        self.log("train/trained_token_share", sums.tokens / max(n_tokens, 1))
        self._log_throughput(n_tokens)
        return loss

    def _log_throughput(self, n_tokens: int) -> None:
        now = time.perf_counter()
        if self._tick is not None:
            self.log("train/tokens_per_s", n_tokens / max(now - self._tick, 1e-9), prog_bar=True)
        self._tick = now

    def validation_step(self, batch, batch_idx):
        sums = self.loss_sums(batch)
        self._val[0] += float(sums.loss)
        self._val[1] += float(sums.weight)

    def on_validation_epoch_end(self) -> None:
        if self._val[1] > 0:  # weight-normalised over the whole split, not a mean of batch means
            self.log("val/loss", self._val[0] / self._val[1], prog_bar=True, sync_dist=True)
        self._val = [0.0, 0.0]

    def configure_optimizers(self):
        from transformers import get_cosine_schedule_with_warmup

        params = [p for p in self.model.parameters() if p.requires_grad]
        opt_cls = _optimizer_class(self.trainer)
        optimizer = opt_cls(params, lr=self.lr, weight_decay=self.weight_decay, betas=self.betas)
        # Not trainer.estimated_stepping_batches: it builds the train loader before a checkpoint's
        # loader state is restored, and a resumed run would then start its epoch from batch 0.
        total = self.trainer.datamodule.optimizer_steps()
        scheduler = get_cosine_schedule_with_warmup(
            optimizer, math.ceil(self.warmup_ratio * total), total
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The random state after this step (dropout draws from it): a resumed run restores it
        # before its first step and goes on with the numbers an uninterrupted run would draw.
        checkpoint["rng"] = {"torch": torch.get_rng_state(), "python": random.getstate()}
        # The last logged values, for the summary of a run resumed with no step left to take.
        checkpoint["logged"] = {k: float(v) for k, v in self.trainer.callback_metrics.items()}
        if self.trainable_only:
            keep = {f"model.{n}" for n, p in self.model.named_parameters() if p.requires_grad}
            checkpoint["state_dict"] = {
                k: v for k, v in checkpoint["state_dict"].items() if k in keep
            }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._rng = checkpoint.get("rng")
        self.restored_metrics = checkpoint.get("logged", {})

    def on_train_batch_start(self, batch, batch_idx) -> None:
        # Restored here, not on loading: setting up the run in between may draw numbers.
        if self._rng is not None:
            torch.set_rng_state(self._rng["torch"])
            random.setstate(self._rng["python"])
            self._rng = None


def _optimizer_class(trainer):
    """AdamW; DeepSpeed's CPU Adam when ZeRO offloads the optimizer (torch AdamW cannot run there)."""
    strategy = getattr(trainer, "strategy", None)
    cfg = getattr(strategy, "config", None) or {}
    if cfg.get("zero_optimization", {}).get("offload_optimizer"):
        from deepspeed.ops.adam import DeepSpeedCPUAdam

        return DeepSpeedCPUAdam
    return torch.optim.AdamW
