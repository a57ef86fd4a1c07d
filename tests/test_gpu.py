"""GPU-only checks (marker ``gpu``; skipped without CUDA): the GPU check script end to end, short —
bf16 full fine-tuning of SmolLM2 under DeepSpeed ZeRO-2 and ZeRO-3, and a batched evaluation.
Never run yet: no GPU has been lent to this project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_the_gpu_check_trains_under_both_zero_stages_and_evaluates(repo_root: Path):
    script = repo_root / "benchmarks" / "gpu_check.py"
    args = ["--steps", "20", "--dialogues", "8"]
    out = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads((repo_root / "benchmarks/results/gpu_check.json").read_text())
    for strategy in ("deepspeed_zero2", "deepspeed_zero3"):
        run = result[strategy]
        assert "error" not in run, run
        assert run["steps"] == 20 and run["tokens_per_s_last_step"] > 0 and run["mfu"] > 0
    assert result["evaluation"]["batched_dialogues_per_s"] > 0
