"""One experiment job (one table row), and the shared stores it uses (``asktoact-job``).

generate → train → evaluate, each step composed from its own primary config (``generate.yaml``,
``train.yaml``, ``evaluate.yaml``) with the scale's overrides, so a job is exactly what the three
entry points would do by hand (``*_overrides`` below build those override lists; the compose-all
test composes them for every experiment, scale and sweep point). Datasets and trained models live
in shared stores keyed by a hash of the fully resolved config that builds them (saved beside
them as ``config.yaml``): a job whose dataset or model already exists reuses it, and a changed
setting always builds anew. The job writes ``metrics.json`` labelled with its experiment and row.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from asktoact.config import compose
from asktoact.eval import protocol
from asktoact.identity import config_hash, resolved
from asktoact.io import atomic_dir, resolve_dataset_dir, write_json, write_text

log = logging.getLogger(__name__)

# Keys that say where things go or how they are logged, not what is built.
_WHERE = ("cache_dir", "run_name", "out_dir", "resume", "logger", "data.num_workers")
# Settings that locate, not define, a job: left out of its labels.
_NOT_LABELS = {
    "cache_dir",
    "run_name",
    "data_root",
    "model_root",
    "eval_root",
    "scale_name",
    "lookup",
}


def labels_of(cfg: DictConfig) -> dict[str, Any]:
    """Every scalar setting of the job (experiment, model, adapter, masking, ratio, irm, eval set,
    seed, lr, rank, variant, …): an experiment's ``row_key`` may name any of them, so a new
    experiment sweeping a new key needs no change here."""
    values = {k: cfg[k] for k in cfg if k not in _NOT_LABELS}
    return {k: v for k, v in values.items() if v is None or isinstance(v, str | int | float | bool)}


def generate_overrides(cfg: DictConfig, ood: bool = False) -> list[str]:
    """The generate step's overrides: the scale's training data (demo data never holds the
    ``ood_domains``), or the out-of-domain set (:func:`ood_source`)."""
    ratio = 0.0 if ood else cfg.ratio
    if ood:
        over = list(
            cfg.ood_overrides if ood_source(cfg) == "ood_overrides" else cfg.ood_fallback_overrides
        )
    else:
        extra = list(cfg.generate_extra)
        keys = {o.split("=")[0] for o in extra}  # an experiment's key replaces the scale's
        over = [o for o in cfg.generate_overrides if o.split("=")[0] not in keys] + extra
        if cfg.source == "demo":
            over.append(f"data.exclude_domains=[{','.join(cfg.ood_domains)}]")
    return [*over, f"augmentation.ratio={ratio}", f"seed={cfg.seed}", f"cache_dir={cfg.cache_dir}"]


@functools.cache
def _composed(name: str, overrides: tuple[str, ...]) -> DictConfig:
    """A step's config read for one setting (the model's chat format, the OOD source's path):
    composed once per job however often it is asked (a job used to compose ``train`` five times)."""
    return compose(name, list(overrides))


def model_config(cfg: DictConfig) -> DictConfig:
    """``conf/model/<model_name>.yaml`` as the train step composes it."""
    return _composed("train", (f"model={cfg.model_name}",)).model


def ood_source(cfg: DictConfig) -> str:
    """``ood_overrides`` when the scale's out-of-domain data (TaskBench) is on disk or comes from
    the hub, else ``ood_fallback_overrides`` (the held-out demo domains)."""
    from asktoact.data.sources import available

    data = _composed("generate", tuple(cfg.ood_overrides)).data
    return "ood_overrides" if available(data) else "ood_fallback_overrides"


def eval_source(cfg: DictConfig) -> str:
    """What the job's evaluation set is, in words (for its labels and tables)."""
    if cfg.eval_set != "ood":
        return f"{cfg.source} (in-domain test split)"
    if ood_source(cfg) == "ood_overrides":
        return _composed("generate", tuple(cfg.ood_overrides)).data.name
    return f"demo domains held out of training ({', '.join(cfg.ood_domains)})"


def train_overrides(cfg: DictConfig, data: Path) -> list[str]:
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
    over += list(cfg.train_extra)
    if cfg.lr is not None:
        over.append(f"adapter.lr={cfg.lr}")
    if cfg.lora_r is not None:
        over += [f"adapter.peft.r={cfg.lora_r}", f"adapter.peft.lora_alpha={2 * cfg.lora_r}"]
    return over + _tracking(cfg, over)


def rl_overrides(cfg: DictConfig, sft: str, data: Path) -> list[str]:
    """The RL step (TL-Training's IRM + KL, ``asktoact-rl``) on the trained model ``sft``."""
    system_role = model_config(cfg).system_role
    return [
        f"sft.path={sft}",
        f"sft.system_role={system_role}",
        f"data.path={data}",
        f"seed={cfg.seed}",
        f"cache_dir={cfg.cache_dir}",
        *cfg.rl_overrides,
    ]


