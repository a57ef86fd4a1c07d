"""How close a run gets to the machine: the machine's own measured matmul throughput (fp32 and
bf16) and a model's matmul FLOPs, so benchmarks can print model FLOPs/s as a share of the peak
(a CPU "MFU")."""

from __future__ import annotations

import time

import torch

# Shapes of a 135 M model's projections at micro-batch scale (the 512x576 @ 576x1536) and
# a square one: the peak is the best of them. A GPU is only busy with far larger ones.
_SHAPES = ((512, 576, 1536), (1024, 1024, 1024), (2048, 576, 1536))
_GPU_SHAPES = ((4096, 4096, 4096), (8192, 8192, 8192))


def matmul_peak(repeats: int = 5, device: str | None = None) -> dict[str, float]:
    """Best measured GFLOP/s of a plain matmul, per dtype, on ``device`` (default: the GPU when
    there is one, else the CPU)."""
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    gpu = device.startswith("cuda")
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    out = {"device": device}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        best = 0.0
        for m, k, n in _GPU_SHAPES if gpu else _SHAPES:
            a = torch.randn(m, k, dtype=dtype, device=device)
            b = torch.randn(k, n, dtype=dtype, device=device)
            a @ b  # warm-up
            for _ in range(repeats):
                sync()
                start = time.perf_counter()
                a @ b
                sync()
                best = max(best, 2 * m * k * n / (time.perf_counter() - start))
        out[f"{name}_gflops"] = round(best / 1e9, 1)
    return out


def matmul_params(model) -> tuple[int, int]:
    """(all, trainable) weights that take part in a matmul per token: every Linear layer's,
    plus the output head's (counted once when it is tied to the input embedding)."""
    total = trainable = 0
    seen = set()
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and id(module.weight) not in seen:
            seen.add(id(module.weight))
            total += module.weight.numel()
            trainable += module.weight.numel() if module.weight.requires_grad else 0
    head = model.get_output_embeddings()
    if head is not None and id(head.weight) not in seen:
        total += head.weight.numel()
        trainable += head.weight.numel() if head.weight.requires_grad else 0
    return total, trainable


def train_flops_per_token(model) -> int:
    """Forward (2N) + backward through the activations (2N) + weight gradients of what trains
    (2N_trainable) — attention's own score matmuls left out (short sequences)."""
    total, trainable = matmul_params(model)
    return 4 * total + 2 * trainable


def mfu(flops_per_s: float, peak_gflops: float) -> float:
    return round(flops_per_s / (peak_gflops * 1e9), 4)
