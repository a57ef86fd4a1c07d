"""The plan of ``make reproduce`` at a preset: every job it would run, with the settings that
decide it, composed exactly as the jobs compose them — and no work done
(``make reproduce SCALE=paper ARGS=plan=true``).

Each row is one sweep point of one experiment: its model, adapter, masking, data source and
LLM, training strategy, devices × nodes, micro-batch, accumulation, effective batch, learning
rate, warmup, epochs, the RL stage's settings, the user simulator and the judge. A setting that
would stop the job (an effective batch that micro-batch × world size does not divide) is
recorded in the row's ``problem`` rather than raised, so one plan shows every problem at once.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from asktoact.config import compose
from asktoact.errors import ConfigError
from asktoact.io import write_json, write_text
from asktoact.jobs import job
from asktoact.jobs.presets import experiment_scales

COLUMNS = (
    "experiment",
    "row",
    "model",
    "adapter",
    "rank",
    "masking",
    "data",
    "llm",
    "strategy",
    "devices x nodes",
    "micro batch",
    "accumulation",
    "effective batch",
    "lr",
    "warmup",
    "epochs",
    "rl",
    "simulator",
    "judge",
    "problem",
)


def sweep_points(params: dict[str, Any], extra: list[str] = ()) -> list[list[str]]:
    """Every point of a basic sweep (``a,b`` choices; ``extra`` overrides replace the sweep of
    their key); a search space (``interval(...)``, ``choice(...)``) gives its first choice."""
    params = {**params, **dict(o.split("=", 1) for o in extra)}
    axes = []
    for key, spec in params.items():
        text = str(spec)
        values = [_first_choice(text)] if "(" in text else text.split(",")
        axes.append([f"{key}={v.strip()}" for v in values])
    return [list(p) for p in itertools.product(*axes)]


def _first_choice(spec: str) -> str:
    inner = spec[spec.rindex("(") + 1 : spec.index(")")]
    return inner.split(",")[0].strip()


def job_row(cfg: DictConfig, point: list[str]) -> dict[str, Any]:
    """What one job would run, read from the configs its steps compose."""
    from asktoact.train.run import accumulation

    gen = compose("generate", job.generate_overrides(cfg))
    data = Path("/planned/data")
    row: dict[str, Any] = {
        "experiment": cfg.experiment_name,
        "row": " ".join(point),
        "model": cfg.agent_model or cfg.model_name,
        "adapter": cfg.adapter_name,
        "masking": cfg.masking_name if cfg.adapter_name != "none" else "",
        "data": gen.data.name
        + (f" + ood: {job.eval_source(cfg)}" if cfg.eval_set == "ood" else ""),
        "llm": gen.llm.get("model", gen.llm.get("name", "")) if gen.llm else "rules",
        "problem": "",
    }
    if cfg.adapter_name != "none" and not cfg.agent_model:
        train = compose("train", job.train_overrides(cfg, data))
        t, o = train.trainer, train.optim
        peft = train.adapter.peft
        w_max = f" (w_max {train.masking.w_max:g})" if train.masking.pkt else ""
        row |= {
            "rank": peft.r if peft else "",
            "masking": f"{cfg.masking_name}{w_max}",
            "strategy": train.strategy.name,
            "devices x nodes": f"{t.devices} x {t.num_nodes}",
            "micro batch": train.data.micro_batch_size,
            "effective batch": o.effective_batch_size,
            "lr": train.adapter.lr,
            "warmup": o.warmup_ratio,
            "epochs": t.max_epochs,
        }
        try:
            row["accumulation"] = accumulation(train)
        except ConfigError as err:
            row["problem"] = str(err)
    if cfg.irm:
        rl = compose("rl", job.rl_overrides(cfg, "/planned/merged", data)).rl
        row["rl"] = f"{rl.algorithm} lr {rl.lr} batch {rl.batch_size} epochs {rl.epochs}"
    evaluate = compose("evaluate", job.eval_overrides(cfg, "/planned/model", data))
    row["simulator"] = _backend(evaluate.simulator, evaluate.simulator.name)
    row["judge"] = _backend(evaluate.judge, "rules")
    return {k: row.get(k, "") for k in COLUMNS}


def _backend(node: DictConfig | None, name: str) -> str:
    """The LLM behind a simulator or judge (its client's model), else the rules backend."""
    client = node.get("client") if node else None
    return f"litellm ({client.model})" if client else name


def plan(cfg: DictConfig) -> list[dict[str, Any]]:
    """Every job of the preset's experiments, in run order."""
    rows = []
    for name, scale in experiment_scales(cfg).items():
        base = [f"experiment={name}", f"scale={scale}", *cfg.job_overrides]
        sweep = compose("job", base, hydra_config=True).hydra.sweeper.params
        for point in sweep_points(dict(sweep), list(cfg.sweeps.get(name, []))):
            rows.append(job_row(compose("job", [*base, *point]), point))
    return rows


def write_plan(cfg: DictConfig, reports: Path) -> list[Path]:
    """``reports/plan.md`` (a table) and ``reports/plan.json``; logs where they are."""
    rows = plan(cfg)
    head = "| " + " | ".join(COLUMNS) + " |"
    lines = [
        f"# Plan of make reproduce SCALE={cfg.preset_name}: {len(rows)} jobs",
        "",
        "Composed as the jobs compose them, nothing run (`make reproduce SCALE=<preset> "
        "ARGS=plan=true`). Every training uses AdamW with a cosine schedule after linear warmup; "
        "effective batch = micro batch × devices × nodes × accumulation.",
        "",
        head,
    ]
    lines.append("| " + " | ".join("---" for _ in COLUMNS) + " |")
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    write_text(reports / "plan.md", "\n".join(lines) + "\n")
    write_json(reports / "plan.json", rows)
    return [reports / "plan.md", reports / "plan.json"]
