"""Tool-use evaluation on held-out trajectories (TL-Training's setting): the next call.

Each gold call of a test trajectory (a call turn whose feedback is a normal result) is one case:
the model sees the trajectory up to that turn — earlier wrong calls and their error feedback
included — and writes the next turn. Per case (each a rate over the N cases, with a seeded 95 %
percentile bootstrap interval):

* ``TS`` — the called tool is the gold one;
* ``PI`` — tool and parameter names equal the gold call's;
* ``CF`` — the call equals the gold call exactly (names and canonical values);
* ``EXEC`` — the call runs in the tool environment without a schema error (any tool, any values);
* ``IRM`` — the mean IRM reward (:func:`asktoact.eval.irm.irm_call_reward`, ``conf/reward/``'s
  table, the one the RL stage reads), with the count per category in ``irm_categories``.

``agent=oracle`` writes the gold call (every rate 1.0: the reference check); ``agent=local``
generates greedily with the model (``agent.path``, ``agent.adapter``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig
from tqdm.auto import tqdm

from asktoact.data.trajectories import trajectory_chat
from asktoact.eval.irm import irm_call_reward
from asktoact.eval.metrics import canonical, difference, percentiles, resamples
from asktoact.io import resolve_dataset_dir, write_json, write_jsonl
from asktoact.schema import ToolSpec
from asktoact.tools.calls import format_call, parse_call
from asktoact.tools.env import ToolEnvironment

log = logging.getLogger(__name__)

METRICS = ("TS", "PI", "CF", "EXEC", "IRM")


def cases(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One case per gold call: (trajectory id, turn index, prefix, gold call, tools)."""
    out = []
    for row in rows:
        bad = {e["turn"] for e in json.loads(row["errors"])}
        gold = iter(json.loads(row["calls"]))
        messages = row["messages"]
        for i, m in enumerate(messages[:-1]):
            if m["role"] != "assistant" or messages[i + 1]["role"] != "function" or i in bad:
                continue
            out.append(
                {
                    "id": f"{row['id']}:{i}",
                    "prefix": messages[:i],
                    "gold": next(gold),
                    "tools": json.loads(row["tools"]),
                }
            )
    return out


def score(case: dict[str, Any], text: str, rewards: dict[str, float]) -> dict[str, Any]:
    call = parse_call(text)
    gold = case["gold"]
    tools = [ToolSpec.from_dict(t) for t in case["tools"]]
    reward, category = irm_call_reward(call, gold, case["tools"], rewards)
    name, args = call if call else (None, {})
    same_names = name == gold["name"] and set(args) == set(gold["arguments"])
    values = {k: canonical(v) for k, v in args.items()}
    wanted = {k: canonical(v) for k, v in gold["arguments"].items()}
    runs = call is not None and ToolEnvironment(tools).check(name, args) is None
    return {
        "id": case["id"],
        "prediction": text,
        "gold": gold,
        "TS": float(name == gold["name"]),
        "PI": float(same_names),
        "CF": float(same_names and values == wanted),
        "EXEC": float(runs),
        "IRM": reward,
        "irm_category": category,
    }


def respond(cfg: DictConfig, agent, batch: list[dict[str, Any]]) -> list[str]:
    if cfg.agent.name == "oracle":
        return [format_call(c["gold"]["name"], c["gold"]["arguments"]) for c in batch]
    prompts = [
        agent.tok.apply_chat_template(
            trajectory_chat(c["prefix"], agent.system_role),
            tokenize=False,
            add_generation_prompt=True,
        )
        for c in batch
    ]
    return agent.generate(prompts)


def run_tool_evaluation(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    import datasets
    from hydra.utils import instantiate

    if cfg.agent.name not in ("oracle", "local"):
        raise ValueError(f"agent={cfg.agent.name}: tool-use evaluation takes agent=oracle or local")
    dd = datasets.load_from_disk(str(resolve_dataset_dir(cfg.data.path)))
    rows = list(dd[cfg.data.split])[: cfg.data.limit or None]
    todo = cases(rows)
    agent = instantiate(cfg.agent) if cfg.agent.name == "local" else None
    rewards = dict(cfg.reward.irm)
    size = int(cfg.agent.get("batch_size") or 32)
    scored = []
    for k in tqdm(range(0, len(todo), size), desc="next calls", unit="batch"):
        batch = todo[k : k + size]
        scored += [
            score(c, t, rewards) for c, t in zip(batch, respond(cfg, agent, batch), strict=True)
        ]
    write_jsonl(run_dir / "predictions.jsonl", scored)
    result = {
        "kind": "tool_use",
        "agent": cfg.agent.name,
        "trajectories": len(rows),
        "metrics": {"N": len(scored), **means(scored)},
        "intervals": intervals(scored, seed=int(cfg.seed)),
        "irm_categories": dict(Counter(s["irm_category"] for s in scored)),
        "outcomes": [{k: s[k] for k in ("id", *METRICS)} for s in scored],
    }
    write_json(run_dir / "metrics.json", result)
    return result


def means(scored: list[dict[str, Any]]) -> dict[str, float]:
    return {m: float(np.mean([s[m] for s in scored])) if scored else 0.0 for m in METRICS}


def intervals(scored, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """Percentile bootstrap interval of each metric's mean, resampling cases (seeded)."""
    if not scored:
        return {}
    cols = np.array([[s[m] for m in METRICS] for s in scored])
    lo, hi = percentiles(cols[resamples(len(scored), n_boot, seed)].mean(axis=1), level)
    return {m: [float(lo[j]), float(hi[j])] for j, m in enumerate(METRICS)}


def paired_difference(a: list[dict], b: list[dict], n_boot: int = 1000, seed: int = 0) -> dict:
    """Metric(a) − metric(b) over the cases both scored, with a paired bootstrap interval."""
    mine, theirs = {o["id"]: o for o in a}, {o["id"]: o for o in b}
    ids = sorted(set(mine) & set(theirs))
    if not ids:
        return {"n": 0, "metrics": {}}
    diff = np.array([[mine[i][m] - theirs[i][m] for m in METRICS] for i in ids])
    boot = diff[resamples(len(ids), n_boot, seed)].mean(axis=1)
    out = {m: difference(float(diff[:, j].mean()), boot[:, j]) for j, m in enumerate(METRICS)}
    return {"n": len(ids), "metrics": out}


def is_tool_use(path: str | Path | None) -> bool:
    from asktoact.data.trajectory_build import is_trajectory_dataset

    return bool(path) and is_trajectory_dataset(path)
