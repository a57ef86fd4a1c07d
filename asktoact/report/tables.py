"""Experiment tables: our runs beside the papers' numbers, with their uncertainty (md/csv/tex).

Each ``experiments/<name>/table.yaml`` says which job labels identify a row (``row_key``), which
paper row it corresponds to, which metrics to show and which rows to compare (``comparisons``:
``[row, reference]`` pairs); ``paper.csv`` holds the paper's numbers. Every row carries N and a
95 % bootstrap interval per metric (over queries, seeded, computed by the evaluation); each
comparison is a paired bootstrap over the queries both rows evaluated, marked when its interval
excludes 0. Rates are shown in percent (IR in rounds, the IRM reward as it is), as in the papers.

The Markdown table is for reading (one cell per metric: ours [interval] (paper)); the CSV keeps
every number in its own column; the LaTeX file holds both tables.

Below the paper's metrics, every table has its task's format and behaviour columns (``Task.
behaviour``; a table.yaml may name others under ``behaviour``): whether a model writes the output
format apart from what it asks or calls. Their differences are a family of tests of their own,
Holm-adjusted apart from the paper's metrics.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import yaml

from asktoact.eval.metrics import NOT_RATES, holm
from asktoact.eval.task import task_of_result
from asktoact.io import markdown_table, write_text
from asktoact.paths import EXPERIMENTS_DIR

DESCRIPTIVE = (
    *("row", "paper_row", "model", "kind", "N", "train N", "aug", "steps", "scale", "eval set"),
    "error types",
)


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
    spec.setdefault("comparisons", [])
    return spec


def _pct(metric: str, value: float | None) -> float | None:
    return None if value is None else (value if metric in NOT_RATES else 100.0 * value)


def _kind(labels: dict[str, Any]) -> str:
    if labels.get("agent_model"):
        return "API model"
    if str(labels.get("adapter_name", "")).startswith("policy:"):
        return "reference policy"
    return "pretrained model" if labels.get("pretrained") else "tiny random-init model"


class _Labels(dict):
    def __missing__(self, key: str) -> str:
        return ""  # a label newer than the run (e.g. prompting): the run had none of it


def row_key(spec: dict[str, Any], labels: dict[str, Any]) -> str:
    """A run's row in the table ``spec`` (its ``row_key`` filled with the run's labels)."""
    return spec["row_key"].format_map(_Labels(labels))


def rows_for(name: str, runs: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        labels = run["labels"]
        if labels.get("experiment_name") != name:
            continue
        key = row_key(spec, labels)
        paper_row = spec["rows"].get(key, "")
        paper = spec["paper"].get(paper_row, {})
        training = run.get("training") or {}
        encoding = training.get("encoding") or {}
        skipped = run.get("skipped")  # its key or endpoint was not configured: no metrics
        task = task_of_result(run)  # whose outcomes these are, and how they compare
        row = {
            "row": key,
            "paper_row": paper_row,
            "model": labels.get("agent_model") or labels.get("model_name", ""),
            "kind": f"skipped: {skipped}" if skipped else _kind(labels),
            "N": run["metrics"].get("N", 0),
            # what the row was trained on: dialogues and optimizer steps (none: untrained)
            "train N": encoding.get("train_examples"),
            # of those, the dialogues with an error-correction pair, and the pairs per type
            "aug": encoding.get("augmented"),
            "error types": json.dumps(encoding.get("error_types") or {}),
            "steps": training.get("global_step"),
            "scale": labels.get("scale", ""),
            "eval set": labels.get("eval_source", labels.get("eval_set", "")),
            "task": task,
            "outcomes": None if skipped else task.outcomes(run.get("outcomes", [])),
            "distribution": run.get(spec.get("distribution") or "", {}),
        }
        for metric in [*spec["metrics"], *behaviour_of(spec, task)]:
            low, high = run.get("intervals", {}).get(metric, (None, None))
            row[metric] = _pct(metric, run["metrics"].get(metric))
            row[f"{metric} low"], row[f"{metric} high"] = _pct(metric, low), _pct(metric, high)
            row[f"{metric} paper"] = paper.get(metric)
        rows.append(row)
    order = list(spec["rows"])
    return sorted(
        rows, key=lambda r: (order.index(r["row"]) if r["row"] in order else len(order), r["row"])
    )


def behaviour_of(spec: dict[str, Any], task) -> list[str]:
    """The format/behaviour columns of a table: its table.yaml's ``behaviour``, else its task's."""
    chosen = spec.get("behaviour")
    return list(task.behaviour if chosen is None else chosen)


def _behaviour(rows: list[dict[str, Any]], spec: dict[str, Any]) -> list[str]:
    return behaviour_of(spec, rows[0]["task"]) if rows else []


def comparisons(rows: list[dict[str, Any]], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Each configured [row, reference] pair present in ``rows``: paired differences (a metric
    only where both rows' outcomes measured it, ``Task.unmeasured``)."""
    behaviour = _behaviour(rows, spec)
    by_key = {r["row"]: r for r in rows}
    out = []
    for row, ref in spec["comparisons"]:
        if row not in by_key or ref not in by_key:
            continue
        if by_key[row]["outcomes"] is None or by_key[ref]["outcomes"] is None:
            continue  # a skipped row has nothing to compare
        task = by_key[row]["task"]
        diff = task.paired_difference(by_key[row]["outcomes"], by_key[ref]["outcomes"])
        entry = {"comparison": f"{row} − {ref}", "N": diff["n"]}
        for metric in [*spec["metrics"], *behaviour]:
            d = diff["metrics"].get(metric)
            if d is None:
                continue
            entry[f"{metric} diff"] = _pct(metric, d["diff"])
            entry[f"{metric} low"], entry[f"{metric} high"] = (
                _pct(metric, d["low"]),
                _pct(metric, d["high"]),
            )
            entry[f"{metric} significant"] = d["significant"]
            entry[f"{metric} p"] = d["p"]
        out.append(entry)
    _holm_adjust(out, spec["metrics"])
    _holm_adjust(out, behaviour)  # a family of its own: format is not what the paper tests
    return out