def eval_overrides(cfg: DictConfig, model_path: str | None, data: Path) -> list[str]:
    """The evaluate step: a local model at ``model_path``, or the API model ``agent_model``."""
    if cfg.agent_model:
        agent = ["agent=litellm", f"agent.client.model={cfg.agent_model}"]
        agent += [f"agent.client.api_key_env={cfg.agent_key_env}", *cfg.api_agent_overrides]
    else:
        system_role = model_config(cfg).system_role
        agent = ["agent=local", f"agent.path={model_path}", f"agent.system_role={system_role}"]
        agent += list(cfg.local_agent_overrides)
    over = [
        *cfg.eval_overrides,
        *agent,
        f"data.path={data}",
        f"data.split={cfg.eval_split}",
        f"seed={cfg.seed}",
        f"cache_dir={cfg.cache_dir}",
        *cfg.eval_extra,
    ]
    return over + _tracking(cfg, over)


def _tracking(cfg: DictConfig, over: list[str]) -> list[str]:
    """One W&B group per experiment, tagged with the scale."""
    if "logger=wandb" not in over:
        return []
    tags = f"logger.tags=[{cfg.experiment_name},{cfg.scale_name}]"
    return [f"logger.group={cfg.experiment_name}", tags]


def _store(root: Path, readable: str, cfg: DictConfig, data: dict[str, Any]) -> Path:
    """``<root>/<readable>-<hash>``, with the resolved config written beside the artifact."""
    out = root / f"{readable}-{config_hash(data)}"
    if not (out / "config.yaml").exists():
        write_text(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(data)))
    return out


