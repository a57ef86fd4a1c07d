"""Experiments: every experiment config composes; a tiny multirun runs end to end into tables."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from conftest import CONF, ROOT
from hydra import compose, initialize_config_dir

from asktoact.report.__main__ import build_reports
from asktoact.report.tables import load_spec

EXPERIMENTS = ["main", "ood", "ablation", "cross_model", "aug_sweep", "masking_ablation"]
# Small enough for CI: 150 demo rows, a few training steps, two short dialogues per job.
QUICK = [  # list items are quoted: Hydra's grammar does not allow a bare '=' inside a list
    "generate_overrides=['data=demo','data.n=150','quality.enabled=false']",
    "train_overrides=['logger=none','+debug=fast']",
    "eval_overrides=['data.limit=2','max_rounds=1','agent.max_new_tokens=8']",
]


def multirun(tmp_path, *args: str) -> None:
    """``python -m asktoact.job --multirun`` with the QUICK settings and stores under tmp_path."""
    env = {**os.environ, "ASKTOACT_CACHE": str(tmp_path / "cache"), "WANDB_MODE": "offline"}
    cmd = [
        sys.executable,
        "-m",
        "asktoact.job",
        "--multirun",
        *args,
        *QUICK,
        f"data_root={tmp_path / 'data'}",
        f"model_root={tmp_path / 'models'}",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("scale", ["tiny", "paper"])
def test_every_experiment_composes(name, scale):
    with initialize_config_dir(str(CONF), version_base="1.3"):
        cfg = compose(
            "job", overrides=[f"experiment={name}", f"scale={scale}"], return_hydra_config=True
        )
    assert cfg.experiment_name == name
    params = dict(cfg.hydra.sweeper.params)
    assert params and all(
        k in ("adapter_name", "ratio", "model_name", "masking_name") for k in params
    )
    assert cfg.model_name == ("tiny-qwen2" if scale == "tiny" else "qwen2.5-7b-instruct")
    spec = load_spec(name)
    assert set(spec["metrics"]) <= {"ICR", "CE", "CPS", "IR", "SCR", "TSS", "PRS"} | {
        f"err_{k}" for k in ("clearly_stated", "imprecise", "irrelevant", "redundant", "incomplete")
    }
    for row, paper_row in spec["rows"].items():
        assert not spec["paper"] or paper_row in spec["paper"], (name, row)


def test_tiny_multirun_end_to_end_into_tables(tmp_path):
    multirun(tmp_path, "experiment=main", f"hydra.sweep.dir={tmp_path / 'runs' / 'main'}")
    jobs = sorted((tmp_path / "runs" / "main").glob("*/metrics.json"))
    assert len(jobs) == 3
    labels = sorted(json.loads(p.read_text())["labels"]["adapter_name"] for p in jobs)
    assert labels == ["full", "lora", "none"]
    written = build_reports(tmp_path / "runs", tmp_path / "reports")
    names = {p.name for p in written}
    assert {"main.md", "main.csv", "main.tex", "complexity.png"} <= names
    rows = list(csv.DictReader((tmp_path / "reports" / "main.csv").read_text().splitlines()))
    assert [r["row"] for r in rows] == ["none", "lora", "full"]
    assert rows[1]["paper_row"] == "ASKToACT-LoRA-SFT-7B" and float(rows[1]["CPS paper"]) == 60.41
    assert all(r["kind"] == "tiny offline run" for r in rows)
    assert (tmp_path / "reports" / "complexity.png").stat().st_size > 1000
    # Shared stores: one dataset, two trained models (the base row trains nothing), one base init.
    assert len(list((tmp_path / "models" / "tiny").iterdir())) == 3


def test_reproduce_dataset_report(tmp_path):
    from asktoact.reproduce import dataset_report

    path = dataset_report(
        "tiny",
        tmp_path,
        [QUICK[0], f"data_root={tmp_path / 'data'}", f"cache_dir={tmp_path / 'c'}"],
    )
    text = path.read_text()
    assert "## Table 1" in text and "| train_rows |" in text and "29821" in text


def test_sweep_plugins_compose():
    with initialize_config_dir(str(CONF), version_base="1.3"):
        search = compose("job", overrides=["experiment=lr_rank_search"], return_hydra_config=True)
        slurm = compose("job", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
        local = compose(
            "job", overrides=["hydra/launcher=local_parallel"], return_hydra_config=True
        )
    assert search.hydra.sweeper._target_.endswith("OptunaSweeper")
    assert (
        set(search.hydra.sweeper.params) == {"lr", "lora_r"}
        and search.hydra.sweeper.direction == "maximize"
    )
    assert (
        slurm.hydra.launcher._target_.endswith("SlurmLauncher")
        and slurm.hydra.launcher.gpus_per_node == 4
    )
    assert local.hydra.launcher._target_.endswith("JoblibLauncher")


def test_optuna_search_runs_trials_and_reports_the_best(tmp_path):
    multirun(
        tmp_path,
        "experiment=lr_rank_search",
        "hydra.sweeper.n_trials=2",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    best = (tmp_path / "sweep" / "optimization_results.yaml").read_text()
    assert "best_params" in best and "lora_r" in best and "best_value" in best
    trained = sorted(p.name for p in (tmp_path / "models" / "tiny").iterdir())
    assert len(trained) == 2 and all("-lr" in n and "-rank" in n for n in trained)
