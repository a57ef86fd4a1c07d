"""Token-weighted masked cross-entropy, computed in chunks so full logits never exist at once.

Shapes: ``hidden`` (B, T, H) final hidden states, ``lm_weight`` (V, H) output embedding,
``labels`` (B, T) with IGNORE_INDEX where no loss, ``weights`` (B, T) float. Position t's hidden
state predicts token t+1 (the usual causal shift, done here). Only trained positions are projected
to the vocabulary, ``chunk_size`` rows at a time, each chunk under activation checkpointing: the
forward keeps no (rows, V) float32 logits and the backward recomputes one chunk at a time. Peak
extra memory is one chunk's logits instead of B·T·V floats (≈ 2.5 GB at V=152k, T=4096).

The function returns *sums* (weighted loss, total weight, token count); the caller divides by the
total weight of the whole accumulated batch (DESIGN.md §4), not by a per-micro-batch mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from asktoact.constants import IGNORE_INDEX


@dataclass
class LossSums:
    loss: torch.Tensor  # Σ w·CE over trained tokens (scalar, float32, differentiable)
    weight: torch.Tensor  # Σ w
    tokens: int  # number of trained tokens


def _chunk_loss(
    h: torch.Tensor, w_out: torch.Tensor, bias, y: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    logits = F.linear(h, w_out, bias).float()
    return (F.cross_entropy(logits, y, reduction="none") * w).sum()


def weighted_lm_loss(
    hidden: torch.Tensor,
    lm_weight: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    chunk_size: int = 1024,
    lm_bias: torch.Tensor | None = None,
) -> LossSums:
    y = labels[:, 1:]
    keep = y != IGNORE_INDEX
    h = hidden[:, :-1][keep]  # (N, H): only positions that take loss
    y, w = y[keep], weights[:, 1:][keep].float()
    total = hidden.new_zeros((), dtype=torch.float32)
    for i in range(0, h.shape[0], chunk_size):
        args = (
            h[i : i + chunk_size],
            lm_weight,
            lm_bias,
            y[i : i + chunk_size],
            w[i : i + chunk_size],
        )
        total = total + (
            checkpoint(_chunk_loss, *args, use_reentrant=False)
            if torch.is_grad_enabled()
            else _chunk_loss(*args)
        )
    return LossSums(total, w.sum(), int(keep.sum()))


def naive_lm_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> LossSums:
    """Reference: full (B, T, V) float32 logits, then the same weighted sums."""
    y = labels[:, 1:]
    ce = F.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.shape[-1]),
        y.reshape(-1),
        reduction="none",
        ignore_index=IGNORE_INDEX,
    ).view_as(y)
    w = weights[:, 1:].float() * (y != IGNORE_INDEX)
    return LossSums((ce * w).sum(), w.sum(), int((y != IGNORE_INDEX).sum()))
