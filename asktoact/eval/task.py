"""The kind of data a run learns from and is scored on: one :class:`Task` per kind.

A dataset's manifest says its ``kind``; :func:`task_of` reads it once, and every stage asks that
Task instead of testing the kind itself: how a training row becomes the chat a model learns
(train), the prompts the RL stage rolls out, the evaluation loop and its metrics, and their
bootstrap intervals and paired differences (evaluation, reports). The intervals and differences
are written once, here, over each task's per-case columns.

* ``dialogues`` — AskToAct's clarification dialogues against the persona simulator
  (:mod:`asktoact.eval.dialogues`);
* ``trajectories`` — TL-Training's next call on tool-use trajectories
  (:mod:`asktoact.eval.tooluse`).

A new task is a module with a :class:`Task` subclass and its entry in :data:`TASKS` (or its
dotted path as the manifest's kind).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from asktoact.data.trajectory_build import KIND as TRAJECTORIES
from asktoact.errors import ConfigError
from asktoact.eval.metrics import difference, percentiles, resamples

# manifest kind -> the Task class (dotted paths: the tasks import this module, not it them)
TASKS = {
    "dialogues": "asktoact.eval.dialogues.DialogueTask",
    TRAJECTORIES: "asktoact.eval.tooluse.ToolUseTask",
}
DEFAULT_KIND = "dialogues"  # manifests written before tasks had kinds hold dialogues


def task_named(kind: str | None) -> Task:
    """The Task of ``kind`` (a key of :data:`TASKS`, or a dotted path to a Task class)."""
    from hydra.utils import get_class

    kind = kind or DEFAULT_KIND
    path = TASKS.get(kind, kind)
    try:
        cls = get_class(path)
    except Exception:
        raise ConfigError(
            f"task {kind!r}: not one of {', '.join(sorted(TASKS))} or a dotted path to a Task"
        ) from None
    return cls()


def task_of(dataset: str | Path | None) -> Task:
    """The Task of a generate output folder, from its ``manifest.json`` (a folder without one,
    or no folder: dialogues)."""
    manifest = Path(dataset) / "manifest.json" if dataset else None
    kind = json.loads(manifest.read_text()).get("kind") if manifest and manifest.exists() else None
    return task_named(kind)


def task_of_result(result: dict[str, Any]) -> Task:
    """The Task whose evaluation wrote ``result`` (a metrics.json): its ``task``; before results
    named one, tool-use results said ``"kind": "tool_use"`` and dialogue results nothing."""
    legacy = TRAJECTORIES if result.get("kind") == "tool_use" else None
    return task_named(result.get("task") or legacy)


class Task:
    """What one kind of data is to training, RL, evaluation and the reports."""

    kind: str = ""
    # how a server puts requests to a model trained on this kind (asktoact.serve.app.PROTOCOLS)
    serve_protocol: str = ""
    # the metrics that tell output format from behaviour, and the tables' sentence on them
    behaviour: tuple[str, ...] = ()
    behaviour_legend: str = ""

    # -- what the model sees -------------------------------------------------------------------
    def training_chat(self, system_role: bool, system_prompt: bool) -> Callable | None:
        """How a training row's messages become the chat the model learns (None: as they are)."""
        raise NotImplementedError

    def rl_prompts(self, rows: list[dict[str, Any]], system_role: bool) -> list[dict[str, Any]]:
        """The RL stage's prompts: ``prompt`` (a chat), ``gold``, ``tools``, ``kind``."""
        raise NotImplementedError

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, cfg, run_dir: Path) -> dict[str, Any]:
        """The evaluation loop on the evaluate node ``cfg``; writes and returns metrics.json."""
        raise NotImplementedError

    def columns(self, outcomes: list) -> np.ndarray:
        """(N, columns): the per-case numbers every metric is a function of."""
        raise NotImplementedError

    def metrics(self, sums: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """The metrics from column sums (last axis), for one sample or a batch of them."""
        raise NotImplementedError

    def outcome_id(self, outcome) -> str:
        raise NotImplementedError

    def unmeasured(self, outcomes: list) -> set[str]:
        """Metrics these outcomes cannot give (written before the metric was measured): left out
        of aggregates, intervals and differences rather than reported as 0."""
        return set()

    def outcomes(self, stored: list[dict[str, Any]]) -> list:
        """The per-case outcomes a metrics.json keeps (``outcomes``), as :meth:`columns` reads
        them."""
        return stored

    # -- written once for every task -----------------------------------------------------------
    def aggregate(self, outcomes: list) -> dict[str, float]:
        if not outcomes:
            return {}
        values = self.metrics(self.columns(outcomes).sum(axis=0), len(outcomes))
        skip = self.unmeasured(outcomes)
        return {"N": len(outcomes), **{k: float(v) for k, v in values.items() if k not in skip}}

    def intervals(
        self, outcomes: list, n_boot: int = 1000, seed: int = 0, level: float = 0.95
    ) -> dict[str, list[float]]:
        """Percentile bootstrap interval of every metric, resampling cases (seeded)."""
        cols, n = self.columns(outcomes), len(outcomes)
        if n == 0:
            return {}
        samples = self.metrics(cols[resamples(n, n_boot, seed)].sum(axis=1), n)
        skip = self.unmeasured(outcomes)
        return {
            k: [float(x) for x in percentiles(v, level)]
            for k, v in samples.items()
            if k not in skip
        }

    def paired_difference(
        self, a: list, b: list, n_boot: int = 1000, seed: int = 0, level: float = 0.95
    ) -> dict[str, Any]:
        """Metric(a) − metric(b) on the ``n`` cases both evaluated, with a paired bootstrap
        interval (the same resampled cases on both sides); ``significant``: it excludes 0."""
        mine = {self.outcome_id(o): o for o in a}
        theirs = {self.outcome_id(o): o for o in b}
        ids = sorted(set(mine) & set(theirs))
        if not ids:
            return {"n": 0, "metrics": {}}
        ca = self.columns([mine[i] for i in ids])
        cb = self.columns([theirs[i] for i in ids])
        n = len(ids)
        whole = _sub(self.metrics(ca.sum(0), n), self.metrics(cb.sum(0), n))
        idx = resamples(n, n_boot, seed)
        boot = _sub(self.metrics(ca[idx].sum(axis=1), n), self.metrics(cb[idx].sum(axis=1), n))
        skip = self.unmeasured(a) | self.unmeasured(b)
        return {
            "n": n,
            "metrics": {
                k: difference(float(whole[k]), v, level) for k, v in boot.items() if k not in skip
            },
        }


def _sub(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: x[k] - y[k] for k in x}
