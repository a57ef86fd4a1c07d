"""``python -m asktoact.job``: one experiment job (one table row), and the shared stores it uses.

generate → train → evaluate, each step composed from its own primary config (``generate.yaml``,
``train.yaml``, ``evaluate.yaml``) with the scale's overrides, so a job is exactly what the three
entry points would do by hand. Datasets and trained models live in shared stores keyed by their
settings: a job whose dataset or model already exists reuses it (the ``main`` LoRA row, the
``ablation`` full method, the ``aug_sweep`` 30% point and the ``masking_ablation`` selective row
are one training). The job writes ``metrics.json`` labelled with its experiment and row.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import hydra
from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from asktoact.paths import CONF_DIR

log = logging.getLogger(__name__)


def _compose(name: str, overrides: list[str]) -> DictConfig:
    if GlobalHydra.instance().is_initialized():
        return compose(name, overrides=overrides)
    from hydra import initialize_config_dir

    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        return compose(name, overrides=overrides)


def dataset(cfg: DictConfig, ood: bool = False) -> Path:
    from asktoact.data.build import build

    over = list(cfg.ood_overrides if ood else cfg.generate_overrides)
    ratio = 0.0 if ood else cfg.ratio
    key = f"{'ood' if ood else cfg.source}-r{ratio}-s{cfg.seed}"
    out = Path(cfg.data_root) / cfg.get("scale_name", "tiny") / key
    if not (out / "manifest.json").exists():
        log.info("building dataset %s", out)
        build(
            _compose(
                "generate",
                [
                    *over,
                    f"augmentation.ratio={ratio}",
                    f"seed={cfg.seed}",
                    f"cache_dir={cfg.cache_dir}",
                ],
            ),
            out,
        )
    return out


def model(cfg: DictConfig, data: Path) -> tuple[str, dict[str, Any]]:
    """Path of the model to evaluate: the untrained base, or a trained (and reused) one."""
    from asktoact.train.run import run_training

    root = Path(cfg.model_root) / cfg.get("scale_name", "tiny")
    if cfg.adapter_name == "none":
        return base_model(cfg, root), {}
    key = f"{cfg.model_name}-{cfg.adapter_name}-{cfg.masking_name}-r{cfg.ratio}-s{cfg.seed}"
    tuned = []
    if cfg.get("lr") is not None:
        key, tuned = f"{key}-lr{cfg.lr}", [*tuned, f"adapter.lr={cfg.lr}"]
    if cfg.get("lora_r") is not None:
        key, tuned = (
            f"{key}-rank{cfg.lora_r}",
            [*tuned, f"adapter.r={cfg.lora_r}", f"adapter.alpha={2 * cfg.lora_r}"],
        )
    out = root / key
    summary_file = out / "train_summary.json"
    if not summary_file.exists():
        over = [
            f"model={cfg.model_name}",
            f"adapter={cfg.adapter_name}",
            f"masking={cfg.masking_name}",
            f"data.path={data}",
            f"seed={cfg.seed}",
            f"cache_dir={cfg.cache_dir}",
            *cfg.train_overrides,
            *cfg.adapter_overrides.get(cfg.adapter_name, []),
        ]
        if "logger=wandb" in over:
            over += [
                f"logger.group={cfg.experiment_name}",
                f"logger.tags=[{cfg.experiment_name},{cfg.get('scale_name', 'tiny')}]",
            ]
        run_training(_compose("train", over), out)
    summary = json.loads(summary_file.read_text())
    return summary["outputs"]["merged"], summary


def base_model(cfg: DictConfig, root: Path) -> str:
    """The untrained model: a real model's hub id or path, or the tiny model's random init."""
    mcfg = _compose("train", [f"model={cfg.model_name}"]).model
    if not mcfg.tiny:
        return mcfg.get("path") or mcfg.hf_id
    out = root / f"{cfg.model_name}-base-s{cfg.seed}"
    if not (out / "config.json").exists():
        from asktoact.train.models import load_model, load_tokenizer

        tok = load_tokenizer(mcfg, cfg.cache_dir)
        load_model(mcfg, tok, cfg.seed).save_pretrained(out)
        tok.save_pretrained(out)
    return str(out)


def run_job(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    from asktoact.eval.run import run_evaluation

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = dataset(cfg)
    eval_data = dataset(cfg, ood=True) if cfg.eval_set == "ood" else data
    path, summary = model(cfg, data)
    over = [
        *cfg.eval_overrides,
        "agent=local",
        f"agent.path={path}",
        f"data.path={eval_data}",
        f"data.split={cfg.get('eval_split', 'test')}",
        f"seed={cfg.seed}",
        f"cache_dir={cfg.cache_dir}",
    ]
    if "logger.kind=wandb" in over:  # one W&B group per experiment, tagged with the scale
        over += [
            f"logger.group={cfg.experiment_name}",
            f"logger.tags=[{cfg.experiment_name},{cfg.get('scale_name', 'tiny')}]",
        ]
    result = run_evaluation(_compose("evaluate", over), run_dir / "eval")
    labels = {
        k: cfg[k]
        for k in (
            "experiment_name",
            "model_name",
            "adapter_name",
            "masking_name",
            "ratio",
            "eval_set",
            "seed",
        )
    }
    labels["scale"] = cfg.get("scale_name", "tiny")
    out = {
        "labels": labels,
        **result,
        "training": {k: summary.get(k) for k in ("global_step", "metrics", "encoding")},
    }
    (run_dir / "metrics.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    return out


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="job")
def main(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    OmegaConf.set_struct(cfg, False)
    cfg.scale_name = hc.runtime.choices.get("scale", "tiny")
    result = run_job(cfg, hc.runtime.output_dir)
    log.info(
        "%s: %s", cfg.run_name, json.dumps({k: round(v, 4) for k, v in result["metrics"].items()})
    )
    return float(result["metrics"]["CPS"])  # the objective of sweepers that optimise (Optuna)


if __name__ == "__main__":
    main()
