"""``run_evaluation(cfg, run_dir)``: everything ``asktoact-evaluate`` does, as a plain function.

Writes ``transcripts.jsonl`` (one line per finished episode, appended as episodes finish, so a
killed run resumes), ``metrics.json`` (the F.3 metrics, Table 6 error rates, breakdowns by number
of unspecified intents and of tool calls, simulator fallbacks and LLM usage) and
``breakdown.csv``; optionally logs metrics and a transcript table to W&B.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig, OmegaConf

from asktoact import faults, tracking
from asktoact.configurable import UNIT
from asktoact.configurable import config_field as F
from asktoact.data.build import BuildsData, ensure_dataset
from asktoact.errors import ConfigError, UserError
from asktoact.eval import protocol, tooluse
from asktoact.eval.episode import Episode, run_episodes
from asktoact.eval.metrics import Outcome, aggregate, bootstrap_intervals, breakdown
from asktoact.identity import claim, dataset_fingerprint, folder_fingerprint, resolved
from asktoact.io import (
    read_jsonl_log,
    resolve_dataset_dir,
    rewrite_jsonl_log,
    write_csv,
    write_json,
)

log = logging.getLogger(__name__)


def load_rows(cfg: DictConfig, run_dir: Path) -> list[dict[str, Any]]:
    import datasets

    path = Path(cfg.data.path) if cfg.data.path else ensure_dataset(cfg, run_dir / "data")
    dd = datasets.load_from_disk(str(resolve_dataset_dir(path)))
    if cfg.data.split not in dd:
        raise ConfigError(f"data.split={cfg.data.split!r} not in {path} (splits: {sorted(dd)})")
    rows = dd[cfg.data.split]
    limit = cfg.data.limit
    return rows.select(range(min(limit, len(rows)))).to_list() if limit else rows.to_list()


# Settings that may change between an evaluation and its continuation: where things go, how
# they are logged, and how many queries are played (episodes are independent: more is resuming).
RESUME_MAY_CHANGE = (
    "cache_dir",
    "run_name",
    "resume",
    "logger",
    "data.limit",
    "max_fallback_share",
    *(f"{side}.client.cache_path" for side in ("agent", "simulator", "judge")),
    "llm.cache_path",
)


def resume_identity(cfg: DictConfig) -> dict[str, Any]:
    """What the transcripts in a run folder must have been played with to be continued: the
    resolved config (less :data:`RESUME_MAY_CHANGE`), the content of the dataset it names and of
    the agent's model (and adapter) folders, and the protocol (personas and scoring code)."""
    identity = resolved(cfg, RESUME_MAY_CHANGE)
    if cfg.data.path:
        identity["dataset_content"] = dataset_fingerprint(resolve_dataset_dir(cfg.data.path))
    for key in ("path", "adapter"):
        identity[f"agent_{key}_content"] = folder_fingerprint(cfg.agent.get(key))
    identity["protocol"] = protocol.fingerprint()
    return identity


