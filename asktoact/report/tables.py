"""Experiment tables: our runs' ``metrics.json`` beside the papers' numbers, in Markdown/CSV/LaTeX.

Each ``experiments/<name>/table.yaml`` says which job labels identify a row (``row_key``), which
paper row it corresponds to, and which metrics to show; ``paper.csv`` holds the paper's numbers.
Every row is labelled with its model, scale and whether it is a tiny offline run or a real-model
run. Rates are shown in percent (IR in rounds), as in the papers.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"


def collect(root: str | Path) -> list[dict[str, Any]]:
    """Every experiment job's metrics.json under ``root`` (job runs carry ``labels``)."""
    found = []
    for path in sorted(Path(root).rglob("metrics.json")):
        data = json.loads(path.read_text())
        if "labels" in data:
            data["path"] = str(path)
            found.append(data)
    return found


def load_spec(name: str, experiments_dir: Path = EXPERIMENTS_DIR) -> dict[str, Any]:
    spec = yaml.safe_load((experiments_dir / name / "table.yaml").read_text())
    paper_file = experiments_dir / name / "paper.csv"
    spec["paper"] = {}
    if paper_file.exists():
        with open(paper_file) as fh:
            spec["paper"] = {
                r.pop("row"): {k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)
            }
    return spec


def _value(metric: str, m: dict[str, float]) -> float | None:
    if metric not in m:
        return None
    return m[metric] if metric == "IR" else 100.0 * m[metric]


def rows_for(name: str, runs: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        labels = run["labels"]
        if labels.get("experiment_name") != name:
            continue
        key = spec["row_key"].format(**labels)
        paper_row = spec["rows"].get(key, "")
        scale = labels.get("scale", "tiny")
        row = {
            "row": key,
            "paper_row": paper_row,
            "model": labels.get("model_name", ""),
            "scale": scale,
            "kind": "tiny offline run" if scale == "tiny" else "real-model run",
            "N": run["metrics"].get("N", 0),
        }
        paper = spec["paper"].get(paper_row, {})
        for metric in spec["metrics"]:
            ours = _value(metric, run["metrics"])
            row[metric] = ours
            row[f"{metric} paper"] = paper.get(metric)
            row[f"{metric} diff"] = (
                None if ours is None or metric not in paper else ours - paper[metric]
            )
        rows.append(row)
    order = list(spec["rows"])
    return sorted(
        rows, key=lambda r: (order.index(r["row"]) if r["row"] in order else len(order), r["row"])
    )


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "–"
    return (
        f"{v:+.{digits}f}"
        if isinstance(v, float) and digits < 0
        else (f"{v:.2f}" if isinstance(v, float) else str(v))
    )


def columns(spec: dict[str, Any]) -> list[str]:
    cols = ["row", "paper_row", "model", "kind", "N"]
    for m in spec["metrics"]:
        cols += [m, f"{m} paper", f"{m} diff"] if spec["paper"] else [m]
    return cols


def to_markdown(title: str, rows: list[dict[str, Any]], spec: dict[str, Any]) -> str:
    cols = columns(spec)
    head = "| " + " | ".join(cols) + " |"
    sep = (
        "| "
        + " | ".join("---" if c in ("row", "paper_row", "model", "kind") else "---:" for c in cols)
        + " |"
    )
    body = [
        "| " + " | ".join(_diff(r[c]) if c.endswith(" diff") else _fmt(r[c]) for c in cols) + " |"
        for r in rows
    ]
    note = "Ours: this project's runs; paper: the published numbers; diff = ours − paper."
    return f"# {title}\n\n{note}\n\n" + "\n".join([head, sep, *body]) + "\n"


def _diff(v: float | None) -> str:
    return "–" if v is None else f"{v:+.2f}"


def to_csv(rows: list[dict[str, Any]], spec: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns(spec), extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def to_latex(title: str, rows: list[dict[str, Any]], spec: dict[str, Any]) -> str:
    cols = columns(spec)

    def esc(s: str) -> str:
        return str(s).replace("_", r"\_").replace("%", r"\%").replace("|", r"$|$")

    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{esc(title)}}}",
        r"\begin{tabular}{" + "l" * 4 + "r" * (len(cols) - 4) + "}",
        r"\toprule",
        " & ".join(esc(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    for r in rows:
        lines.append(
            " & ".join(esc(_diff(r[c]) if c.endswith(" diff") else _fmt(r[c])) for c in cols)
            + r" \\"
        )
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_tables(
    runs: list[dict[str, Any]], out_dir: str | Path, experiments_dir: Path = EXPERIMENTS_DIR
) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for exp in sorted(p.name for p in experiments_dir.iterdir() if (p / "table.yaml").exists()):
        spec = load_spec(exp, experiments_dir)
        rows = rows_for(exp, runs, spec)
        if not rows:
            continue
        for ext, text in (
            ("md", to_markdown(spec["title"], rows, spec)),
            ("csv", to_csv(rows, spec)),
            ("tex", to_latex(spec["title"], rows, spec)),
        ):
            path = out / f"{exp}.{ext}"
            path.write_text(text)
            written.append(path)
    return written
