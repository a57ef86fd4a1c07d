"""``make reproduce``: every experiment at ``scale=tiny`` (offline, CPU) or ``scale=paper``.

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

import hydra
from omegaconf import DictConfig, OmegaConf

from asktoact.paths import CONF_DIR

log = logging.getLogger(__name__)
ROOT = Path(CONF_DIR).parent


def dataset_report(scale: str, reports: Path, job_overrides: list[str]) -> Path:

    from asktoact.job import _compose, dataset
    from asktoact.report.dataset import render

    cfg = _compose("job", [f"scale={scale}", *job_overrides])
    OmegaConf.set_struct(cfg, False)
    cfg.scale_name = scale
    data = dataset(cfg)
    label = "tiny offline run: demo corpus, rules backends" if scale == "tiny" else f"{scale} run"
    path = reports / "dataset.md"
    path.write_text(render(json.loads((data / "manifest.json").read_text()), label))
    return path


def ood_available() -> bool:
    shared = Path(os.environ.get("ASKTOACT_SHARED_DATA", ROOT.parent / "shared" / "data"))
    return (shared / "taskbench_dailylifeapis" / "tool_desc.json").exists()


def run_experiment(name: str, scale: str, runs_dir: str, job_overrides: list[str]) -> None:
    cmd = [
        sys.executable,
        "-m",
        "asktoact.job",
        "--multirun",
        f"experiment={name}",
        f"scale={scale}",
        f"hydra.sweep.dir={runs_dir}/{name}/{scale}",
        *job_overrides,
    ]
    log.info("experiment %s: %s", name, " ".join(cmd[1:]))
    subprocess.run(cmd, cwd=ROOT, check=True)


def reproduce(cfg: DictConfig, scale: str) -> list[Path]:
    from asktoact.report.__main__ import build_reports

    reports = Path(cfg.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    written = [dataset_report(scale, reports, list(cfg.job_overrides))]
    for name in cfg.experiments:
        if name == "ood" and scale == "tiny" and not ood_available():
            log.warning("skipping experiment ood: ../shared/data/taskbench_dailylifeapis is absent")
            continue
        run_experiment(name, scale, cfg.runs_dir, list(cfg.job_overrides))
    return written + build_reports(cfg.runs_dir, reports)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="reproduce")
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    paths = reproduce(cfg, HydraConfig.get().runtime.choices["scale"])
    log.info("reports:\n%s", "\n".join(map(str, paths)))


if __name__ == "__main__":
    main()
