"""Plots (matplotlib, PNG): an experiment's ``table.yaml`` names its plots (``plots: [<kind>]``),
one ``PLOTS`` entry per kind — ``ratio_curve`` (Table 13: CPS and PRS vs the augmentation ratio,
ours vs the paper's), ``by_complexity`` (Figure 3: CPS and PRS vs the number of unspecified
intents and of tool calls, from one run) and ``steps_curve`` (learning curves: the paper's and the
format/behaviour metrics vs optimizer steps, one line per adapter or masking). Each takes
(experiment, runs, out folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from asktoact.report.tables import load_spec  # noqa: E402


def _save(fig, path: Path) -> Path:
    from asktoact.io import atomic_path

    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def _prefer_real(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs of pretrained models when there are any (the tiny random-init ones otherwise)."""
    real = [r for r in runs if r["labels"].get("pretrained")]
    return real or runs


def _who(run: dict[str, Any]) -> str:
    labels = run["labels"]
    kind = "" if labels.get("pretrained") else ", tiny random-init"
    return f"{labels.get('model_name', '?')} ({labels.get('scale', '?')} scale{kind})"


def _with_interval(ax, xs, values, lows, highs, fmt: str, label: str) -> None:
    """Points with their 95 % interval as error bars."""
    err = [[v - lo for v, lo in zip(values, lows, strict=True)]]
    err.append([hi - v for v, hi in zip(values, highs, strict=True)])
    ax.errorbar(xs, values, yerr=err, fmt=fmt, capsize=3, label=label)


def _of(experiment: str, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r["labels"].get("experiment_name") == experiment]