def _done(cfg: DictConfig, path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """Episodes a killed run of these settings finished, and how many truncated lines were
    dropped (redone). Transcripts of other settings stop the run (``identity.claim``)."""
    record = path.with_name("transcripts.config.json")
    if not claim(record, resume_identity(cfg), cfg.resume, path.name, path.exists()):
        path.unlink(missing_ok=True)
        return {}, 0
    entries, broken = read_jsonl_log(path)
    if broken:
        log.warning("%s: %d truncated line(s) dropped; those episodes run again", path, broken)
        rewrite_jsonl_log(path, entries)
    return {t["id"]: t for t in entries}, broken


def _in_row_order(path: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The finished transcripts in dataset order, rewritten so: a resumed run's file equals an
    uninterrupted one's, whatever order the episodes finished in."""
    order = {r["id"]: i for i, r in enumerate(rows)}
    entries, _ = read_jsonl_log(path)
    stale = [t["id"] for t in entries if t["id"] not in order]
    if stale:
        log.warning(
            "%s: %d transcript(s) of queries not in this evaluation left out", path, len(stale)
        )
    transcripts = sorted((t for t in entries if t["id"] in order), key=lambda t: order[t["id"]])
    rewrite_jsonl_log(path, transcripts)
    return transcripts


def run_evaluation(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if tooluse.is_tool_use(cfg.data.path):  # trajectories: the next call, no user simulator
        return tooluse.run_tool_evaluation(cfg, run_dir)
    tpath = run_dir / "transcripts.jsonl"
    done, truncated = _done(cfg, tpath)  # first: other settings' transcripts stop the run here
    simulator = instantiate(cfg.simulator)
    agent = instantiate(cfg.agent)  # before the data: a model that cannot load stops the run
    judge = instantiate(cfg.judge)  # None: the simulator's rule decides
    rows = load_rows(cfg, run_dir)
    clients = {
        n: getattr(o, "client", None)
        for n, o in (("agent", agent), ("simulator", simulator), ("judge", judge))
    }
    try:
        for name, client in clients.items():
            if client is not None:  # before any episode: a refused key or dead endpoint stops
                client.probe(f"{name}.client")
        rewards = dict(cfg.reward.irm)
        todo = [Episode.from_row(r, simulator, rewards) for r in rows if r["id"] not in done]
        log.info("%d episodes (%d already done)", len(todo), len(done))
        with open(tpath, "a", encoding="utf-8") as fh:

            def save(ep: Episode) -> None:
                line = json.dumps(ep.transcript(), ensure_ascii=False) + "\n"
                saved[0] += 1
                if faults.armed("evaluate.episode_write", saved[0]):
                    fh.write(line[: len(line) // 2])  # what a kill in mid-write leaves
                    fh.flush()
                    faults.reached("evaluate.episode_write", saved[0])
                fh.write(line)
                fh.flush()
                faults.reached("evaluate.episode", saved[0])

            saved = [0]

            run_episodes(todo, agent, simulator, cfg.max_rounds, on_done=save, judge=judge)
    finally:
        for client in clients.values():
            if client is not None:
                client.close()
    transcripts = _in_row_order(tpath, rows)
    outcomes = [Outcome(**t["outcome"]) for t in transcripts]
    result = {
        "agent": cfg.agent.name,
        "simulator": cfg.simulator.name,
        "persona": cfg.simulator.persona,
        "split": cfg.data.split,
        "metrics": aggregate(outcomes),
        # 95 % percentile bootstrap over queries, seeded: every metric with its uncertainty.
        "intervals": bootstrap_intervals(outcomes, seed=cfg.seed),
        "by_intents": breakdown(outcomes, "intents"),
        "by_calls": breakdown(outcomes, "n_calls"),
        # TL-Training's reward distribution of the final turns: episodes per IRM category.
        "irm_categories": dict(Counter(o.irm_category for o in outcomes)),
        "judge": "litellm" if judge else "rules",
        **fallbacks(transcripts, llm_simulator=hasattr(simulator, "client"), llm_judge=bool(judge)),
        "resumed": {"episodes_done_before": len(done), "truncated_lines_redone": truncated},
    }
    for name, client in clients.items():
        if client is not None:
            result[f"llm_usage_{name}"] = client.stats.to_dict()
    result["outcomes"] = [o.to_dict() for o in outcomes]  # per query: for paired comparisons
    check_fallbacks(result, cfg.max_fallback_share)
    faults.reached("evaluate.metrics")
    write_json(run_dir / "metrics.json", result)
    write_breakdown_csv(run_dir / "breakdown.csv", result)
    log_run(cfg, run_dir, result, transcripts)
    return result


def fallbacks(transcripts: list[dict], llm_simulator: bool, llm_judge: bool) -> dict[str, Any]:
    """How often an LLM simulator or judge fell back to the rules, counted from the transcripts
    (so a resumed run counts its earlier episodes too): per side, the count and its share of
    that side's calls (the simulator makes two per question: judgement and reply)."""
    judged = [j for t in transcripts for j in t["judgements"] if not j.get("no_question")]
    sim = sum(j.get("fallbacks", 0) for j in judged)
    by_judge = [j for j in judged if j.get("judged_by")]
    failed = sum(j["judged_by"] != "llm" for j in by_judge)
    return {
        "simulator_fallbacks": sim,
        "simulator_fallback_share": sim / max(2 * len(judged), 1) if llm_simulator else 0.0,
        "judge_failures": failed,
        "judge_failure_share": failed / max(len(by_judge), 1) if llm_judge else 0.0,
    }


def check_fallbacks(result: dict[str, Any], limit: float) -> None:
    """A fallback is never silent: warned whenever there is one, and above ``limit`` (the share
    of calls, ``max_fallback_share``) the evaluation fails — its numbers would be the rules'
    while the run claims an LLM simulator or judge."""
    for side, share in (
        ("simulator", result["simulator_fallback_share"]),
        ("judge", result["judge_failure_share"]),
    ):
        if share > 0:
            log.warning(
                "the LLM %s fell back to the rules for %.1f %% of its calls", side, 100 * share
            )
        if share > limit:
            raise UserError(
                f"the LLM {side} fell back to the rules for {100 * share:.1f} % of its calls "
                f"(max_fallback_share={limit}): its numbers would be the rules'. Check "
                f"{side}.client (model, key, endpoint), or raise max_fallback_share."
            )


def write_breakdown_csv(path: Path, result: dict[str, Any]) -> None:
    rows = [{"dimension": "all", "value": "", **result["metrics"]}]
    for dim in ("by_intents", "by_calls"):
        rows += [{"dimension": dim, "value": value, **m} for value, m in result[dim].items()]
    write_csv(path, ["dimension", "value", *result["metrics"]], rows)


def log_run(
    cfg: DictConfig, run_dir: Path, result: dict[str, Any], transcripts: list[dict]
) -> None:
    """Metrics to the configured logger; with W&B also a table of the transcripts."""
    config = OmegaConf.to_container(cfg, resolve=True)
    # _partial_: the run's config is an argument, and must not be instantiated itself.
    logger = instantiate(cfg.logger, _partial_=True)(run_dir, cfg.run_name, config)
    if not logger:
        return
    status = "failed"
    try:
        logger.log_metrics({f"eval/{k}": v for k, v in result["metrics"].items()})
        if hasattr(logger, "log_table"):
            logger.log_table("eval/transcripts", *_transcript_table(transcripts))
        status = "success"
    finally:
        tracking.finish(logger, status)


def _transcript_table(transcripts: list[dict]) -> tuple[list[str], list[list[Any]]]:
    columns = ["id", "persona", "dialogue", "ICR", "valid", "PRS"]
    data = []
    for t in transcripts:
        text = "\n\n".join(f"{m['role'].upper()}: {m['content']}" for m in t["messages"])
        o = t["outcome"]
        icr = o["clarified"] / o["intents"] if o["intents"] else 1.0
        data.append([t["id"], t["persona"], text, icr, o["valid"], o["prs"]])
    return columns, data


# -- settings (conf/evaluate.yaml; validated by asktoact.config) -----------------------------------
@dataclass
class EvalDataConfig:
    path: Optional[str] = F()  # noqa: UP045
    split: str = F()
    limit: Optional[int] = F(ge=1)  # noqa: UP045


@dataclass
class EvaluateConfig(BuildsData):
    agent: Any = MISSING
    simulator: Any = MISSING
    judge: Any = MISSING
    reward: Any = MISSING
    logger: Any = MISSING
    resume: bool = F()
    max_rounds: int = F(ge=1)
    max_fallback_share: float = F(**UNIT)
    data: EvalDataConfig = MISSING
