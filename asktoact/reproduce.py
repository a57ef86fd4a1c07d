"""``make reproduce``: the main job end to end at ``scale=tiny`` (offline) or ``scale=paper``.

Built so far: data generation with the dataset tables (AskToAct Tables 1–2), one training run
(``conf/train.yaml`` with the scale's ``train_overrides``) with its report, and the interactive
evaluation of the reference policies and the trained model (``eval_agents``/``eval_overrides``).
The experiment sweeps and the tables beside the papers' numbers are the next issue; this entry
point says so when it stops.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.data.build import build
from asktoact.paths import CONF_DIR
from asktoact.report.dataset import render

log = logging.getLogger(__name__)

NOT_BUILT = (
    "Stopping after generation, training and evaluation: the experiment sweeps and the tables "
    "beside the papers' numbers (issue 5) are not built yet."
)
METRICS = ("ICR", "CE", "CPS", "IR", "SCR", "TSS", "PRS")


def reproduce(cfg: DictConfig, run_dir: Path, scale: str, train: bool = True) -> list[Path]:
    manifest = build(cfg, run_dir / "data")
    reports = Path(cfg.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    label = "tiny offline run: demo corpus, rules backends" if scale == "tiny" else f"{scale} run"
    written = [reports / "dataset.md"]
    written[0].write_text(render(manifest, label))
    if train:
        from hydra import compose

        from asktoact.train.run import run_training

        overrides = [
            *cfg.train_overrides,
            f"data.path={run_dir / 'data'}",
            f"seed={cfg.seed}",
            f"cache_dir={cfg.cache_dir}",
        ]
        summary = run_training(compose("train", overrides=overrides), run_dir / "train")
        written.append(reports / "training.md")
        written[1].write_text(training_report(summary, overrides, label))
        results = evaluate_agents(cfg, run_dir, summary["outputs"]["merged"])
        written.append(reports / "evaluation.md")
        written[2].write_text(evaluation_report(results, label))
    return written


def evaluate_agents(cfg: DictConfig, run_dir: Path, trained: str) -> dict[str, dict]:
    from hydra import compose

    from asktoact.eval.run import run_evaluation

    results = {}
    for name, agent in cfg.eval_agents.items():
        extra = [f"agent.path={trained}"] if "agent=local" in agent else []
        overrides = [
            *cfg.eval_overrides,
            *agent,
            *extra,
            f"data.path={run_dir / 'data'}",
            f"seed={cfg.seed}",
            f"cache_dir={cfg.cache_dir}",
        ]
        if "agent=local" not in agent:
            overrides = [o for o in overrides if not o.startswith("agent.max_new_tokens")]
        results[name] = run_evaluation(
            compose("evaluate", overrides=overrides), run_dir / "eval" / name
        )
    return results


def evaluation_report(results: dict[str, dict], label: str) -> str:
    head = "| agent | " + " | ".join(METRICS) + " | N |"
    rows = [head, "| --- |" + " ---: |" * (len(METRICS) + 1)]
    for name, r in results.items():
        m = r["metrics"]
        rows.append(
            f"| {name} | "
            + " | ".join(f"{100 * m[k]:.2f}" if k != "IR" else f"{m[k]:.2f}" for k in METRICS)
            + f" | {m['N']} |"
        )
    note = (
        "Interactive evaluation against the rules user simulator (random persona per dialogue), test "
        "split. Percentages except IR (rounds per query). oracle/never_ask/ask_all are reference "
        "policies that check the harness; `trained` is the tiny model trained above."
    )
    return f"# Evaluation report ({label})\n\n{note}\n\n" + "\n".join(rows) + "\n"


def training_report(summary: dict, overrides: list[str], label: str) -> str:
    curve = _loss_curve(Path(summary["run_dir"]))
    m, enc = summary["metrics"], summary["encoding"]
    rows = [
        (
            "overrides",
            " ".join(o for o in overrides if not o.startswith(("data.path", "cache_dir"))),
        ),
        ("optimizer steps", summary["global_step"]),
        (
            "train examples / refused / truncated",
            f"{enc['train_examples']} / {enc['refused']} / {enc['truncated']}",
        ),
        ("trained-token share", enc["trained_token_share"]),
        (
            "parameters trainable / total",
            f"{summary['parameters']['trainable']} / {summary['parameters']['total']}",
        ),
        (
            "train loss, first 5 logged steps (mean)",
            round(sum(curve[:5]) / max(len(curve[:5]), 1), 4),
        ),
        (
            "train loss, last 5 logged steps (mean)",
            round(sum(curve[-5:]) / max(len(curve[-5:]), 1), 4),
        ),
        ("val loss (end)", round(m.get("val/loss", float("nan")), 4)),
        ("outputs", ", ".join(summary.get("outputs", {}).values())),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"# Training report ({label})\n\n| item | value |\n| --- | --- |\n{table}\n"


def _loss_curve(run_dir: Path) -> list[float]:
    import csv

    files = sorted(run_dir.glob("csv/version_*/metrics.csv"))
    if not files:
        return []
    with open(files[-1]) as fh:
        return [float(r["train/loss"]) for r in csv.DictReader(fh) if r.get("train/loss")]


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="reproduce")
def main(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    paths = reproduce(cfg, Path(hc.runtime.output_dir), hc.runtime.choices["scale"])
    log.info("reports: %s", ", ".join(map(str, paths)))
    log.warning(NOT_BUILT)


if __name__ == "__main__":
    main()
