"""``run_evaluation(cfg, run_dir)``: everything ``asktoact-evaluate`` does, as a plain function.

Writes ``transcripts.jsonl`` (one line per finished episode, appended as episodes finish, so a
killed run resumes), ``metrics.json`` (the F.3 metrics, Table 6 error rates, breakdowns by number
of unspecified intents and of tool calls, simulator fallbacks and LLM usage) and
``breakdown.csv``; optionally logs metrics and a transcript table to W&B.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from asktoact.data.build import ensure_dataset
from asktoact.eval.agents import make_agent
from asktoact.eval.episode import Episode, run_episodes
from asktoact.eval.judge import LiteLLMJudge
from asktoact.eval.metrics import Outcome, aggregate, breakdown
from asktoact.eval.simulator import LiteLLMSimulator, RulesSimulator
from asktoact.llm import LLMClient, client_from_config

log = logging.getLogger(__name__)


def client_for(cfg: DictConfig, cache_dir: str, json_mode: bool) -> LLMClient:
    return client_from_config(cfg, cache_dir, json_mode)


def make_simulator(cfg: DictConfig, seed: int, cache_dir: str):
    keys = ("model", "match_threshold", "vague_threshold", "keyword_bonus", "persona", "device")
    rules_kw = {k: cfg[k] for k in keys if k in cfg}
    if cfg.backend == "rules":
        return RulesSimulator(seed=seed, **rules_kw)
    if cfg.backend == "litellm":
        rules_kw["model"] = "all-MiniLM-L6-v2"  # the fallback's embedding model
        return LiteLLMSimulator(client_for(cfg, cache_dir, json_mode=True), seed=seed, **rules_kw)
    raise ValueError(f"simulator.backend must be rules or litellm, got {cfg.backend!r}")


def load_rows(cfg: DictConfig, run_dir: Path) -> list[dict[str, Any]]:
    import datasets

    from asktoact.train.datamodule import resolve_dataset_dir

    path = Path(cfg.data.path) if cfg.data.path else ensure_dataset(cfg, run_dir / "data")
    dd = datasets.load_from_disk(str(resolve_dataset_dir(path)))
    if cfg.data.split not in dd:
        raise KeyError(f"data.split={cfg.data.split!r} not in {path} (splits: {sorted(dd)})")
    rows = dd[cfg.data.split]
    limit = cfg.data.limit
    return rows.select(range(min(limit, len(rows)))).to_list() if limit else rows.to_list()


def _done(path: Path, resume: bool) -> dict[str, dict[str, Any]]:
    if not (resume and path.exists()):
        path.unlink(missing_ok=True)
        return {}
    return {t["id"]: t for t in map(json.loads, path.read_text().splitlines())}


def run_evaluation(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    rows = load_rows(cfg, run_dir)
    tpath = run_dir / "transcripts.jsonl"
    done = _done(tpath, cfg.resume)
    simulator = make_simulator(cfg.simulator, cfg.seed, cfg.cache_dir)
    agent = make_agent(cfg.agent, lambda a: client_for(a, cfg.cache_dir, json_mode=False))
    judge = (
        LiteLLMJudge(client_for(cfg.judge, cfg.cache_dir, json_mode=True))
        if cfg.judge.backend == "litellm"
        else None
    )
    todo = [Episode.from_row(r, simulator) for r in rows if r["id"] not in done]
    log.info("%d episodes (%d already done)", len(todo), len(done))
    with open(tpath, "a", encoding="utf-8") as fh:

        def save(ep: Episode) -> None:
            fh.write(json.dumps(ep.transcript(), ensure_ascii=False) + "\n")
            fh.flush()

        run_episodes(todo, agent, simulator, cfg.max_rounds, on_done=save, judge=judge)
    transcripts = [json.loads(x) for x in tpath.read_text().splitlines()]
    outcomes = [Outcome(**t["outcome"]) for t in transcripts]
    result = {
        "agent": cfg.agent.name,
        "simulator": cfg.simulator.name,
        "persona": cfg.simulator.persona,
        "split": cfg.data.split,
        "metrics": aggregate(outcomes),
        "by_intents": breakdown(outcomes, "intents"),
        "by_calls": breakdown(outcomes, "n_calls"),
        "simulator_fallbacks": getattr(simulator, "fallbacks", 0),
        "judge": cfg.judge.backend,
        "judge_failures": getattr(judge, "failures", 0),
    }
    for name, owner in (("agent", agent), ("simulator", simulator), ("judge", judge)):
        obj = getattr(owner, "client", None)
        if obj is not None:
            result[f"llm_usage_{name}"] = obj.stats.to_dict()
            obj.close()
    (run_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    write_breakdown_csv(run_dir / "breakdown.csv", result)
    if cfg.logger.kind == "wandb":
        log_wandb(cfg, run_dir, result, transcripts)
    return result


def write_breakdown_csv(path: Path, result: dict[str, Any]) -> None:
    fields = ["dimension", "value", *result["metrics"]]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerow({"dimension": "all", "value": "", **result["metrics"]})
        for dim in ("by_intents", "by_calls"):
            for value, m in result[dim].items():
                w.writerow({"dimension": dim, "value": value, **m})


def log_wandb(
    cfg: DictConfig, run_dir: Path, result: dict[str, Any], transcripts: list[dict]
) -> None:
    import wandb

    from asktoact.train.run import redact, wandb_offline, wandb_run_args

    run = wandb.init(
        **wandb_run_args(cfg),
        dir=str(run_dir),
        mode="offline" if wandb_offline(cfg.logger) else "online",
        config=redact(OmegaConf.to_container(cfg, resolve=True)),
    )
    run.log({f"eval/{k}": v for k, v in result["metrics"].items()})
    table = wandb.Table(columns=["id", "persona", "dialogue", "ICR", "valid", "PRS"])
    for t in transcripts:
        text = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in t["messages"])
        o = t["outcome"]
        table.add_data(
            t["id"],
            t["persona"],
            text,
            o["clarified"] / o["intents"] if o["intents"] else 1.0,
            o["valid"],
            o["prs"],
        )
    run.log({"eval/transcripts": table})
    run.finish()
