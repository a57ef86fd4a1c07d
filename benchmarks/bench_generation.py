"""Generation benchmark: prefill and decode tokens/s and their share of the machine's matmul peak.

The evaluation protocol on the real model (SmolLM2-135M-Instruct, dtype ``auto``: bf16 where
native, the evaluation prompt, the rules simulator, every dialogue in one batch as the default
scale plays them), once per generation setting of ``asktoact.eval.generation``, all in one run:

* ``plain``   — every row's new part padded to the longest and run at once;
* ``prefix``  — the shared prompt prefix run once and its keys/values reused;
* ``chunked`` — ``prefix`` plus new parts run in length-sorted chunks (no padding computed);

the next-call task's generation (``LocalAgent.complete`` on tool-use trajectories), and two steps
of the RL stage (TRL's GRPO rollouts and policy update). Every forward of the model is timed:
without gradients, one with more than one new token a row is prefill, one with one is a decode
step; with gradients it is the RL stage's training. Model FLOPs count 2 per matmul weight per token (padding included for what
the model computes, excluded for what it had to). Greedy outputs are compared with ``plain``'s.

Prints JSON (and writes benchmarks/results/generation.json).

Usage: python benchmarks/bench_generation.py [--dialogues 32] [--rounds 2] [--new-tokens 64]
       [--dtype auto]
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

import torch  # noqa: E402
from _machine import matmul_params, matmul_peak, mfu  # noqa: E402
from _results import emit  # noqa: E402

from asktoact.config import compose  # noqa: E402
from asktoact.data.build import build  # noqa: E402

DTYPE = ["auto"]  # --dtype
SETTINGS = {
    "plain": {"share_prefix": False, "prefill_tokens": 0},
    "prefix": {"share_prefix": True, "prefill_tokens": 0},
    "chunked": {"share_prefix": True, "prefill_tokens": 4096},
}


class ForwardClock:
    """Seconds and tokens (rows x new tokens, padding included) of every forward of a model,
    split into prefill (more than one new token a row) and decode steps (one)."""

    def __init__(self, model):
        self.totals = {"prefill": [0.0, 0], "decode": [0.0, 0]}
        self._start = 0.0
        model.register_forward_pre_hook(self._before, with_kwargs=True)
        model.register_forward_hook(self._after, with_kwargs=True)

    def _before(self, module, args, kwargs):
        self._start = time.perf_counter()

    def _after(self, module, args, kwargs, output):
        ids = kwargs.get("input_ids")
        kind = "prefill" if ids.shape[1] > 1 else "decode"
        if torch.is_grad_enabled():  # the RL stage's policy update, not generation
            kind = "training"
        self.totals.setdefault(kind, [0.0, 0])
        self.totals[kind][0] += time.perf_counter() - self._start
        self.totals[kind][1] += ids.numel()

    def snapshot(self) -> dict[str, tuple[float, int]]:
        return {k: (v[0], v[1]) for k, v in self.totals.items()}


def play(agent, simulator, rows, rounds: int) -> list[list[str]]:
    from asktoact.eval.episode import Episode, run_episodes

    rewards = compose("evaluate").reward.irm
    episodes = [Episode.from_row(r, simulator, rewards) for r in rows]
    run_episodes(episodes, agent, simulator, rounds)
    return [[m["content"] for m in ep.messages if m["role"] == "assistant"] for ep in episodes]


def shares(clock_delta: dict, seconds: float, weights: int, peak: float) -> dict:
    out = {"seconds": round(seconds, 2)}
    for kind, (secs, tokens) in clock_delta.items():
        out[f"{kind}_s"] = round(secs, 2)
        out[f"{kind}_tokens"] = tokens
        out[f"{kind}_tokens_per_s"] = round(tokens / secs, 1) if secs else None
        out[f"{kind}_mfu"] = mfu(2 * weights * tokens / secs, peak) if secs else None
    out["other_s"] = round(seconds - sum(s for s, _ in clock_delta.values()), 2)
    return out


def delta(after: dict, before: dict) -> dict:
    return {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in after}


def agent_for(path: str, new_tokens: int, batch: int, **setting):
    from asktoact.eval.agents import LocalAgent

    return LocalAgent(
        "local", path, max_new_tokens=new_tokens, batch_size=batch, dtype=DTYPE[0], **setting
    )


def evaluation(path: str, rows: list[dict], args, peak: dict, work: Path) -> dict:
    from hydra.utils import instantiate

    sim = instantiate(
        compose("evaluate", [f"cache_dir={work}", "simulator.persona=cold_fish"]).simulator
    )
    out, turns = {}, {}
    for name, setting in SETTINGS.items():
        agent = agent_for(path, args.new_tokens, len(rows), **setting)
        weights, _ = matmul_params(agent.model)
        bf16 = "bfloat16" in str(agent.model.dtype)
        play(agent, sim, rows[:2], 0)  # warm-up: kernels, embeddings
        clock = ForwardClock(agent.model)
        start = time.perf_counter()
        turns[name] = play(agent, sim, rows, args.rounds)
        seconds = time.perf_counter() - start
        stats = agent.incremental.stats
        out[name] = shares(
            clock.snapshot(), seconds, weights, peak["bf16_gflops" if bf16 else "fp32_gflops"]
        )
        out[name]["tokens_needed"] = stats.prefilled  # real new tokens (no padding)
        out[name]["tokens_from_cache"] = stats.reused
        out[name]["generated"] = stats.generated
    for name in SETTINGS:
        same = sum(a == b for a, b in zip(turns[name], turns["plain"], strict=True))
        out[name]["dialogues_identical_to_plain"] = f"{same}/{len(rows)}"
        out[name]["speedup_vs_plain"] = round(out["plain"]["seconds"] / out[name]["seconds"], 2)
    out["dtype"] = "bf16" if bf16 else "fp32"
    return out


def next_calls(path: str, work: Path, args, peak: dict) -> dict:
    """The next-call task's turns for up to 32 held-out trajectory cases (``LocalAgent.complete``):
    transformers' ``generate`` on the padded batch (``reuse_cache`` off) vs the incremental
    generator in each setting."""
    import datasets

    from asktoact.data.trajectories import trajectory_chat
    from asktoact.eval.tooluse import cases

    traj = ["data=trajectories", "data.n=160", f"cache_dir={work}/c2"]
    build(compose("generate", traj), work / "traj")
    rows = datasets.load_from_disk(str(work / "traj" / "dataset"))["test"].to_list()
    todo = cases(rows)[:32]
    out, texts = {"cases": len(todo)}, {}
    modes = {"generate": {"reuse_cache": False}, **SETTINGS}
    for name, setting in modes.items():
        agent = agent_for(path, args.new_tokens, len(todo), **setting)
        weights, _ = matmul_params(agent.model)
        bf16 = "bfloat16" in str(agent.model.dtype)
        chats = [trajectory_chat(c["prefix"], agent.system_role) for c in todo]
        agent.complete(chats[:2])  # warm-up
        clock = ForwardClock(agent.model)
        start = time.perf_counter()
        texts[name] = agent.complete(chats)
        seconds = time.perf_counter() - start
        peak_gflops = peak["bf16_gflops" if bf16 else "fp32_gflops"]
        out[name] = shares(clock.snapshot(), seconds, weights, peak_gflops)
    for name in modes:
        same = sum(a == b for a, b in zip(texts[name], texts["generate"], strict=True))
        out[name]["calls_identical_to_generate"] = f"{same}/{len(todo)}"
        out[name]["speedup_vs_generate"] = round(
            out["generate"]["seconds"] / out[name]["seconds"], 2
        )
    return out


def rollouts(path: str, work: Path, args) -> dict:
    """Two steps of the RL stage (GRPO, 8 rollouts a step of up to ``--new-tokens`` tokens) on
    SmolLM2 and the trajectory dataset of :func:`next_calls`: where a step's time goes —
    prefill and decode of the rollouts, the no-grad forwards of the reference (``prefill`` too),
    and the policy's training forwards (``training``)."""
    from unittest import mock

    from asktoact.rl import run as rl_run

    cfg = compose(
        "rl",
        [
            f"sft.path={path}",
            f"data.path={work / 'traj'}",
            "data.limit=16",
            "rl.max_steps=2",
            f"rl.max_completion_length={args.new_tokens}",
            f"cache_dir={work}/c3",
        ],
    )
    clocks = []
    load = rl_run._policy

    def timed_policy(c):
        model, tok, peft = load(c)
        clocks.append(ForwardClock(model))
        return model, tok, peft

    start = time.perf_counter()
    with mock.patch.object(rl_run, "_policy", timed_policy):
        summary = rl_run.run_rl(cfg, work / "rl")
    seconds = time.perf_counter() - start
    totals = clocks[0].snapshot()
    out = {"steps": summary["global_step"], "rollouts_per_step": int(cfg.rl.batch_size)}
    out["seconds"] = round(seconds, 1)
    for kind, (secs, tokens) in totals.items():
        out[f"{kind}_s"], out[f"{kind}_tokens"] = round(secs, 1), tokens
    out["other_s"] = round(seconds - sum(s for s, _ in totals.values()), 1)
    return out


def main() -> None:
    from asktoact.eval.run import load_rows
    from asktoact.train.models import model_source

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogues", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="auto", help="the local agent's (auto: bf16 if native)")
    args = parser.parse_args()
    DTYPE[0] = args.dtype
    peak = matmul_peak()
    out: dict = {"cpus": os.cpu_count(), "matmul_peak": peak, "model": "SmolLM2-135M-Instruct"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gen = ["data.n=800", "quality.enabled=false", f"cache_dir={work / 'cache'}"]
        build(compose("generate", gen), work / "data")
        cfg = compose("evaluate", [f"data.path={work / 'data'}", f"data.limit={args.dialogues}"])
        rows = load_rows(cfg, work)
        real = compose("train", ["model=smollm2-135m-instruct"])
        path = model_source(real.model, real.cache_dir)
        out["evaluation"] = {
            "dialogues": len(rows),
            "rounds": args.rounds,
            "max_new_tokens": args.new_tokens,
            **evaluation(path, rows, args, peak, work),
        }
        out["next_calls"] = next_calls(path, work, args, peak)
        out["rl_rollouts"] = rollouts(path, work, args)
    emit("generation", out)


if __name__ == "__main__":
    main()
