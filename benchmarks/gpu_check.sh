#!/usr/bin/env bash
# The GPU check, for the day a CUDA machine is lent: installs the project (on a GPU machine the
# registry's torch==2.13.0 is a CUDA build), then runs benchmarks/gpu_check.py — bf16 full
# fine-tuning of SmolLM2-135M-Instruct under DeepSpeed ZeRO-2 and ZeRO-3 (300 steps each) and a
# batched evaluation — and prints JSON (tokens/s, MFU against the measured bf16 matmul peak,
# peak memory per run). Under 8 minutes on one H100-class GPU is the aim; not yet run.
#   bash benchmarks/gpu_check.sh [--steps 300] [--micro-batch 8] [--dialogues 64]
set -euo pipefail
cd "$(dirname "$0")/.."
make install >/dev/null
exec timeout 480 .venv/bin/python benchmarks/gpu_check.py "$@"
