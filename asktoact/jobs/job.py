"""One experiment job (one table row), and the shared stores it uses (``asktoact-job``).

A job is composed once (``conf/job.yaml``): its steps are nodes of that config — ``generate``,
``train``, ``evaluate``, ``rl`` and the out-of-domain sets ``ood`` / ``ood_fallback``, the same
nodes ``asktoact-generate``/``-train``/``-evaluate``/``-rl`` compose alone — and the job hands
each step its node, filled in with what only the job knows (the dataset it built, the model it
trained). Datasets and trained models live in shared stores keyed by a hash of the resolved
node that builds them (saved beside them as ``config.yaml``): a job whose dataset or model already
exists reuses it, and a changed setting always builds anew. The job writes ``metrics.json``
labelled with its experiment and row.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from asktoact.eval import protocol
from asktoact.identity import config_hash, identity_of
from asktoact.io import atomic_dir, resolve_dataset_dir, write_json, write_text
from asktoact.train.fit import length_fit
from asktoact.weights import BASE, MERGED, entry_name

log = logging.getLogger(__name__)

# The step nodes of a job's config (conf/job.yaml), each with the paths its store key names by
# what they hold (the dataset's or model's own store entry), not by where they are.
STEPS = {
    "generate": (),
    "ood": (),
    "ood_fallback": (),
    "train": ("data.path",),
    "evaluate": ("agent.path", "data.path"),
    "rl": ("sft.path", "data.path"),
    "bfcl": ("agent.path",),
}


def step_identity(step: str, node: DictConfig) -> dict[str, Any]:
    """What the store key of a step's artifact covers: the step node, resolved, less the fields
    its schemas mark ``identity=False`` (asktoact/identity.py) and the paths named by content."""
    return identity_of(node, *STEPS[step])


def is_local(agent: DictConfig) -> bool:
    """Whether the job's agent is a local model, which the job trains (or takes as it is)."""
    return agent.name == "local"


def api_model(agent: DictConfig) -> str | None:
    """The model an API agent asks (its litellm id); None for a local model or a policy."""
    return None if is_local(agent) else agent.get("client", {}).get("model")


def trains(cfg: DictConfig) -> bool:
    """Whether the job trains a model: a local one with an adapter (``none``: the base as is)."""
    return is_local(cfg.agent) and cfg.adapter.name != "none"


def labels_of(cfg: DictConfig) -> dict[str, Any]:
    """What identifies the job's row in a table: an experiment's ``row_key`` may name any of
    these (experiment, model, adapter, masking, ratio, irm, eval set, seed, lr, rank, variant)."""
    peft = cfg.adapter.peft
    agent_model = api_model(cfg.agent)
    return {
        "experiment_name": cfg.experiment_name,
        "model_name": cfg.model.name,
        "adapter_name": f"api:{agent_model}"
        if agent_model
        else (cfg.adapter.name if is_local(cfg.agent) else f"policy:{cfg.agent.name}"),
        "masking_name": cfg.masking.name,
        "ratio": cfg.ratio,
        "irm": cfg.irm,
        "eval_set": cfg.eval_set,
        "eval_split": cfg.evaluate.data.split,
        "seed": cfg.seed,
        "source": cfg.generate.data.name,
        "lr": cfg.adapter.lr,
        "lora_r": peft.r if peft else None,
        "variant": cfg.variant,
        "agent_model": agent_model,
        "prompting": f"+{cfg.shots}-shot" if cfg.shots else "",
        "train_steps": cfg.train_steps,
    }


def ood_node(cfg: DictConfig) -> str:
    """``ood`` when the scale's out-of-domain data (TaskBench) is on disk or comes from the hub,
    else ``ood_fallback`` (the held-out demo domains)."""
    from asktoact.data.sources import available

    return "ood" if available(cfg.ood.data) else "ood_fallback"


