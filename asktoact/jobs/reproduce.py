"""``make reproduce`` (``asktoact-reproduce``): every experiment at a scale (tiny, paper, …).

1. The dataset the experiments train on, with ``reports/dataset.md`` (AskToAct Tables 1–2).
2. Each experiment as a Hydra multirun of ``asktoact.job`` (``--multirun experiment=<name>``):
   datasets and trained models are shared between jobs, evaluations resume from their
   transcripts, so a rerun only does what is missing.
3. ``reports/``: every table beside the papers' numbers (md/csv/tex) and the plots.
The out-of-domain experiment needs the TaskBench data in ``../shared/data``; without it, it is
skipped and the run says so.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from omegaconf import DictConfig

from asktoact.config import compose
from asktoact.io import write_text

log = logging.getLogger(__name__)


def dataset_report(cfg: DictConfig, reports: Path) -> Path:
    """``reports/dataset.md``: the training dataset of the default scale, then every real source
    of ``dataset_sources`` found on disk (AskToAct Table 1 beside the paper, levels drawn vs kept)."""
    from asktoact.jobs.job import dataset, stored_dataset
    from asktoact.report.dataset import render

    job = compose("job", [f"scale={cfg.report_scale}", *cfg.job_overrides])
    manifests = {f"Training set ({cfg.report_scale} scale)": _manifest(dataset(job))}
    root = Path(job.data_root) / "sources"
    for label, source in cfg.dataset_sources.items():
        if not Path(source.folder).exists():
            log.warning("dataset report: %s is absent, %s left out", source.folder, label)
            continue
        gcfg = compose("generate", [*source.overrides, f"cache_dir={job.cache_dir}"])
        manifests[label] = _manifest(stored_dataset(gcfg, root, label))
    path = reports / "dataset.md"
    write_text(path, render(manifests))
    return path


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def ood_available() -> bool:
    # The same place conf/data/taskbench.yaml reads: $ASKTOACT_SHARED_DATA or ../shared/data.
    shared = Path(os.environ.get("ASKTOACT_SHARED_DATA", "../shared/data"))
    return (shared / "taskbench_dailylifeapis" / "tool_desc.json").exists()


def run_experiment(name: str, scale: str, runs_dir: str, job_overrides: list[str]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "asktoact.cli.job",
        "--multirun",
        f"experiment={name}",
        f"scale={scale}",
        f"hydra.sweep.dir={runs_dir}/{name}/{scale}",
        *job_overrides,
    ]
    log.info("experiment %s: %s", name, " ".join(cmd[1:]))
    subprocess.run(cmd, check=True)


def reproduce(cfg: DictConfig) -> list[Path]:
    from asktoact.report import build_reports

    reports = Path(cfg.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    written = [dataset_report(cfg, reports)]
    for name, scale in cfg.experiments.items():
        if name == "ood" and not ood_available():
            log.warning("skipping experiment ood: ../shared/data/taskbench_dailylifeapis is absent")
            continue
        run_experiment(name, scale, cfg.runs_dir, list(cfg.job_overrides))
    return written + build_reports(cfg.runs_dir, reports)
