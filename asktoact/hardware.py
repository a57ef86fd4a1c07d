"""What the machine computes fast, as one rule every stage follows: bf16 where the hardware has
it (GPUs that support it, CPUs that report AVX512-BF16 or AMX), float32 elsewhere.

Training (``trainer.precision: auto``), the local evaluation agent (``agent.dtype: auto``) and
the RL stage ask here instead of guessing from the device type.
"""

from __future__ import annotations

DTYPES = ("float32", "bfloat16", "float16")  # the names configs use, besides "auto"


def bf16_supported() -> bool:
    """Whether bf16 matmuls run natively here (asked of torch, not guessed)."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    # torch's own CPU capability probe (the one its oneDNN kernels use to pick bf16 paths).
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(probe is not None and probe())


def resolve_precision(value: str) -> str:
    """Lightning precision: ``auto`` → ``bf16-mixed`` where bf16 is native, else ``32-true``."""
    if value != "auto":
        return value
    return "bf16-mixed" if bf16_supported() else "32-true"


def resolve_dtype(value: str):
    """A torch dtype from its name; ``auto`` → bfloat16 where bf16 is native, else float32."""
    import torch

    if value == "auto":
        return torch.bfloat16 if bf16_supported() else torch.float32
    if value not in DTYPES:
        raise ValueError(f"dtype {value!r}: must be auto or one of {', '.join(DTYPES)}")
    return getattr(torch, value)