def eval_source(cfg: DictConfig) -> str:
    """What the job's evaluation set is, in words (for its labels and tables)."""
    if cfg.eval_set != "ood":
        return f"{cfg.generate.data.name} (in-domain test split)"
    if ood_node(cfg) == "ood":
        return cfg.ood.data.name
    return f"demo domains held out of training ({', '.join(cfg.ood_domains)})"


def _store_entry(root: Path, readable: str, data: dict[str, Any]) -> Path:
    """``<root>/<readable>-<hash>``: where the artifact that ``data`` makes is kept."""
    return root / f"{readable}-{config_hash(data)}"


def _store(root: Path, readable: str, data: dict[str, Any]) -> Path:
    """The store entry (:func:`_store_entry`), with the resolved config written beside it."""
    out = _store_entry(root, readable, data)
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


def _make_once(entry: Path, done: str, kind: str, make) -> None:
    """Make the store ``entry`` (``make()``) unless its ``done`` file says it is complete."""
    with _one_maker(entry):
        if (entry / done).exists():
            log.info("reusing %s %s", kind, entry)
        else:
            log.info("building %s %s", kind, entry)
            make()


def dataset(cfg: DictConfig, ood: bool = False) -> Path:
    """The job's training dataset (its ``generate`` node), or its out-of-domain set."""
    node, root, name = _dataset_node(cfg, ood)
    return stored_dataset(node, root, name)


def _dataset_node(cfg: DictConfig, ood: bool) -> tuple[DictConfig, Path, str]:
    node = cfg[ood_node(cfg)] if ood else cfg.generate
    name = f"{'ood' if ood else node.data.name}-r{node.augmentation.ratio}-s{node.seed}"
    return node, Path(cfg.data_root) / cfg.scale_name, name


def built_dataset(cfg: DictConfig) -> Path | None:
    """The job's training dataset if the store holds it already (nothing is built)."""
    node, root, name = _dataset_node(cfg, ood=False)
    out = _store_entry(root, name, step_identity("generate", node))
    return out if (out / "manifest.json").exists() else None


def stored_dataset(gcfg: DictConfig, root: Path, name: str) -> Path:
    """The dataset the generate node ``gcfg`` builds, from the store (built there first if it
    is not)."""
    from asktoact.data.build import build

    out = _store(root, name, step_identity("generate", gcfg))
    _make_once(out, "manifest.json", "dataset", lambda: build(gcfg, out))
    return out


def model(cfg: DictConfig, data: Path) -> tuple[str, dict[str, Any]]:
    """Path of the model to evaluate: the untrained base, or a trained (and reused) one."""
    root = Path(cfg.model_root) / cfg.scale_name
    if cfg.adapter.name == "none":
        return base_model(cfg, root), {}
    tcfg = cfg.train
    tcfg.data.path = str(data)
    summary: dict[str, Any] = {"length_fit": length_fit(tcfg, data)}  # before any training
    identity = step_identity("train", tcfg)
    identity["dataset"] = data.name  # the dataset's own hash, wherever the store lives
    name = f"{cfg.model.name}-{cfg.adapter.name}-{cfg.masking.name}-r{cfg.ratio}-s{cfg.seed}"
    out = _store(root, name, identity)
    _make_once(out, "train_summary.json", "model", lambda: _train(tcfg, out))
    summary |= json.loads((out / "train_summary.json").read_text())
    return summary["outputs"][MERGED], summary


def _train(tcfg: DictConfig, out: Path) -> None:
    """The train step on its node: in this process, or as a SLURM job step of one task per
    device (:func:`srun_command`), which reads the node from ``out/train.yaml``."""
    from asktoact.train.run import run_training

    launch = srun_command(tcfg, out)
    if launch:
        log.info("training on %s ranks: %s", tcfg.trainer.devices, " ".join(launch))
        subprocess.run(launch, check=True)
    else:
        run_training(tcfg, out)


