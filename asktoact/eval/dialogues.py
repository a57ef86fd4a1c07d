"""AskToAct's task: clarification dialogues, played against the persona user simulator.

The :class:`DialogueTask` of datasets built by ``asktoact-generate`` from tool-calling queries:
a training row is its dialogue with the evaluation system prompt first; the RL stage rolls out
the final ``[SUMMARY]`` turn of each clean dialogue; an evaluation plays every test query as an
episode (``transcripts.jsonl``, one line per finished episode, appended as episodes finish, so a
killed run resumes) and writes ``metrics.json`` (the F.3 metrics of :mod:`asktoact.eval.metrics`,
Table 6 error rates, breakdowns by number of unspecified intents and of tool calls, simulator
fallbacks and LLM usage) and ``breakdown.csv``; optionally logs metrics and a transcript table
to W&B.
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from asktoact import faults, tracking
from asktoact.data.turns import with_system_prompt
from asktoact.errors import ConfigError, UserError
from asktoact.eval import demos, metrics
from asktoact.eval.episode import Episode, run_episodes
from asktoact.eval.metrics import Outcome, icr
from asktoact.eval.run import load_rows, resume_identity
from asktoact.eval.task import Task
from asktoact.identity import claim
from asktoact.io import read_jsonl_log, rewrite_jsonl_log, write_csv, write_json

log = logging.getLogger(__name__)


class DialogueTask(Task):
    kind = "dialogues"
    serve_protocol = "dialogue"
    behaviour = metrics.BEHAVIOUR
    behaviour_legend = (
        "Format apart from behaviour: ASK = share of clarification rounds that ask a question; "
        "PARSE = share of episodes that end in a readable [SUMMARY] solution (SCR without the "
        "empty ones: format); QP = question precision, questions aimed at a still-unclarified "
        "value over all questions; ICR@P, PRS@P = ICR and PRS among the episodes with a "
        "parsable solution only (behaviour once the format is there)."
    )

    def training_chat(self, system_role: bool, system_prompt: bool):
        if not system_prompt:
            return None
        return functools.partial(with_system_prompt, system_role=system_role)

    def rl_prompts(self, rows: list[dict[str, Any]], system_role: bool) -> list[dict[str, Any]]:
        """One prompt per clean training dialogue: everything before its final ``[SUMMARY]``
        turn, with the gold calls and the candidate tools for the reward."""
        return [
            {
                "prompt": with_system_prompt(row["messages"][:-1], system_role),
                "gold": row["solution"],
                "tools": row["tools"],
                "kind": "summary",
            }
            for row in rows
            if not row["augmented"]  # injected errors and corrections are SFT material
        ]

    def evaluate(self, cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
        return evaluate_dialogues(self, cfg, run_dir)

    def columns(self, outcomes: list[Outcome]):
        return metrics.columns(outcomes)

    def metrics(self, sums, n: int):
        return metrics.metrics(sums, n)

    def outcome_id(self, outcome: Outcome) -> str:
        return outcome.id

    def outcomes(self, stored: list[dict[str, Any]]) -> list[Outcome]:
        return [Outcome(**o) for o in stored]

    def unmeasured(self, outcomes: list[Outcome]) -> set[str]:
        return set(metrics.BEHAVIOUR) if any(o.parsed is None for o in outcomes) else set()

    def breakdown(self, outcomes: list[Outcome], key: str) -> dict[int, dict[str, float]]:
        """Metrics per value of ``intents`` or ``n_calls`` (AskToAct Figure 3)."""
        groups: dict[int, list[Outcome]] = defaultdict(list)
        for o in outcomes:
            groups[getattr(o, key)].append(o)
        return {k: self.aggregate(v) for k, v in sorted(groups.items())}


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


def evaluate_dialogues(task: DialogueTask, cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Every query an episode against the simulator (resumed from a killed run's transcripts),
    then the metrics of the finished episodes in dataset order."""
    if cfg.constrained:
        raise ConfigError(
            "evaluate.constrained=true: decoding under a call grammar is for next calls; a "
            "dialogue turn may be a question"
        )
    tpath = run_dir / "transcripts.jsonl"
    done, truncated = _done(cfg, tpath)  # first: other settings' transcripts stop the run here
    simulator = instantiate(cfg.simulator)
    agent = instantiate(cfg.agent)  # before the data: a model that cannot load stops the run
    judge = instantiate(cfg.judge)  # None: the simulator's rule decides
    rows = load_rows(cfg, run_dir)
    shown = give_demonstrations(cfg, agent, run_dir)
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
        "metrics": task.aggregate(outcomes),
        # 95 % percentile bootstrap over queries, seeded: every metric with its uncertainty.
        "intervals": task.intervals(outcomes, seed=cfg.seed),
        "by_intents": task.breakdown(outcomes, "intents"),
        "by_calls": task.breakdown(outcomes, "n_calls"),
        # TL-Training's reward distribution of the final turns: episodes per IRM category.
        "irm_categories": dict(Counter(o.irm_category for o in outcomes)),
        "judge": "litellm" if judge else "rules",
        "demonstrations": shown,  # the training dialogues shown before each test dialogue
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


def give_demonstrations(cfg: DictConfig, agent, run_dir: Path) -> list[str]:
    """The k-shot turns of ``evaluate.demonstrations`` handed to the agent; their row ids."""
    turns, ids = demos.load(cfg.demonstrations, cfg.data.path or str(run_dir / "data"), cfg.seed)
    if not turns:
        return []
    if not hasattr(agent, "demonstrations"):
        raise ConfigError(
            f"evaluate.demonstrations.k={cfg.demonstrations.k}: agent={cfg.agent.name} writes no "
            "prompt to show them in (only local and litellm models do)"
        )
    agent.demonstrations = turns
    return ids


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
        data.append(
            [t["id"], t["persona"], text, icr(o["clarified"], o["intents"]), o["valid"], o["prs"]]
        )
    return columns, data
