"""The plan of ``make reproduce`` at a preset: every job it would run, with the settings that
decide it, composed exactly as the jobs compose them — and no work done
(``make reproduce SCALE=paper ARGS=plan=true``).

Each row is one sweep point of one experiment: its model, adapter, masking, data source and
LLM, training strategy, devices × nodes, micro-batch, accumulation, effective batch, learning
rate, warmup, epochs, the training dialogues that do not fit the maximum length (counted when the
job's dataset is built), the RL stage's settings, the user simulator and the judge, and why it would
be skipped on this machine (an API baseline without its key or endpoint). A setting that
would stop the job (an effective batch that micro-batch × world size does not divide) is
recorded in the row's ``problem`` rather than raised, so one plan shows every problem at once.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from asktoact.config import compose
from asktoact.errors import ConfigError, UserError
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
    "optimizer",
    "precision",
    "max length",
    "over max length",
    "rl",
    "simulator",
    "judge",
    "departs from the paper",
    "skipped",
    "problem",
)


def sweep_points(params: dict[str, Any], extra: list[str] = ()) -> list[list[str]]:
    """Every point of a sweep, read with Hydra's own override grammar: a basic sweep (``a,b``)
    gives each choice, a search space (``interval(...)``, ``choice(...)``, ``tag(...)``) its
    first; ``extra`` overrides replace the sweep of their key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override

    parser = OverridesParser.create()
    spec = {
        o.key_or_group: o for o in parser.parse_overrides([f"{k}={v}" for k, v in params.items()])
    }
    spec |= {o.key_or_group: o for o in parser.parse_overrides(list(extra))}
    axes = []
    for key, override in spec.items():
        value = override.value()
        if isinstance(value, IntervalSweep):
            values = [Override._get_value_element_as_str(value.start)]
        elif isinstance(value, ChoiceSweep):
            values = list(override.sweep_string_iterator())
            values = values if value.simple_form else values[:1]
        else:
            values = [override.get_value_element_as_str()]
        axes.append([f"{key}={v}" for v in values])
    return [list(p) for p in itertools.product(*axes)]


def job_row(cfg: DictConfig, point: list[str]) -> dict[str, Any]:
    """What one job would run, read from the nodes it hands its steps."""
    from asktoact.train.run import accumulation

    gen = cfg.generate
    row: dict[str, Any] = {
        "experiment": cfg.experiment_name,
        "row": " ".join(point),
        "model": job.api_model(cfg.agent) or cfg.model.name,
        "adapter": cfg.adapter.name,
        "masking": cfg.masking.name if cfg.adapter.name != "none" else "",
        "data": gen.data.name
        + _sizes(gen)
        + (f" + ood: {job.eval_source(cfg)}{_ood_sizes(cfg)}" if cfg.eval_set == "ood" else ""),
        "llm": gen.llm.get("model", gen.llm.get("name", "")) if gen.llm else "rules",
        "problem": "",
    }
    if job.trains(cfg):
        train = cfg.train
        t, o = train.trainer, train.optim
        peft = train.adapter.peft
        m = train.masking
        notes = [f"w_max {m.w_max:g}"] * m.pkt + [f"markers {m.markers}"] * (m.markers != "drop")
        row |= {
            "rank": peft.r if peft else "",
            "masking": cfg.masking.name + (f" ({', '.join(notes)})" if notes else ""),
            "strategy": train.strategy.name,
            "devices x nodes": f"{t.devices} x {t.num_nodes}",
            "micro batch": train.data.micro_batch_size,
            "effective batch": o.effective_batch_size,
            "lr": train.adapter.lr,
            "warmup": o.warmup_ratio,
            "epochs": t.max_epochs,
            "optimizer": f"AdamW wd {o.weight_decay:g} betas {'/'.join(f'{b:g}' for b in o.betas)}",
            "precision": t.precision,
            "max length": train.data.max_length,
            "over max length": _over_length(cfg),
        }
        try:
            row["accumulation"] = accumulation(train)
        except ConfigError as err:
            row["problem"] = str(err)
    if cfg.irm:
        rl, prompts = cfg.rl.rl, cfg.rl.data.limit
        row["rl"] = (
            f"{rl.algorithm} lr {rl.lr} batch {rl.batch_size} epochs {rl.epochs} KL {rl.beta:g} "
            f"answers <= {rl.max_completion_length} sampled at T {rl.temperature:g}"
            + (f" on {prompts} prompts" if prompts else "")
        )
    row["problem"] = "; ".join(p for p in (row["problem"], _too_few_rows(gen)) if p)
    row["simulator"] = _backend(cfg.evaluate.simulator, cfg.evaluate.simulator.name)
    row["judge"] = _backend(cfg.evaluate.judge, "rules")
    row["departs from the paper"] = "; ".join(cfg.plan_notes)
    row["skipped"] = job.skip_reason(cfg) or ""  # a baseline whose key or endpoint is not set
    return {k: row.get(k, "") for k in COLUMNS}


def _sizes(gen: DictConfig) -> str:
    """A data node's exact split, ``train/test`` dialogues, when it sets one."""
    sizes = gen.get("split_sizes")
    return f" ({sizes[0]}/{sizes[1]})" if sizes else ""


def _too_few_rows(gen: DictConfig) -> str:
    """A split that the data cannot fill: ``split_sizes`` asking for more dialogues than a
    generated source makes (``data.n``), which would stop the job at its data step."""
    sizes, n = gen.get("split_sizes"), gen.data.get("n")
    if sizes and n is not None and sum(sizes) > n:
        return (
            f"generate.split_sizes={list(sizes)} needs {sum(sizes)} dialogues; "
            f"generate.data.n={n} makes at most {n}"
        )
    return ""


def _ood_sizes(cfg: DictConfig) -> str:
    """The out-of-domain split's sizes when its source is the one used (TaskBench on disk or
    from the hub); the held-out demo domains that stand in for it have none."""
    return _sizes(cfg.ood) if job.ood_node(cfg) == "ood" else ""


def _over_length(cfg: DictConfig) -> str:
    """The training dialogues that do not fit ``max length`` (:mod:`asktoact.train.fit`), when
    the job's dataset is in the store and its tokenizer loads here; else why it is not known."""
    from asktoact.train.fit import describe, length_fit

    data = job.built_dataset(cfg)
    if data is None:
        return "not known: the dataset is not built yet (counted when the job builds it)"
    try:
        return describe(length_fit(cfg.train, data))
    except (OSError, UserError) as err:  # a hub model not cached, weights not installed
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"not known: the tokenizer of {cfg.model.name} does not load here ({first})"


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
