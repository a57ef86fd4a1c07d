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

Any agent that writes a turn for a chat (``complete``: local models, litellm models) writes the
next call; ``agent=oracle`` writes the gold call (every rate 1.0: the reference check) and
``agent=replay`` the first recorded turn of each case's id (``next_call``). The dialogue policies
(``never_ask``, ``ask_all``) have no next call to write.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from tqdm.auto import tqdm

from asktoact.data.trajectories import trajectory_chat
from asktoact.data.trajectory_build import KIND
from asktoact.errors import ConfigError
from asktoact.eval.irm import irm_call_reward
from asktoact.eval.metrics import call_scores
from asktoact.eval.task import Task
from asktoact.io import resolve_dataset_dir, write_json, write_jsonl
from asktoact.schema import ToolSpec
from asktoact.tools.calls import parse_call
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
    """The next call ``text`` against the case's gold call: TS/PI/CF from its IRM category (as
    for a dialogue's solution), whether it runs, and its reward."""
    call = parse_call(text)
    tools = [ToolSpec.from_dict(t) for t in case["tools"]]
    reward, category = irm_call_reward(call, case["gold"], case["tools"], rewards)
    name, args = call if call else (None, {})
    runs = call is not None and ToolEnvironment(tools).check(name, args) is None
    return {
        "id": case["id"],
        "prediction": text,
        "gold": case["gold"],
        **call_scores(category),
        "EXEC": float(runs),
        "IRM": reward,
        "irm_category": category,
    }


def respond(agent, batch: list[dict[str, Any]], agent_name: str) -> list[str]:
    """The agent's next turn for each case: an agent that completes chats gets the trajectory
    so far as its chat; a reference agent writes its own (``next_call``)."""
    if hasattr(agent, "complete"):
        chats = [trajectory_chat(c["prefix"], agent.system_role) for c in batch]
        return [t or "" for t in agent.complete(chats)]
    if hasattr(agent, "next_call"):
        return [agent.next_call(c) for c in batch]
    raise ConfigError(
        f"agent={agent_name}: plays dialogues only; the next-call task takes an agent that "
        "writes turns (local, litellm) or a reference one (oracle, replay)"
    )


class ToolUseTask(Task):
    """TL-Training's task: the next call on tool-use trajectories (see the module doc)."""

    kind = KIND
    serve_protocol = "trajectory"

    def training_chat(self, system_role: bool, system_prompt: bool):
        # a trajectory brings its own system turn (the tools), kept as it is
        return functools.partial(trajectory_chat, system_role=system_role)

    def rl_prompts(self, rows: list[dict[str, Any]], system_role: bool) -> list[dict[str, Any]]:
        """One prompt per gold call: the trajectory up to it (earlier errors and feedback
        included), with the gold call and the candidate tools for the reward."""
        return [
            {
                "prompt": trajectory_chat(c["prefix"], system_role),
                "gold": json.dumps(c["gold"], ensure_ascii=False),
                "tools": json.dumps(c["tools"], ensure_ascii=False),
                "kind": "call",
            }
            for c in cases(rows)
        ]

    def evaluate(self, cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
        import datasets
        from hydra.utils import instantiate

        agent = instantiate(cfg.agent)  # before the data: a model that cannot load stops here
        dd = datasets.load_from_disk(str(resolve_dataset_dir(cfg.data.path)))
        rows = list(dd[cfg.data.split])[: cfg.data.limit or None]
        todo = cases(rows)
        rewards = dict(cfg.reward.irm)
        size = int(cfg.agent.get("batch_size") or 32)
        scored = []
        for k in tqdm(range(0, len(todo), size), desc="next calls", unit="batch"):
            batch = todo[k : k + size]
            texts = respond(agent, batch, cfg.agent.name)
            scored += [score(c, t, rewards) for c, t in zip(batch, texts, strict=True)]
        write_jsonl(run_dir / "predictions.jsonl", scored)
        result = {
            "task": self.kind,
            "agent": cfg.agent.name,
            "trajectories": len(rows),
            "metrics": self.aggregate(scored) or {"N": 0},
            "intervals": self.intervals(scored, seed=int(cfg.seed)),
            "irm_categories": dict(Counter(s["irm_category"] for s in scored)),
            "outcomes": [{k: s[k] for k in ("id", *METRICS)} for s in scored],
        }
        write_json(run_dir / "metrics.json", result)
        return result

    def columns(self, outcomes: list[dict[str, Any]]):
        import numpy as np

        rows = [[float(o[m]) for m in METRICS] for o in outcomes]
        return np.asarray(rows, dtype=np.float64).reshape(len(outcomes), len(METRICS))

    def metrics(self, sums, n: int):
        return {m: sums[..., j] / n for j, m in enumerate(METRICS)}

    def outcome_id(self, outcome: dict[str, Any]) -> str:
        return outcome["id"]
