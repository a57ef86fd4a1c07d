"""``make reproduce`` (``asktoact-reproduce``): every experiment at a scale (tiny, paper, …).

1. The dataset the experiments train on, with ``reports/dataset.md`` (AskToAct Tables 1–2).
2. Each experiment as a Hydra multirun of ``asktoact.job`` (``--multirun experiment=<name>``):
   datasets and trained models are shared between jobs, evaluations resume from their
   transcripts, so a rerun only does what is missing.
3. ``reports/``: every table beside the papers' numbers (md/csv/tex) and the plots.
4. A summary of every table: written (its scale and evaluation set) or not, and why.

The out-of-domain experiment evaluates on TaskBench when ``../shared/data`` (or
``$ASKTOACT_SHARED_DATA``) holds it, else on demo domains that no training set contains
(``jobs.job.ood_source``), and its table says which.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

from omegaconf import DictConfig

from asktoact.config import compose
from asktoact.io import write_text
from asktoact.jobs.presets import experiment_scales

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


def job_command() -> str:
    """The installed ``asktoact-job`` command (beside this interpreter, as ``make install``
    puts it): an experiment's sweep runs through Hydra's launcher as its own process, which the
    command is the interface of (``jobs/`` imports no entry point)."""
    import shutil

    beside = Path(sys.executable).with_name("asktoact-job")
    found = str(beside) if beside.exists() else shutil.which("asktoact-job")
    if not found:
        raise RuntimeError("asktoact-job is not installed: run make install (pip install -e .)")
    return found


def run_experiment(
    name: str, scale: str, runs_dir: str, job_overrides: list[str]
) -> tuple[int, float]:
    """The experiment's multirun: its exit code (a failed experiment does not stop the others)
    and its wall time in seconds (reused stores make a rerun's much shorter)."""
    cmd = [
        job_command(),
        "--multirun",
        f"experiment={name}",
        f"scale={scale}",
        f"hydra.sweep.dir={runs_dir}/{name}/{scale}",
        *job_overrides,
    ]
    log.info("experiment %s: %s", name, " ".join(cmd[1:]))
    start = time.monotonic()
    code = subprocess.run(cmd).returncode
    return code, time.monotonic() - start


def reproduce(cfg: DictConfig) -> list[Path]:
    from asktoact.report import build_reports

    reports = Path(cfg.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    if cfg.plan:  # every job's settings, no work
        from asktoact.jobs.plan import write_plan

        written = write_plan(cfg, reports)
        log.info("plan written to %s (nothing was run)", written[0])
        return written
    written = [dataset_report(cfg, reports)]
    done = {
        name: run_experiment(
            name, scale, cfg.runs_dir, [*cfg.sweeps.get(name, []), *cfg.job_overrides]
        )
        for name, scale in experiment_scales(cfg).items()
    }
    codes = {name: code for name, (code, _) in done.items()}
    written += build_reports(cfg.runs_dir, reports)
    lines = summary(cfg, codes, reports, {name: s for name, (_, s) in done.items()})
    log.info("tables:\n%s", "\n".join(lines))
    write_text(reports / "SUMMARY.md", "# What make reproduce wrote\n\n" + "\n".join(lines) + "\n")
    failed = [n for n, code in codes.items() if code]
    if failed:
        raise RuntimeError(f"experiments failed: {', '.join(failed)} (see their logs above)")
    return written


def summary(
    cfg: DictConfig, codes: dict[str, int], reports: Path, seconds: dict[str, float] | None = None
) -> list[str]:
    """One line per experiment: its table (scale, evaluation set) or why there is none, and how
    long the experiment ran."""
    from asktoact.report.tables import collect

    lines = []
    for name, scale in experiment_scales(cfg).items():
        runs = [r for r in collect(Path(cfg.runs_dir) / name / scale) if r["labels"]]
        sources = sorted({r["labels"].get("eval_source", "?") for r in runs})
        table = reports / f"{name}.md"
        if codes[name]:
            lines.append(f"- {name}: experiment failed (exit code {codes[name]}); see its log")
        elif not table.exists() or not runs:
            lines.append(f"- {name}: no table: the experiment produced no runs")
        else:
            evaluated = "; ".join(sources)
            lines.append(f"- {name}: {table} ({scale} scale, {len(runs)} rows, on {evaluated})")
        if seconds and name in seconds:
            lines[-1] += f" — {seconds[name] / 60:.1f} min"
    return lines
