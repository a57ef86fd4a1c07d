"""``run_rl(cfg, run_dir)``: TL-Training's reinforcement stage (§3.3, §4.4) as a plain function.

From an SFT model (a train run's ``merged/``, or a base model plus its ``adapter/``), the policy
rolls out the ``[SUMMARY]`` turn of each training dialogue given the dialogue up to it (the step
where the tool calls are produced); IRM (:mod:`asktoact.eval.irm`, ``conf/reward/``'s
table) scores each rollout against
the gold calls and the candidate tools; TRL optimises the policy with a KL penalty (``rl.beta``)
towards the SFT model, which stays as the reference. TRL provides the algorithm: GRPO (default)
or RLOO, both critic-free policy-gradient methods over groups of rollouts per prompt — TRL has no
PPO trainer any more, so the paper's critic (and its learning rate) has no counterpart here.

LoRA (a fresh adapter on the SFT weights; the reference is the same model with the adapter off)
or full updates; seeded; resumable from the run's last checkpoint; rewards, KL and per-category
counts logged (CSV, or W&B); the result saved as ``adapter/`` and ``merged/`` like
``asktoact-train``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig

from asktoact.configurable import RunConfig
from asktoact.configurable import config_field as F
from asktoact.eval.irm import CATEGORIES, irm_call_reward, irm_reward
from asktoact.eval.task import task_of
from asktoact.hardware import bf16_supported
from asktoact.identity import claim, dataset_fingerprint, folder_fingerprint, identity_of
from asktoact.io import resolve_dataset_dir, write_csv, write_json
from asktoact.tools.calls import parse_call
from asktoact.tracking import wandb_offline
from asktoact.train.settings import LoraSpec
from asktoact.weights import load_causal_lm, save_outputs

log = logging.getLogger(__name__)


def _report_to(choice: str) -> list[str]:
    """TRL's report_to; W&B offline without a key, as the training loggers are (tracking.py)."""
    if choice != "wandb":
        return []
    if wandb_offline(None):
        os.environ.setdefault("WANDB_MODE", "offline")
    return ["wandb"]