def _holm_adjust(entries: list[dict[str, Any]], metrics: list[str], alpha: float = 0.05) -> None:
    """Every test of the table (comparison × metric) adjusted together (Holm): ``<metric> holm``
    is the adjusted p, ``<metric> holds`` whether the effect survives the many comparisons."""
    tests = [(e, m) for e in entries for m in metrics if f"{m} p" in e]
    for (entry, metric), adjusted in zip(tests, holm([e[f"{m} p"] for e, m in tests]), strict=True):
        entry[f"{metric} holm"] = adjusted
        entry[f"{metric} holds"] = adjusted < alpha


def _count(v: int | None) -> str:
    return "–" if v is None else str(v)


def _num(v: float | None, signed: bool = False) -> str:
    if v is None:
        return "–"
    return f"{v:+.1f}" if signed else f"{v:.1f}"


def _cell(row: dict[str, Any], metric: str) -> str:
    text = _num(row[metric])
    if row.get(f"{metric} low") is not None:
        text += f" [{_num(row[f'{metric} low'])}, {_num(row[f'{metric} high'])}]"
    if row.get(f"{metric} paper") is not None:
        text += f" ({_num(row[f'{metric} paper'])})"
    return text


def _diff_cell(entry: dict[str, Any], metric: str) -> str:
    if f"{metric} diff" not in entry:
        return "–"
    mark = " *" if entry[f"{metric} significant"] else ""
    mark += "†" if entry.get(f"{metric} holds") else ""
    low, high = _num(entry[f"{metric} low"], True), _num(entry[f"{metric} high"], True)
    return f"{_num(entry[f'{metric} diff'], True)} [{low}, {high}]{mark}"


def to_markdown(title: str, rows, diffs, spec: dict[str, Any]) -> str:
    metrics = spec["metrics"]
    scales = ", ".join(sorted({r["scale"] for r in rows if r["scale"]})) or "–"
    sources = "; ".join(sorted({r["eval set"] for r in rows if r["eval set"]})) or "–"
    lines = [f"# {title}", "", f"Scale: {scales}. Evaluated on: {sources}.", "", LEGEND, ""]
    head = ["row", "paper row", "model", "kind", "N", "train N", "aug", "steps", *metrics]
    body = [
        [r["row"], r["paper_row"], r["model"], r["kind"], str(r["N"])]
        + [_count(r["train N"]), _count(r["aug"]), _count(r["steps"])]
        + [_cell(r, m) for m in metrics]
        for r in rows
    ]
    lines += markdown_table(head, body, left=4)
    if diffs:
        lines += ["", "## Differences", "", DIFF_LEGEND, ""]
        lines += _md_diffs(diffs, metrics)
    behaviour = _behaviour(rows, spec)
    if behaviour:
        lines += ["", "## Format and behaviour", "", rows[0]["task"].behaviour_legend, ""]
        body = [[r["row"], str(r["N"])] + [_cell(r, m) for m in behaviour] for r in rows]
        lines += markdown_table(["row", "N", *behaviour], body, left=1)
        if diffs:
            lines += ["", "Differences (Holm's † across these columns' tests):", ""]
            lines += _md_diffs(diffs, behaviour)
    if spec.get("distribution"):
        lines += ["", f"## Distribution: {spec['distribution']} (% of queries)", ""]
        lines += _distribution(rows)
    return "\n".join(lines) + "\n"


