"""The GPU check (run by ``benchmarks/gpu_check.sh`` on a CUDA machine): bf16 full fine-tuning of
SmolLM2-135M-Instruct with ``strategy=deepspeed_zero2`` and ``deepspeed_zero3`` (a few hundred
steps each, each in a fresh process), then a batched evaluation of the base model; prints JSON
with tokens/s, model FLOPs utilisation against the GPU's measured bf16 matmul peak, and peak
memory per run (also written to benchmarks/results/gpu_check.json).

Usage: python benchmarks/gpu_check.py [--steps 300] [--micro-batch 8] [--dialogues 64]
Without a CUDA device it prints {"error": ...} and exits 2: it never falls back to the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402
from _machine import matmul_peak, mfu, train_flops_per_token  # noqa: E402
from _results import emit  # noqa: E402

from asktoact.config import compose  # noqa: E402

STRATEGIES = ("deepspeed_zero2", "deepspeed_zero3")
MODEL = "model=smollm2-135m-instruct"


def train_once(strategy: str, data: Path, work: Path, args) -> dict:
    """One training run in this process (the parent starts a fresh one per strategy: DeepSpeed
    initialises the process group once per process)."""
    from transformers import AutoModelForCausalLM

    from asktoact.train.models import model_source
    from asktoact.train.run import run_training

    batch = args.micro_batch
    cfg = compose(
        "train",
        [
            MODEL,
            "adapter=full",
            f"strategy={strategy}",
            "trainer.precision=bf16-mixed",
            "trainer.devices=1",
            f"trainer.max_steps={args.steps}",
            "trainer.max_epochs=20",  # max_steps ends it first
            f"trainer.checkpoint_every_n_steps={args.steps}",
            f"data.path={data}",
            f"data.micro_batch_size={batch}",
            f"optim.effective_batch_size={batch}",
            "logger=csv",
            f"cache_dir={work / 'cache'}",
        ],
    )
    torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    summary = run_training(cfg, work / strategy)
    seconds = time.perf_counter() - start
    enc = summary["encoding"]
    tokens_per_step = enc["train_tokens"] / max(enc["train_examples"], 1) * batch
    model = AutoModelForCausalLM.from_pretrained(model_source(cfg.model, cfg.cache_dir))
    tokens_per_s = summary["metrics"].get("train/tokens_per_s", 0.0)
    return {
        "strategy": strategy,
        "steps": summary["global_step"],
        "seconds_with_setup": round(seconds, 1),
        "tokens_per_s_last_step": round(tokens_per_s, 1),
        "tokens_per_step_mean": round(tokens_per_step, 1),
        "train_flops_per_token": train_flops_per_token(model),
        "peak_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2),
        "final_loss": summary["metrics"].get("train/loss"),
    }


def evaluate_batched(data: Path, work: Path, args, peak: dict) -> dict:
    import bench_eval

    rows = bench_eval.rows(data, args.dialogues)
    opts = argparse.Namespace(dialogues=args.dialogues, rounds=2, new_tokens=64, dtype="bfloat16")
    torch.cuda.reset_peak_memory_stats()
    result = bench_eval.batched_local(work, rows, opts, peak)
    result["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--dialogues", type=int, default=64)
    parser.add_argument("--one", choices=STRATEGIES, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA device: the GPU check runs only on a GPU"}))
        sys.exit(2)
    if args.one:
        print("RESULT " + json.dumps(train_once(args.one, args.data, args.work, args)))
        return
    from asktoact.data.build import build

    out: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    out["matmul_peak"] = peak = matmul_peak(device="cuda")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gen = ["data.n=800", "quality.enabled=false", f"cache_dir={work / 'cache'}"]
        build(compose("generate", gen), work / "data")
        for strategy in STRATEGIES:
            out[strategy] = run_child(strategy, work, args, peak)
        out["evaluation"] = evaluate_batched(work / "data", work, args, peak)
    emit("gpu_check", out)


def run_child(strategy: str, work: Path, args, peak: dict) -> dict:
    cmd = [sys.executable, __file__, "--one", strategy, "--data", str(work / "data")]
    cmd += ["--work", str(work), "--steps", str(args.steps), "--micro-batch", str(args.micro_batch)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not lines:
        return {"error": f"exit {proc.returncode}", "stderr_tail": proc.stderr[-2000:]}
    run = json.loads(lines[-1].removeprefix("RESULT "))
    flops = run["tokens_per_s_last_step"] * run["train_flops_per_token"]
    run["mfu"] = mfu(flops, peak["bf16_gflops"])
    return run


if __name__ == "__main__":
    main()
