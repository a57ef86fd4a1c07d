"""BFCL's per-entry verdicts as accuracies with intervals, and the report beside our tables.

BFCL reports an accuracy per category; from the entries it failed we know each entry's verdict,
so the same seeded bootstrap as every other interval of the project (:class:`Task`) gives an
interval over entries, and two rows scored on the same entries a paired difference.
``reports/bfcl.md|csv`` has one row per job and mode, one column group per category.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from asktoact.eval.task import Task
from asktoact.io import markdown_table, write_text

MODE_LABEL = {
    "prompt": "BFCL's prompt (leaderboard conditions)",
    "fc": "our protocol, read as tool calls",
}


class BfclTask(Task):
    """Accuracy over BFCL entries: one column, correct or not."""

    kind = "bfcl"

    def columns(self, outcomes: list) -> np.ndarray:
        return np.array([[float(o["correct"])] for o in outcomes]).reshape(-1, 1)

    def metrics(self, sums: np.ndarray, n: int) -> dict[str, np.ndarray]:
        return {"accuracy": 100.0 * sums[..., 0] / max(n, 1)}

    def outcome_id(self, outcome) -> str:
        return outcome["id"]


def summary(by_category: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per category: N, BFCL's accuracy (%, recomputed from its verdicts) and its interval."""
    task, out = BfclTask(), {}
    for category, outcomes in by_category.items():
        agg = task.aggregate(outcomes)
        out[category] = {
            "N": agg.get("N", 0),
            "accuracy": agg.get("accuracy"),
            "interval": task.intervals(outcomes).get("accuracy"),
        }
    return out


def paired(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy(a) − accuracy(b) on the entries both were scored on."""
    diff = BfclTask().paired_difference(a, b)
    return {"n": diff["n"], **diff["metrics"].get("accuracy", {})}


def _cell(score: dict[str, Any]) -> str:
    lo, hi = score["interval"]
    return f"{score['accuracy']:.1f} [{lo:.1f}, {hi:.1f}]"


def write_report(rows: list[dict[str, Any]], reports_dir: str | Path) -> Path | None:
    """``bfcl.md`` and ``bfcl.csv`` from ``rows`` (``label``, ``bfcl`` result, optional
    ``base``: the label of the row the paired difference is taken against)."""
    rows = [r for r in rows if r.get("bfcl")]
    if not rows:
        return None
    by_label = {r["label"]: r for r in rows}
    # every category some row scored (experiments choose their own: tl_training's are single-turn)
    entries: dict[str, list] = {}
    for r in rows:
        for c, ids in r["bfcl"]["entries"].items():
            entries.setdefault(c, ids)
    categories = list(entries)
    version = rows[0]["bfcl"]["bfcl_version"]
    lines = [
        f"# BFCL's own evaluator (bfcl-eval {version}), over the models we train",
        "",
        "Accuracy (%) per category with a 95 % bootstrap interval over entries (BFCL gives none);",
        "N entries per category, the same for every row. Δ: paired difference against the row's",
        "reference in its experiment's table (the base model, standard SFT) on the same entries",
        "(* where its interval excludes 0). Rows are named by their experiment's row key.",
        "",
    ]
    table = [["row", "mode", *[f"{c} (N={len(entries[c])})" for c in categories]]]
    flat = [
        [
            "row",
            "mode",
            "category",
            "N",
            "accuracy",
            "low",
            "high",
            "diff_vs_base",
            "diff_low",
            "diff_high",
        ]
    ]
    for row in rows:
        base = by_label.get(row.get("base") or "")
        for mode, by_cat in row["bfcl"]["scores"].items():
            cells = []
            for c in categories:
                if c not in by_cat:  # a category this row's experiment does not score
                    cells.append("–")
                    continue
                cell, d = _cell(by_cat[c]), None
                theirs = base["bfcl"]["outcomes"].get(mode, {}) if base else {}
                if base is not row and c in theirs:
                    d = paired(row["bfcl"]["outcomes"][mode][c], theirs[c])
                    cell += f"; Δ {d['diff']:+.1f}{'*' if d['significant'] else ''}"
                cells.append(cell)
                s = by_cat[c]
                flat.append([row["label"], mode, c, s["N"], s["accuracy"], *s["interval"],
                             *([d["diff"], d["low"], d["high"]] if d else ["", "", ""])])  # fmt: skip
            table.append([row["label"], MODE_LABEL.get(mode, mode), *cells])
    lines += markdown_table(table[0], table[1:], left=len(table[0]))
    reports_dir = Path(reports_dir)
    write_text(reports_dir / "bfcl.md", "\n".join(lines) + "\n")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(flat)
    write_text(reports_dir / "bfcl.csv", buffer.getvalue())
    return reports_dir / "bfcl.md"