def srun_command(tcfg: DictConfig, out: Path) -> list[str] | None:
    """How a job on a SLURM allocation trains on several devices: as a job step with one task
    per device (``srun``), which is what Lightning's SLURM environment requires (ntasks per node
    = devices), each task running the train node saved as ``out/train.yaml``. The job itself
    runs as one task, so its data and evaluation steps run once; None when no step is needed
    (not on SLURM, one device, or already one task per device)."""
    devices = tcfg.trainer.devices if isinstance(tcfg.trainer.devices, int) else 1
    nodes = int(tcfg.trainer.num_nodes)
    if "SLURM_JOB_ID" not in os.environ or devices * nodes <= 1:
        return None
    if int(os.environ.get("SLURM_NTASKS", "1")) == devices * nodes:
        return None
    step = out / "train.yaml"
    write_text(step, OmegaConf.to_yaml(tcfg, resolve=True))
    return [
        "srun",
        f"--nodes={nodes}",
        f"--ntasks-per-node={devices}",
        "--kill-on-bad-exit=1",
        sys.executable,
        "-m",
        "asktoact.train.run",
        str(step),
        str(out),
    ]


def rl_model(cfg: DictConfig, sft: str, data: Path) -> tuple[str, dict[str, Any]]:
    """The SFT model after the RL stage (stored and reused like trained models)."""
    from asktoact.rl.run import run_rl

    rcfg = cfg.rl
    rcfg.sft.path, rcfg.data.path = sft, str(data)
    identity = step_identity("rl", rcfg)
    identity |= {"sft": entry_name(sft), "dataset": data.name}
    root = Path(cfg.model_root) / cfg.scale_name
    out = _store(root, f"{identity['sft']}-irm", identity)
    _make_once(out, "rl_summary.json", "model", lambda: run_rl(rcfg, out))
    summary = json.loads((out / "rl_summary.json").read_text())
    return summary["outputs"][MERGED], summary


def base_model(cfg: DictConfig, root: Path) -> str:
    """The untrained model: a real model's hub id or path, or the tiny model's random init."""
    from asktoact.train.models import load_model, load_tokenizer, model_source

    if not cfg.model.tiny:
        return model_source(cfg.model, cfg.cache_dir)
    identity = identity_of(cfg.model) | {"seed": cfg.seed}
    out = _store(root, f"{cfg.model.name}-base-s{cfg.seed}", identity) / BASE

    def init() -> None:
        tok = load_tokenizer(cfg.model, cfg.cache_dir)
        with atomic_dir(out) as tmp:
            load_model(cfg.model, tok, cfg.seed).save_pretrained(tmp)
            tok.save_pretrained(tmp)

    # the entry, not out itself: atomic_dir replaces that folder whole
    _make_once(out.parent, f"{BASE}/model.safetensors", "model", init)
    return str(out)


def evaluation_store(cfg: DictConfig, model_path: str | None, data: Path):
    """The evaluate node and its store entry, keyed by what was evaluated — the model's store
    entry (or API model), the test split's content, every evaluation setting (simulator, judge,
    reward table) and the persona set — so two rows of two experiments that evaluate the same
    model on the same queries share one evaluation, and nothing else does."""
    ecfg = cfg.evaluate
    if model_path:
        ecfg.agent.path = model_path
    ecfg.data.path = str(data)
    identity = step_identity("evaluate", ecfg)
    identity["model"] = entry_name(model_path) if model_path else api_model(cfg.agent)
    split = resolve_dataset_dir(data).parent / f"{ecfg.data.split}.jsonl"
    identity["queries"] = hashlib.sha256(split.read_bytes()).hexdigest()[:16]
    # a reworded persona or a changed rule for counting or matching questions evaluates anew
    identity["protocol"] = protocol.fingerprint()
    name = f"{identity['model'] or ecfg.agent.name}-{ecfg.data.split}"
    return ecfg, _store(Path(cfg.eval_root) / cfg.scale_name, name, identity)