def _md_diffs(diffs: list[dict[str, Any]], metrics: list[str]) -> list[str]:
    body = [[d["comparison"], str(d["N"])] + [_diff_cell(d, m) for m in metrics] for d in diffs]
    return markdown_table(["comparison", "N", *metrics], body, left=1)


def _distribution(rows: list[dict[str, Any]]) -> list[str]:
    keys = sorted({k for r in rows for k in r["distribution"]})
    body = []
    for r in rows:
        total = sum(r["distribution"].values()) or 1
        body.append([r["row"]] + [f"{100 * r['distribution'].get(k, 0) / total:.1f}" for k in keys])
    return markdown_table(["row", *keys], body, left=1)


LEGEND = (
    "Each cell: ours [95 % bootstrap interval over the N queries] (the paper's number). Rates in "
    "percent, IR in rounds, IRM as a reward in [-2, 1]. train N / steps: the dialogues and "
    "optimizer steps the row was trained on (– untrained); aug: how many of those dialogues hold "
    "an error-correction pair (the CSV has them per error type). Table 6's error rates are over the "
    "underspecified queries only. The paper used 7–8 B models, GPT-4o data and a 72 B user "
    "simulator."
)
DIFF_LEGEND = (
    "Paired bootstrap over the queries both rows evaluated: difference [95 % interval]; "
    "* = the interval excludes 0 (a difference beyond the uncertainty); † = it also survives "
    "Holm's adjustment across every test of this table (adjusted bootstrap p < 0.05): only a † "
    "effect is one the many comparisons do not explain."
)


def _csv(fieldnames: list[str], records: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames, extrasaction="ignore")
    w.writeheader()
    w.writerows(records)
    return buf.getvalue()


def to_csv(rows, diffs, spec: dict[str, Any]) -> tuple[str, str]:
    metrics = [*spec["metrics"], *_behaviour(rows, spec)]
    cols = [*DESCRIPTIVE]
    for m in metrics:
        cols += [m, f"{m} low", f"{m} high", f"{m} paper"]
    dcols = ["comparison", "N"]
    for m in metrics:
        dcols += [f"{m} diff", f"{m} low", f"{m} high", f"{m} significant", f"{m} p"]
        dcols += [f"{m} holm", f"{m} holds"]
    return _csv(cols, rows), _csv(dcols, diffs)


def to_latex(title: str, rows, diffs, spec: dict[str, Any]) -> str:
    def esc(s: Any) -> str:
        return str(s).replace("_", r"\_").replace("%", r"\%").replace("−", "$-$")

    def table(caption: str, head: list[str], body: list[list[str]], left: int) -> list[str]:
        return [
            r"\begin{table}[t]",
            r"\centering\small",
            rf"\caption{{{esc(caption)}}}",
            r"\begin{tabular}{" + "l" * left + "r" * (len(head) - left) + "}",
            r"\toprule",
            " & ".join(esc(c) for c in head) + r" \\",
            r"\midrule",
            *(" & ".join(esc(c) for c in r) + r" \\" for r in body),
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
        ]

    metrics = spec["metrics"]
    body = [[r["row"], r["model"], str(r["N"])] + [_cell(r, m) for m in metrics] for r in rows]
    lines = table(f"{title}. {LEGEND}", ["row", "model", "N", *metrics], body, 2)
    if diffs:
        body = [[d["comparison"], str(d["N"])] + [_diff_cell(d, m) for m in metrics] for d in diffs]
        lines += table(
            f"{title}: differences. {DIFF_LEGEND}", ["comparison", "N", *metrics], body, 1
        )
    return "\n".join(lines) + "\n"


def table_experiments(experiments_dir: Path = EXPERIMENTS_DIR) -> list[str]:
    """The experiments with a ``table.yaml`` (what they report: rows, metrics, plots), by name."""
    return sorted(p.name for p in experiments_dir.iterdir() if (p / "table.yaml").exists())


def write_tables(
    runs: list[dict[str, Any]], out_dir: str | Path, experiments_dir: Path = EXPERIMENTS_DIR
) -> list[Path]:
    out = Path(out_dir)
    written = []
    for exp in table_experiments(experiments_dir):
        spec = load_spec(exp, experiments_dir)
        rows = rows_for(exp, runs, spec)
        if not rows:
            continue
        diffs = comparisons(rows, spec)
        table_csv, diffs_csv = to_csv(rows, diffs, spec)
        files = {
            f"{exp}.md": to_markdown(spec["title"], rows, diffs, spec),
            f"{exp}.csv": table_csv,
            f"{exp}_differences.csv": diffs_csv,
            f"{exp}.tex": to_latex(spec["title"], rows, diffs, spec),
        }
        for name, text in files.items():
            write_text(out / name, text)
            written.append(out / name)
    return written
