"""Which experiment row each BFCL-scored job is, and which row it is compared with: the jobs
that ran the BFCL step (``bfcl.enabled``), named by their experiment's ``table.yaml`` row key,
for :func:`asktoact.bfcl.scores.write_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asktoact.paths import EXPERIMENTS_DIR
from asktoact.report.tables import load_spec, row_key


def job_rows(runs: list[dict[str, Any]], experiments_dir: Path | None = None) -> list[dict]:
    """The experiment jobs that ran the BFCL step, each named by its experiment's row key
    (``experiments/<name>/table.yaml``) and paired with the reference of that row's first
    comparison there (``lora`` against ``none``, ``pkt|False`` against ``standard|False``);
    without a table, with the experiment's untrained row of the same model."""
    specs: dict[str, dict | None] = {}

    def spec_of(name: str) -> dict | None:
        if name not in specs:
            found = (experiments_dir or EXPERIMENTS_DIR) / name / "table.yaml"
            specs[name] = load_spec(name, found.parents[1]) if found.exists() else None
        return specs[name]

    rows = []
    for run in runs:
        if not run.get("bfcl"):
            continue
        labels, spec = run["labels"], spec_of(run["labels"]["experiment_name"])
        key = row_key(spec, labels) if spec else labels["adapter_name"]
        refs = [ref for row, ref in (spec or {}).get("comparisons", []) if row == key]
        ref = refs[0] if refs else (None if key == "none" or spec else "none")
        group = f"{labels['experiment_name']}/{labels['scale']}"
        if not spec or "model_name" not in spec["row_key"]:
            group += f": {labels['model_name']}"
        rows.append(
            {"label": f"{group} {key}", "base": ref and f"{group} {ref}", "bfcl": run["bfcl"]}
        )
    return rows