def evaluation(cfg: DictConfig, model_path: str | None, data: Path) -> dict[str, Any]:
    """Evaluate (or reuse the stored evaluation, :func:`evaluation_store`)."""
    from asktoact.eval.run import run_evaluation

    ecfg, out = evaluation_store(cfg, model_path, data)
    with _one_maker(out):
        if (out / "metrics.json").exists():
            log.info("reusing evaluation %s", out)
            return json.loads((out / "metrics.json").read_text())
        return run_evaluation(ecfg, out)


def bfcl_scores(cfg: DictConfig, model_path: str, data: Path) -> dict[str, Any]:
    """BFCL's own evaluator over the row's model (or the stored run of the same model and
    settings); entries the model was trained on are never scored."""
    from asktoact.bfcl.run import run_bfcl
    from asktoact.eval.task import task_of

    node = cfg.bfcl
    node.agent.path = model_path
    node.protocol = node.protocol or task_of(data).serve_protocol
    identity = step_identity("bfcl", node) | {"model": entry_name(model_path)}
    if identity["protocol"] == "dialogue":  # stores made before protocols had names hold it
        del identity["protocol"]
    out = _store(Path(cfg.eval_root) / cfg.scale_name, f"bfcl-{identity['model']}", identity)
    with _one_maker(out):
        stored = json.loads((out / "bfcl.json").read_text()) if (out / "bfcl.json").exists() else {}
        if set(node.modes) <= set(stored.get("outcomes", {})):
            log.info("reusing BFCL scores %s", out)
            return stored
        return run_bfcl(node, out, exclude=trained_bfcl_ids(data))


def trained_bfcl_ids(data: Path) -> set[str]:
    """BFCL's ids of the entries in the training split (a training set built from BFCL rows)."""
    from asktoact.data.sources.bfcl import ID_PREFIX

    split = resolve_dataset_dir(data).parent / "train.jsonl"
    rows = (json.loads(line) for line in split.read_text(encoding="utf-8").splitlines() if line)
    return {r["id"][len(ID_PREFIX) :] for r in rows if r["id"].startswith(ID_PREFIX)}


def skip_reason(cfg: DictConfig) -> str | None:
    """Why the job cannot run here: an API agent whose key or endpoint is not configured (a
    baseline row of a paper table); None for everything else."""
    from asktoact.llm.client import unconfigured

    return None if api_model(cfg.agent) is None else unconfigured(cfg.agent.client)


def run_job(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    labels = labels_of(cfg) | {"scale": cfg.scale_name, "eval_source": eval_source(cfg)}
    labels["pretrained"] = not is_local(cfg.agent) or not cfg.model.tiny
    if reason := skip_reason(cfg):  # the row stays in its table, marked, instead of failing
        log.warning("%s skipped: %s", cfg.run_name, reason)
        out = {"labels": labels, "skipped": reason, "metrics": {}}
        write_json(run_dir / "metrics.json", out)
        return out
    data = dataset(cfg)
    eval_data = dataset(cfg, ood=True) if cfg.eval_set == "ood" else data
    if cfg.evaluate.demonstrations.k and not cfg.evaluate.demonstrations.path:
        cfg.evaluate.demonstrations.path = str(data)  # k-shot turns from the row's training data
    path, summary = model(cfg, data) if is_local(cfg.agent) else (None, {})
    if cfg.irm:
        if not trains(cfg):
            raise ValueError("irm=true needs a trained model (adapter=lora|dora|full)")
        path, summary["rl"] = rl_model(cfg, path, data)
    result = evaluation(cfg, path, eval_data)
    if cfg.bfcl.enabled and path:
        result["bfcl"] = bfcl_scores(cfg, path, data)
    out = {
        "labels": labels,
        **result,
        "training": {
            k: summary.get(k) for k in ("global_step", "metrics", "encoding", "length_fit", "rl")
        },
    }
    write_json(run_dir / "metrics.json", out)
    return out
