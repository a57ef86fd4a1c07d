"""Plots (matplotlib, PNG): Table 13 as curves (CPS and PRS vs augmentation ratio, ours vs paper)
and Figure 3 (CPS and PRS vs number of unspecified intents and of tool calls, from one run)."""

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


def aug_sweep(runs: list[dict[str, Any]], out: Path) -> Path | None:
    ours = sorted(
        (r["labels"]["ratio"], r["metrics"])
        for r in runs
        if r["labels"].get("experiment_name") == "aug_sweep"
    )
    if not ours:
        return None
    paper = load_spec("aug_sweep")["paper"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric in zip(axes, ("CPS", "PRS"), strict=True):
        ax.plot([100 * x for x, _ in ours], [100 * m[metric] for _, m in ours], "o-", label="ours")
        if paper:
            xs = sorted(paper, key=float)
            ax.plot(
                [float(x) for x in xs],
                [paper[x][metric] for x in xs],
                "s--",
                label="paper (Qwen2.5-7B LoRA)",
            )
        ax.set(
            xlabel="augmentation ratio (%)",
            ylabel=f"{metric} (%)",
            title=f"{metric} vs augmentation",
        )
        ax.legend()
    return _save(fig, out / "aug_sweep.png")


def complexity(runs: list[dict[str, Any]], out: Path) -> Path | None:
    """Figure 3 from the main experiment's LoRA run (the first trained row found otherwise)."""
    pick = [
        r
        for r in runs
        if r["labels"].get("experiment_name") == "main"
        and r["labels"].get("adapter_name") == "lora"
    ]
    pick = pick or [r for r in runs if r["labels"].get("adapter_name") not in (None, "none")]
    if not pick:
        return None
    run = pick[0]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, (key, label) in zip(
        axes, (("by_intents", "unspecified intents"), ("by_calls", "tool calls")), strict=True
    ):
        xs = sorted(run[key], key=int)
        for metric in ("CPS", "PRS"):
            ax.plot(
                [int(x) for x in xs], [100 * run[key][x][metric] for x in xs], "o-", label=metric
            )
        ax.set(xlabel=f"number of {label}", ylabel="%", title=f"vs {label}")
        ax.legend()
    return _save(fig, out / "complexity.png")