@contextlib.contextmanager
def _one_maker(entry: Path):
    """Hold the store entry while it is made: the concurrent jobs of a sweep (submitit, joblib,
    a SLURM array) that need the same dataset or model wait for the first job to make it and
    then reuse it, instead of making it twice in one folder, where each would clear the other's
    half-written files as a killed run's leftovers. The lock file is the entry's own ``.lock``
    (beside its config.yaml, so a store folder lists only entries)."""
    from filelock import FileLock, Timeout

    entry.mkdir(parents=True, exist_ok=True)
    lock = FileLock(entry / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.info("waiting for %s: another job is making it", entry)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def dataset(cfg: DictConfig, ood: bool = False) -> Path:
    gcfg = compose("generate", generate_overrides(cfg, ood))
    name = f"{'ood' if ood else cfg.source}-r{gcfg.augmentation.ratio}-s{cfg.seed}"
    return stored_dataset(gcfg, Path(cfg.data_root) / cfg.scale_name, name)


def stored_dataset(gcfg: DictConfig, root: Path, name: str) -> Path:
    """The dataset ``gcfg`` builds, from the store (built there first if it is not)."""
    from asktoact.data.build import build

    out = _store(root, name, gcfg, resolved(gcfg, _WHERE))
    with _one_maker(out):
        if not (out / "manifest.json").exists():
            log.info("building dataset %s", out)
            build(gcfg, out)
        else:
            log.info("reusing dataset %s", out)
    return out


def model(cfg: DictConfig, data: Path) -> tuple[str, dict[str, Any]]:
    """Path of the model to evaluate: the untrained base, or a trained (and reused) one."""
    from asktoact.train.run import run_training

    root = Path(cfg.model_root) / cfg.scale_name
    if cfg.adapter_name == "none":
        return base_model(cfg, root), {}
    tcfg = compose("train", train_overrides(cfg, data))
    identity = resolved(tcfg, (*_WHERE, "data.path"))
    identity["dataset"] = data.name  # the dataset's own hash, wherever the store lives
    name = f"{cfg.model_name}-{cfg.adapter_name}-{cfg.masking_name}-r{cfg.ratio}-s{cfg.seed}"
    if cfg.lr is not None:
        name += f"-lr{cfg.lr}"
    if cfg.lora_r is not None:
        name += f"-rank{cfg.lora_r}"
    out = _store(root, name, tcfg, identity)
    summary_file = out / "train_summary.json"
    with _one_maker(out):
        if not summary_file.exists():
            launch = srun_command(tcfg, train_overrides(cfg, data), out)
            if launch:
                log.info("training on %s ranks: %s", tcfg.trainer.devices, " ".join(launch))
                subprocess.run(launch, check=True)
            else:
                run_training(tcfg, out)
        else:
            log.info("reusing model %s", out)
    summary = json.loads(summary_file.read_text())
    return summary["outputs"]["merged"], summary


def srun_command(tcfg: DictConfig, overrides: list[str], out: Path) -> list[str] | None:
    """How a job on a SLURM allocation trains on several devices: as a job step with one task
    per device (``srun``), which is what Lightning's SLURM environment requires (ntasks per node
    = devices). The job itself runs as one task, so its data and evaluation steps run once; None
    when no step is needed (not on SLURM, one device, or already one task per device)."""
    devices = tcfg.trainer.devices if isinstance(tcfg.trainer.devices, int) else 1
    nodes = int(tcfg.trainer.num_nodes)
    if "SLURM_JOB_ID" not in os.environ or devices * nodes <= 1:
        return None
    if int(os.environ.get("SLURM_NTASKS", "1")) == devices * nodes:
        return None
    return [
        "srun",
        f"--nodes={nodes}",
        f"--ntasks-per-node={devices}",
        "--kill-on-bad-exit=1",
        sys.executable,
        "-m",
        "asktoact.cli.train",
        *overrides,
        f"hydra.run.dir={out}",
    ]


def model_identity(model_path: str) -> str:
    """The model's store entry: a trained model's ``merged/`` (or a base init's ``model/``) is
    named by the folder holding it, whose name carries the settings and their hash; any other
    path (a converted or downloaded base model) by its own name."""
    path = Path(model_path)
    return path.parent.name if path.name in ("merged", "adapter", "model") else path.name


def rl_model(cfg: DictConfig, sft: str, data: Path) -> tuple[str, dict[str, Any]]:
    """The SFT model after the RL stage (stored and reused like trained models)."""
    from asktoact.rl.run import run_rl

    rcfg = compose("rl", rl_overrides(cfg, sft, data))
    identity = resolved(rcfg, (*_WHERE, "sft.path", "data.path"))
    identity |= {"sft": model_identity(sft), "dataset": data.name}
    root = Path(cfg.model_root) / cfg.scale_name
    out = _store(root, f"{identity['sft']}-irm", rcfg, identity)
    with _one_maker(out):
        if not (out / "rl_summary.json").exists():
            run_rl(rcfg, out)
        else:
            log.info("reusing model %s", out)
    summary = json.loads((out / "rl_summary.json").read_text())
    return summary["outputs"]["merged"], summary


def base_model(cfg: DictConfig, root: Path) -> str:
    """The untrained model: a real model's hub id or path, or the tiny model's random init."""
    from asktoact.train.models import model_source

    mcfg = compose("train", [f"model={cfg.model_name}", f"seed={cfg.seed}"])
    if not mcfg.model.tiny:
        return model_source(mcfg.model, cfg.cache_dir)
    identity = resolved(mcfg.model) | {"seed": cfg.seed}
    out = _store(root, f"{cfg.model_name}-base-s{cfg.seed}", mcfg, identity) / "model"
    with _one_maker(out.parent):  # not out itself: atomic_dir replaces that folder whole
        if not (out / "model.safetensors").exists():
            from asktoact.train.models import load_model, load_tokenizer

            tok = load_tokenizer(mcfg.model, cfg.cache_dir)
            with atomic_dir(out) as tmp:
                load_model(mcfg.model, tok, cfg.seed).save_pretrained(tmp)
                tok.save_pretrained(tmp)
    return str(out)


def evaluation_store(cfg: DictConfig, model_path: str | None, data: Path):
    """The evaluate step's config and its store entry, keyed by what was evaluated — the model's
    store entry (or API model), the test split's content, every evaluation setting (simulator,
    judge, reward table) and the persona set — so two rows of two experiments that evaluate the
    same model on the same queries share one evaluation, and nothing else does."""
    ecfg = compose("evaluate", eval_overrides(cfg, model_path, data))
    identity = resolved(ecfg, (*_WHERE, "agent.path", "data.path"))
    identity["model"] = model_identity(model_path) if model_path else cfg.agent_model
    split = resolve_dataset_dir(data).parent / f"{ecfg.data.split}.jsonl"
    identity["queries"] = hashlib.sha256(split.read_bytes()).hexdigest()[:16]
    # a reworded persona or a changed rule for counting or matching questions evaluates anew
    identity["protocol"] = protocol.fingerprint()
    name = f"{identity['model']}-{ecfg.data.split}"
    return ecfg, _store(Path(cfg.eval_root) / cfg.scale_name, name, ecfg, identity)


def evaluation(cfg: DictConfig, model_path: str | None, data: Path) -> dict[str, Any]:
    """Evaluate (or reuse the stored evaluation, :func:`evaluation_store`)."""
    from asktoact.eval.run import run_evaluation

    ecfg, out = evaluation_store(cfg, model_path, data)
    with _one_maker(out):
        if (out / "metrics.json").exists():
            log.info("reusing evaluation %s", out)
            return json.loads((out / "metrics.json").read_text())
        return run_evaluation(ecfg, out)


def run_job(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    data = dataset(cfg)
    eval_data = dataset(cfg, ood=True) if cfg.eval_set == "ood" else data
    path, summary = (None, {}) if cfg.agent_model else model(cfg, data)
    if cfg.irm:
        if cfg.adapter_name == "none" or cfg.agent_model:
            raise ValueError("irm=true needs a trained model (adapter_name lora|dora|full)")
        path, summary["rl"] = rl_model(cfg, path, data)
    result = evaluation(cfg, path, eval_data)
    labels = labels_of(cfg) | {"scale": cfg.scale_name}
    labels["eval_source"] = eval_source(cfg)
    labels["agent_model"] = cfg.agent_model
    labels["pretrained"] = bool(cfg.agent_model) or not model_config(cfg).tiny
    if cfg.agent_model:
        labels["adapter_name"] = f"api:{cfg.agent_model}"
    out = {
        "labels": labels,
        **result,
        "training": {k: summary.get(k) for k in ("global_step", "metrics", "encoding", "rl")},
    }
    write_json(run_dir / "metrics.json", out)
    return out
