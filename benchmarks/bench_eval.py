"""Evaluation benchmarks: prints JSON (and writes benchmarks/results/eval.json).

1. ``batched_local``: dialogues/s of evaluating the tiny model with batched generation across
   dialogues vs one dialogue at a time (target: >= 4x). On a 2-core CPU this workload is
   compute-bound prefill (every round re-reads the whole dialogue) and the default tiny model
   decodes one sequence in under a millisecond a step, so batching gains ~2-3x there; the target
   is about accelerators, where one sequence leaves the device idle.
2. ``litellm_concurrency``: wall time of 64 dialogues against a litellm agent whose mocked replies
   take 100 ms vs one dialogue (target: <= 2x: the calls overlap).

Usage: python benchmarks/bench_eval.py [--dialogues 16]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _results import emit  # noqa: E402

from asktoact.config import compose  # noqa: E402
from asktoact.data.build import build  # noqa: E402


def cfg(name: str, *overrides: str):
    return compose(name, list(overrides))


def tiny_model(work: Path) -> Path:
    """The default tiny model (random init) and its tokenizer, saved in HF format."""
    from asktoact.train.models import load_model, load_tokenizer

    c = cfg("train", f"cache_dir={work / 'cache'}")
    tok = load_tokenizer(c.model, c.cache_dir)
    path = work / "tiny"
    load_model(c.model, tok).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def rows(data: Path, n: int) -> list[dict]:
    from asktoact.eval.run import load_rows

    return load_rows(cfg("evaluate", f"data.path={data}", f"data.limit={n}"), data)


def timed_loop(agent, simulator, data_rows, max_rounds: int) -> float:
    """Seconds for the episode loop alone (agent and simulator already built and warm)."""
    from asktoact.eval.episode import Episode, run_episodes

    episodes = [Episode.from_row(r, simulator) for r in data_rows]
    start = time.perf_counter()
    run_episodes(episodes, agent, simulator, max_rounds)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogues", type=int, default=16)
    args = parser.parse_args()
    out: dict = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build(
            cfg("generate", "data.n=800", "quality.enabled=false", f"cache_dir={work / 'cache'}"),
            work / "data",
        )
        from hydra.utils import instantiate

        from asktoact.eval.agents import LiteLLMAgent, LocalAgent
        from asktoact.llm import LLMClient

        model, sim = tiny_model(work), instantiate(cfg("evaluate").simulator)
        data = rows(work / "data", 64)
        local = LocalAgent("local", str(model), max_new_tokens=32)
        timed_loop(local, sim, data[:4], 1)  # warm-up: kernels, caches, embeddings
        local.batch_size = 1
        seq_s = timed_loop(local, sim, data[: args.dialogues], 1)
        local.batch_size = args.dialogues
        bat_s = timed_loop(local, sim, data[: args.dialogues], 1)
        out["batched_local"] = {
            "dialogues": args.dialogues,
            "max_new_tokens": 32,
            "rounds": 2,
            "sequential_dialogues_per_s": round(args.dialogues / seq_s, 3),
            "batched_dialogues_per_s": round(args.dialogues / bat_s, 3),
            "speedup": round(seq_s / bat_s, 2),
            "target_speedup": 4.0,
            "met": seq_s / bat_s >= 4.0,
        }
        reply = '[SUMMARY] [{"task": "x", "arguments": []}]'

        def agent(tag: str) -> LiteLLMAgent:
            client = LLMClient(
                "gpt-4o",
                work / f"{tag}.sqlite",
                max_concurrency=64,
                mock_response=reply,
                mock_delay=0.1,
            )
            return LiteLLMAgent("litellm", client)

        timed_loop(agent("warm"), sim, data[:2], 0)
        # Best of three: a single 0.1 s measurement is at the mercy of the scheduler.
        one_s = min(timed_loop(agent(f"one{k}"), sim, data[:1], 0) for k in range(3))
        many_s = min(timed_loop(agent(f"many{k}"), sim, data[:64], 0) for k in range(3))
        out["litellm_concurrency"] = {
            "mock_latency_s": 0.1,
            "one_dialogue_s": round(one_s, 3),
            "dialogues": len(data[:64]),
            "many_dialogues_s": round(many_s, 3),
            "ratio": round(many_s / one_s, 2),
            "target_ratio": 2.0,
            "met": many_s / one_s <= 2.0,
        }
    emit("eval", out)


if __name__ == "__main__":
    main()