def ratio_curve(experiment: str, runs: list[dict[str, Any]], out: Path) -> Path | None:
    """Table 13 as curves: CPS and PRS vs the augmentation ratio, with 95 % intervals, beside the
    paper's; from the pretrained-model runs when there are any. ``<experiment>.png``."""
    mine = _prefer_real(_of(experiment, runs))
    if not mine:
        return None
    mine = sorted(mine, key=lambda r: r["labels"]["ratio"])
    paper = load_spec(experiment)["paper"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric in zip(axes, ("CPS", "PRS"), strict=True):
        xs = [100 * r["labels"]["ratio"] for r in mine]
        values = [100 * r["metrics"][metric] for r in mine]
        lows = [100 * r["intervals"][metric][0] for r in mine]
        highs = [100 * r["intervals"][metric][1] for r in mine]
        _with_interval(ax, xs, values, lows, highs, "o-", f"ours: {_who(mine[0])}, 95 % CI")
        if paper:
            ratios = sorted(paper, key=float)
            ax.plot(
                [float(x) for x in ratios],
                [paper[x][metric] for x in ratios],
                "s--",
                label="paper (Qwen2.5-7B LoRA)",
            )
        ax.set(xlabel="augmentation ratio (%)", ylabel=f"{metric} (%)", title=f"{metric}")
        ax.legend(fontsize=7)
    fig.suptitle(
        f"AskToAct Table 13: error-correction augmentation ratio, N = {mine[0]['metrics']['N']} queries"
    )
    return _save(fig, out / f"{experiment}.png")


def by_complexity(experiment: str, runs: list[dict[str, Any]], out: Path) -> Path | None:
    """Figure 3 from the experiment's LoRA run (the first trained row found otherwise): CPS and
    PRS by number of unspecified intents and of tool calls, each group with its 95 % bootstrap
    interval over its queries. ``complexity.png``."""
    from asktoact.eval.task import task_of_result

    trained = [  # dialogue evaluations only: a tool-use run scores next calls, not dialogues
        r
        for r in runs
        if r["labels"].get("adapter_name") not in (None, "none")
        and task_of_result(r).kind == "dialogues"
    ]
    lora = [r for r in _of(experiment, trained) if r["labels"].get("adapter_name") == "lora"]
    pick = _prefer_real(lora or trained)
    if not pick or not pick[0].get("outcomes"):
        return None
    run = pick[0]
    task = task_of_result(run)
    outcomes = task.outcomes(run["outcomes"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (key, label) in zip(
        axes, (("intents", "unspecified intents"), ("n_calls", "tool calls")), strict=True
    ):
        groups = sorted({getattr(o, key) for o in outcomes})
        for metric, fmt in (("CPS", "o-"), ("PRS", "s-")):
            members = [[o for o in outcomes if getattr(o, key) == g] for g in groups]
            values = [100 * task.aggregate(m)[metric] for m in members]
            bounds = [task.intervals(m)[metric] for m in members]
            lows, highs = [100 * b[0] for b in bounds], [100 * b[1] for b in bounds]
            _with_interval(ax, groups, values, lows, highs, fmt, metric)
        ax.set(xlabel=f"number of {label}", ylabel="% (95 % CI)", title=f"by {label}")
        ax.legend(fontsize=7)
    fig.suptitle(f"AskToAct Figure 3: {_who(run)}, {run['labels'].get('adapter_name')}")
    return _save(fig, out / "complexity.png")


# The curves' metrics by task: dialogue rows, and next-call rows (TL-Training's trajectories).
STEPS_METRICS = ("CPS", "PRS", "ICR", "PARSE", "ASK", "QP")
NEXT_CALL_STEPS_METRICS = ("TS", "PI", "CF", "EXEC", "PARSE", "WT")
LINE_LABELS = ("adapter_name", "masking_name")  # what a curve's rows share, besides the steps


def _lines(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The runs grouped into curves by :data:`LINE_LABELS`, each named by the labels that differ
    between curves (the adapter in ``steps_sweep``, the masking in ``tl_steps_sweep``)."""
    keys = [tuple(r["labels"].get(k) for k in LINE_LABELS) for r in runs]
    varying = [i for i in range(len(LINE_LABELS)) if len({k[i] for k in keys}) > 1] or [0]
    lines: dict[str, list[dict[str, Any]]] = {}
    for run, key in zip(runs, keys, strict=True):
        lines.setdefault(" ".join(str(key[i]) for i in varying), []).append(run)
    return {
        name: sorted(line, key=lambda r: r["labels"]["train_steps"]) for name, line in lines.items()
    }


def steps_curve(experiment: str, runs: list[dict[str, Any]], out: Path) -> Path | None:
    """Learning curves: each of :data:`STEPS_METRICS` (:data:`NEXT_CALL_STEPS_METRICS` for
    next-call rows) against the optimizer steps a row trained for, one line per adapter or
    masking, with 95 % intervals; from the pretrained-model runs when there are any.
    ``<experiment>.png``."""
    mine = [r for r in _prefer_real(_of(experiment, runs)) if r["labels"].get("train_steps")]
    if not mine:
        return None
    metrics = NEXT_CALL_STEPS_METRICS if "TS" in mine[0]["metrics"] else STEPS_METRICS
    steps = sorted({r["labels"]["train_steps"] for r in mine})
    lines = _lines(mine)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, metric in zip(axes.flat, metrics, strict=True):
        for (name, line), fmt in zip(lines.items(), ("o-", "s-", "^-", "d-"), strict=False):
            line = [r for r in line if metric in r["metrics"]]
            if not line:
                continue
            xs = [r["labels"]["train_steps"] for r in line]
            values = [100 * r["metrics"][metric] for r in line]
            lows = [100 * r["intervals"][metric][0] for r in line]
            highs = [100 * r["intervals"][metric][1] for r in line]
            _with_interval(ax, xs, values, lows, highs, fmt, name)
        ax.set(xscale="log", xlabel="optimizer steps", ylabel=f"{metric} (%)", title=metric)
        ax.set_xticks(steps, [str(s) for s in steps])  # the steps run, not log decades
        ax.minorticks_off()
        ax.legend(fontsize=7)
    n = mine[0]["metrics"].get("N", 0)
    what = "next calls" if metrics is NEXT_CALL_STEPS_METRICS else "test queries"
    fig.suptitle(f"Learning curves: {_who(mine[0])}, N = {n} {what} per point, 95 % CI")
    return _save(fig, out / f"{experiment}.png")


PLOTS = {"ratio_curve": ratio_curve, "by_complexity": by_complexity, "steps_curve": steps_curve}


def plot(kind: str):
    """The plot function of ``kind`` (a ``plots:`` entry of an experiment's table.yaml)."""
    try:
        return PLOTS[kind]
    except KeyError:
        raise ValueError(f"unknown plot {kind!r} in a table.yaml; known: {sorted(PLOTS)}") from None
