"""Token-weighted masked cross-entropy, computed in chunks so full logits never exist at once.

Shapes: ``hidden`` (B, T, H) final hidden states, ``lm_weight`` (V, H) output embedding,
``labels`` (B, T) with IGNORE_INDEX where no loss, ``weights`` (B, T) float. Position t's hidden
state predicts token t+1 (the usual causal shift, done here). Only trained positions are projected
to the vocabulary, ``chunk_size`` rows at a time, and each chunk's gradient is formed right away
(a fused linear + cross-entropy): no (rows, V) float32 logits outlive their chunk and nothing is
recomputed. Peak extra memory is one chunk's logits instead of B·T·V floats (≈ 2.5 GB per
sequence at V=152k, T=4096).

The function returns *sums* (weighted loss, total weight, token count); the caller divides by the
total weight of the whole accumulated batch (docs/architecture.md), not by a per-micro-batch mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from asktoact.constants import IGNORE_INDEX


@dataclass
class LossSums:
    loss: torch.Tensor  # Σ w·CE over trained tokens (scalar, float32, differentiable)
    weight: torch.Tensor  # Σ w
    tokens: int  # number of trained tokens


class _FusedLinearCE(torch.autograd.Function):
    """Σ w·CE(h Wᵀ + b, y) with its gradients computed chunk by chunk during the forward.

    Each chunk's logits exist only inside the loop: their gradient (softmax − onehot)·w is formed
    at once and turned into gradients for ``h`` (and ``W``/``b`` when they train), so the backward
    only scales stored gradients. Same matmuls as a plain forward + backward, no recomputation.
    """

    @staticmethod
    def forward(ctx, h, weight, bias, y, w, chunk_size):
        grad_h = torch.empty_like(h) if h.requires_grad else None
        grad_w = torch.zeros_like(weight, dtype=torch.float32) if weight.requires_grad else None
        grad_b = (
            torch.zeros_like(bias, dtype=torch.float32)
            if bias is not None and bias.requires_grad
            else None
        )
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        for i in range(0, h.shape[0], chunk_size):
            hc, yc, wc = h[i : i + chunk_size], y[i : i + chunk_size], w[i : i + chunk_size]
            logp = torch.log_softmax(F.linear(hc, weight, bias).float(), dim=-1)
            total -= (logp.gather(1, yc[:, None]).squeeze(1) * wc).sum()
            if grad_h is None and grad_w is None and grad_b is None:
                continue
            dlogits = logp.exp_()  # softmax, in place of the log-probabilities
            dlogits[torch.arange(len(yc), device=h.device), yc] -= 1.0
            dlogits.mul_(wc[:, None])
            if grad_h is not None:
                grad_h[i : i + chunk_size] = dlogits.to(h.dtype) @ weight
            if grad_w is not None:
                grad_w += dlogits.T.to(h.dtype) @ hc
            if grad_b is not None:
                grad_b += dlogits.sum(0)
        ctx.save_for_backward(*(t for t in (grad_h, grad_w, grad_b) if t is not None))
        ctx.has = (grad_h is not None, grad_w is not None, grad_b is not None)
        ctx.dtypes = (weight.dtype, None if bias is None else bias.dtype)
        return total

    @staticmethod
    def backward(ctx, grad_out):
        saved = iter(ctx.saved_tensors)
        grads = [next(saved) * grad_out if has else None for has in ctx.has]
        if grads[1] is not None:
            grads[1] = grads[1].to(ctx.dtypes[0])
        if grads[2] is not None:
            grads[2] = grads[2].to(ctx.dtypes[1])
        return grads[0], grads[1], grads[2], None, None, None


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
    total = _FusedLinearCE.apply(h, lm_weight, lm_bias, y, w, chunk_size)
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
