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

Format and behaviour apart (:data:`BEHAVIOUR`): ``PARSE`` — the turn reads as a call at all;
``WT`` — wrong-tool picks (a candidate that is not the gold tool, or a tool that does not exist)
among the parsable calls; ``PFX`` — the share of those wrong picks whose name shares its first
word with the gold tool's (``get_weather`` for ``get_weather_forecast``; words as
:func:`asktoact.data.phrasing.words` splits names), TL-Training's Table 1 "Prefix" case, the
confusion key-token weighting (PKT) is meant to lower. ``WT`` is 0 with no parsable call, ``PFX``
0 with no wrong pick.

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

import numpy as np
from omegaconf import DictConfig
from tqdm.auto import tqdm

from asktoact.data.phrasing import words
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
BEHAVIOUR = ("PARSE", "WT", "PFX")
# per case: the call parsed, it picked a wrong tool, that tool shares the gold one's first word
_FLAGS = ("parsed", "wrong_tool", "prefix")


def shares_prefix(picked: str, gold: str) -> bool:
    """Whether two tool names start with the same word (``words`` of each)."""
    a, b = words(picked), words(gold)
    return bool(a and b and a[0] == b[0])


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
    wrong = category in ("wrong_tool", "tool_hallucination")
    return {
        "id": case["id"],
        "prediction": text,
        "gold": case["gold"],
        **call_scores(category),
        "EXEC": float(runs),
        "IRM": reward,
        "irm_category": category,
        "parsed": float(call is not None),
        "wrong_tool": float(wrong),
        "prefix": float(wrong and shares_prefix(name, case["gold"]["name"])),
    }


def respond(
    agent, batch: list[dict[str, Any]], agent_name: str, constrained: bool = False
) -> list[str]:
    """The agent's next turn for each case: an agent that completes chats gets the trajectory
    so far as its chat; a reference agent writes its own (``next_call``). ``constrained``: the
    turn is decoded as a valid call of the case's tools (:mod:`asktoact.eval.constrained`)."""
    if constrained and not hasattr(agent, "complete_calls"):
        raise ConfigError(
            f"evaluate.constrained=true: agent={agent_name} cannot decode under a grammar "
            "(a local model can)"
        )
    if hasattr(agent, "complete"):
        chats = [trajectory_chat(c["prefix"], agent.system_role) for c in batch]
        if constrained:
            tools = [[ToolSpec.from_dict(t) for t in c["tools"]] for c in batch]
            return agent.complete_calls(chats, tools)
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
    behaviour = BEHAVIOUR
    behaviour_legend = (
        "Format apart from choice: PARSE = share of turns that read as a call; WT = wrong-tool "
        "picks among the parsable calls; PFX = share of those wrong picks whose name starts "
        "with the gold tool's first word (TL-Training's Table 1 'Prefix' case, which key-token "
        "weighting is meant to lower)."
    )

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

        if cfg.demonstrations.k:
            raise ConfigError(
                "evaluate.demonstrations.k: k-shot prompting is for dialogues; a trajectory's "
                "prefix already shows the call format"
            )
        agent = instantiate(cfg.agent)  # before the data: a model that cannot load stops here
        dd = datasets.load_from_disk(str(resolve_dataset_dir(cfg.data.path)))
        rows = list(dd[cfg.data.split])[: cfg.data.limit or None]
        todo = cases(rows)
        rewards = dict(cfg.reward.irm)
        size = int(cfg.agent.get("batch_size") or 32)
        scored = []
        for k in tqdm(range(0, len(todo), size), desc="next calls", unit="batch"):
            batch = todo[k : k + size]
            texts = respond(agent, batch, cfg.agent.name, cfg.constrained)
            scored += [score(c, t, rewards) for c, t in zip(batch, texts, strict=True)]
        write_jsonl(run_dir / "predictions.jsonl", scored)
        result = {
            "task": self.kind,
            "agent": cfg.agent.name,
            "constrained": bool(cfg.constrained),  # decoded as valid calls only (format-free)
            "trajectories": len(rows),
            "metrics": self.aggregate(scored) or {"N": 0},
            "intervals": self.intervals(scored, seed=int(cfg.seed)),
            "irm_categories": dict(Counter(s["irm_category"] for s in scored)),
            "outcomes": [{k: s[k] for k in ("id", *METRICS, *_FLAGS)} for s in scored],
        }
        write_json(run_dir / "metrics.json", result)
        return result

    def columns(self, outcomes: list[dict[str, Any]]):
        # results written before the flags were measured lack them (``unmeasured``)
        rows = [[float(o[m]) for m in METRICS] + [o.get(f, 0.0) for f in _FLAGS] for o in outcomes]
        width = len(METRICS) + len(_FLAGS)
        return np.asarray(rows, dtype=np.float64).reshape(len(outcomes), width)

    def metrics(self, sums, n: int):
        out = {m: sums[..., j] / n for j, m in enumerate(METRICS)}
        parsed, wrong, prefix = (sums[..., len(METRICS) + k] for k in range(len(_FLAGS)))
        out["PARSE"] = parsed / n
        out["WT"] = wrong / np.maximum(parsed, 1)
        out["PFX"] = prefix / np.maximum(wrong, 1)
        return out

    def outcome_id(self, outcome: dict[str, Any]) -> str:
        return outcome["id"]

    def unmeasured(self, outcomes: list[dict[str, Any]]) -> set[str]:
        return set(BEHAVIOUR) if any("parsed" not in o for o in outcomes) else set()