def rl_prompts(data_path: str | Path, system_role: bool, limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` rollout prompts of the training split, as the dataset's task makes
    them (``eval/task.py``): a clean dialogue's final ``[SUMMARY]`` turn, or a trajectory's
    next call, each with its gold calls and candidate tools for the reward."""
    import datasets

    rows = datasets.load_from_disk(str(resolve_dataset_dir(data_path)))["train"].to_list()
    return task_of(data_path).rl_prompts(rows, system_role)[: limit or None]


class IRM:
    """The reward function TRL calls: IRM per completion; logs per-category counts."""

    __name__ = "irm"  # TRL names reward columns after the function

    def __init__(self, rewards: dict[str, float]):
        self.rewards, self.counts = rewards, Counter()

    def __call__(
        self, prompts, completions, gold, tools, kind, log_metric=None, **_: Any
    ) -> list[float]:
        out, seen = [], Counter()
        for completion, g, t, k in zip(completions, gold, tools, kind, strict=True):
            text = completion[-1]["content"] if isinstance(completion, list) else completion
            if k == "call":  # a trajectory's next call, name\n{json}
                call = parse_call(text)
                reward, category = irm_call_reward(call, json.loads(g), json.loads(t), self.rewards)
            else:
                reward, category = irm_reward(text, json.loads(g), json.loads(t), self.rewards)
            seen[category] += 1
            out.append(reward)
        self.counts.update(seen)
        if log_metric is not None:  # TRL averages these over each logging step
            for category in CATEGORIES:
                log_metric(f"irm/{category}", seen[category] / max(len(out), 1))
        return out


def _policy(cfg: DictConfig):
    """The SFT model to start from, and the peft config of the RL adapter (None: full)."""
    from hydra.utils import instantiate

    # the SFT adapter folded in: RL starts from (and is anchored to) its weights
    model, tok = load_causal_lm(cfg.sft.path, cfg.sft.adapter, merge=True)
    peft = instantiate(cfg.rl.peft, _convert_="all") if cfg.rl.peft is not None else None
    return model, tok, peft


def run_rl(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    import datasets
    import torch

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    prompts = rl_prompts(cfg.data.path, cfg.sft.system_role, cfg.data.limit)
    if not prompts:
        raise ValueError(f"data.path={cfg.data.path}: no clean training dialogue to roll out")
    model, tok, peft = _policy(cfg)
    reward = IRM(dict(cfg.reward.irm))
    trainer = _trainer(cfg, run_dir, model, tok, peft, reward, datasets.Dataset.from_list(prompts))
    resume = _resumable(cfg, run_dir)
    trainer.train(resume_from_checkpoint=resume or None)
    history = [h for h in trainer.state.log_history if "reward" in h]
    _write_log(run_dir / "rl_log.csv", history)
    summary = {
        "run_dir": str(run_dir),
        "prompts": len(prompts),
        "algorithm": cfg.rl.algorithm,
        "global_step": trainer.state.global_step,
        "resumed": resume,
        "reward_first": history[0]["reward"] if history else None,
        "reward_last": history[-1]["reward"] if history else None,
        "categories": dict(reward.counts),
        "outputs": save_outputs(trainer.model, tok, run_dir),
    }
    write_json(run_dir / "rl_summary.json", summary)
    return summary


def _resumable(cfg: DictConfig, run_dir: Path) -> bool:
    """Whether the run continues the checkpoints in ``run_dir``: resuming is on and they were
    made with these settings (less those marked not to matter: where, how logged, how long),
    this SFT model and these prompts. Other settings stop the run (``identity.claim``);
    starting over removes the old checkpoints, so TRL cannot pick one of them up."""
    import shutil

    folder = run_dir / "checkpoints"
    identity = identity_of(cfg, resuming=True)
    identity["sft_content"] = folder_fingerprint(cfg.sft.path)
    if cfg.data.path:
        identity["dataset_content"] = dataset_fingerprint(resolve_dataset_dir(cfg.data.path))
    found = any(folder.glob("checkpoint-*"))
    if claim(run_dir / "checkpoints.config.json", identity, cfg.resume, "checkpoints", found):
        return True
    shutil.rmtree(folder, ignore_errors=True)
    return False


def _trainer(cfg, run_dir, model, tok, peft, reward, dataset):
    import trl

    r = cfg.rl
    common = {
        "output_dir": str(run_dir / "checkpoints"),
        "learning_rate": r.lr,
        "beta": r.beta,
        "per_device_train_batch_size": r.batch_size,
        "num_generations": r.num_generations,
        "max_completion_length": r.max_completion_length,
        "temperature": r.temperature,
        "num_train_epochs": r.epochs,
        "max_steps": r.max_steps,
        "seed": cfg.seed,
        "logging_steps": 1,
        "save_steps": r.save_steps,
        "report_to": _report_to(cfg.report_to),
        "use_cpu": not torch_cuda(),
        "bf16": bf16_supported(),  # bf16 autocast where the hardware has it, as training does
        "disable_tqdm": False,
    }
    config_cls, trainer_cls = {
        "grpo": (trl.GRPOConfig, trl.GRPOTrainer),
        "rloo": (trl.RLOOConfig, trl.RLOOTrainer),
    }[r.algorithm]
    return trainer_cls(
        model=model,
        reward_funcs=[reward],
        args=config_cls(**common),
        train_dataset=dataset,
        processing_class=tok,
        peft_config=peft,
    )


def torch_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _write_log(path: Path, history: list[dict[str, Any]]) -> None:
    write_csv(path, sorted({k for h in history for k in h}), history)


# -- settings (conf/rl.yaml, conf/rl/; validated by asktoact.config) -------------------------------
@dataclass
class RLAlgorithmConfig:
    """``conf/rl/``: the RL algorithm (TRL); its reward is ``conf/reward/``'s IRM table."""

    algorithm: str = F(choices=("grpo", "rloo"))
    lr: float = F(gt=0)
    beta: float = F(ge=0)  # KL penalty towards the SFT model
    batch_size: int = F(ge=1)
    num_generations: int = F(ge=2)  # rollouts per prompt (the group)
    max_completion_length: int = F(ge=1)
    temperature: float = F(gt=0)
    epochs: float = F(gt=0)
    max_steps: int = F(ge=-1, identity="resumable")
    save_steps: int = F(ge=1, identity=False)
    peft: Optional[LoraSpec] = None  # noqa: UP045 (None: full updates)


@dataclass
class SFTSource:
    # a train run's merged/ folder, or a base model with ``adapter`` (a job sets it)
    path: Optional[str] = F()  # noqa: UP045
    adapter: Optional[str] = F()  # noqa: UP045
    system_role: bool = F()


@dataclass
class RLDataConfig:
    path: Optional[str] = F()  # noqa: UP045 (a job sets it)
    limit: Optional[int] = F(ge=1)  # noqa: UP045


@dataclass
class RLConfig(RunConfig):
    rl: Any = MISSING
    reward: Any = MISSING
    sft: SFTSource = MISSING
    data: RLDataConfig = MISSING
    resume: bool = F(identity=False)
    report_to: str = F(
        choices=("csv", "wandb"), identity=False
    )  # not "logger": that name is a config group
