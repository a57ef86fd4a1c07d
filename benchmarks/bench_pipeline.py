"""Data-pipeline benchmark: prints JSON (and writes benchmarks/results/pipeline.json).

1. Offline rules pipeline on 60,000 demo rows with quality control on (target: < 180 s on a
   2-core machine) and off (target: < 60 s).
2. The LLM code path (offline ``asktoact/rules`` provider through litellm) on a smaller corpus:
   a cold run, then a cache-warm rerun that must make zero LLM calls.

Usage: python benchmarks/bench_pipeline.py [--rows 60000] [--llm-rows 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _results import emit  # noqa: E402

from asktoact.config import compose  # noqa: E402
from asktoact.data.build import build  # noqa: E402


def config(*overrides: str):
    return compose("generate", list(overrides))


def timed_build(workdir: Path, name: str, *overrides: str) -> tuple[float, dict]:
    cfg = config(f"cache_dir={workdir / 'cache'}", *overrides)
    start = time.perf_counter()
    manifest = build(cfg, workdir / name)
    return time.perf_counter() - start, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--llm-rows", type=int, default=3000)
    args = parser.parse_args()
    results: dict = {"cpus": os.cpu_count(), "rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for qc, target in (("on", 180.0), ("off", 60.0)):
            secs, manifest = timed_build(
                work, f"qc_{qc}", f"data.n={args.rows}", f"quality.enabled={qc == 'on'}"
            )
            results[f"rules_qc_{qc}"] = {
                "seconds": round(secs, 2),
                "examples_per_s": round(args.rows / secs, 1),
                "final_rows": manifest["counts"]["final"],
                "strings_encoded": manifest["quality"].get("strings_encoded", 0),
                "target_seconds": target,
                "met": secs < target,
            }
        llm = ("llm=offline", f"data.n={args.llm_rows}", "quality.enabled=false")
        cold_s, cold = timed_build(work, "llm_cold", *llm)
        warm_s, warm = timed_build(work, "llm_warm", *llm)
        results["llm_offline_provider"] = {
            "rows": args.llm_rows,
            "cold": {"seconds": round(cold_s, 2), **cold["llm_usage"]},
            "warm": {"seconds": round(warm_s, 2), **warm["llm_usage"]},
            "warm_makes_zero_calls": warm["llm_usage"]["calls"] == 0,
        }
    emit("pipeline", results)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
