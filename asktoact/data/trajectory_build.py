"""Writes a trajectory dataset: what ``asktoact-generate`` does for a source whose loader
``produces = "trajectories"`` (``data=trajectories``, ``data=tl_format``) instead of the
clarification pipeline.

Outputs, like the clarification pipeline's: ``train.jsonl`` / ``test.jsonl``, ``dataset/`` (a
DatasetDict that training, RL and evaluation load), ``rejects.jsonl`` (rows with no trajectory,
with the reason) and, last, ``manifest.json`` (``"kind": "trajectories"``, counts per split,
calls, error turns per kind and per category). The split is seeded; reruns are byte-identical.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from asktoact import faults
from asktoact.data.sources.base import Rejects
from asktoact.data.splits import split_order
from asktoact.io import atomic_dir, remove_leftovers, write_json, write_jsonl

log = logging.getLogger(__name__)

KIND = "trajectories"


def features():
    from datasets import Features, List, Value

    text = Value("string")
    return Features(
        {
            "id": text,
            "source": text,
            "domain": text,
            "messages": List({"role": text, "content": text}),
            "tools": text,
            "calls": text,
            "errors": text,
            "n_calls": Value("int32"),
            "n_errors": Value("int32"),
        }
    )


def build_trajectories(cfg: DictConfig, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    rejects = Rejects()
    rows = instantiate(cfg.data, _partial_=True, _convert_="all")(rejects=rejects)
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"data source {cfg.data.name!r} yields duplicate trajectory ids")
    order = sorted(ids)
    random.Random(int(cfg.seed)).shuffle(order)
    sizes = list(cfg.split_sizes) if cfg.split_sizes is not None else None
    train_ids, test_ids = split_order(order, float(cfg.test_size), sizes)
    splits = {
        "train": [r for r in rows if r["id"] in train_ids],
        "test": [r for r in rows if r["id"] in test_ids],
    }
    _write(out, splits, rejects)
    manifest = {
        "kind": KIND,
        "source": cfg.data.name,
        "seed": int(cfg.seed),
        "counts": {"loaded": len(rows) + len(rejects.rows), "rejected": len(rejects.rows)}
        | {name: len(split) for name, split in splits.items()}
        | {"splits_unused": len(rows) - len(train_ids) - len(test_ids)},
        "rejects_by_reason": rejects.counts(),
        "splits": {name: summary(split) for name, split in splits.items()},
    }
    write_json(out / "manifest.json", manifest)
    return manifest


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Calls and error turns of a split, per kind and per category."""
    errors = [e for r in rows for e in json.loads(r["errors"])]
    calls = sum(r["n_calls"] for r in rows)
    return {
        "trajectories": len(rows),
        "gold_calls": calls,
        "error_turns": len(errors),
        "error_turn_share": round(len(errors) / max(len(errors) + calls, 1), 4),
        "with_errors": sum(r["n_errors"] > 0 for r in rows),
        "by_kind": dict(sorted(Counter(e["kind"] for e in errors).items())),
        "by_category": dict(sorted(Counter(e["category"] for e in errors).items())),
    }


def _write(out: Path, splits: dict[str, list[dict]], rejects: Rejects) -> None:
    """Every file but the manifest (written last: a folder with a manifest is complete)."""
    import datasets

    (out / "manifest.json").unlink(missing_ok=True)
    remove_leftovers(out)
    for name, rows in splits.items():
        write_jsonl(out / f"{name}.jsonl", rows)
    faults.reached("generate.files")
    rejects.write(out / "rejects.jsonl")
    feats = features()
    dd = datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict(
                {k: [r[k] for r in rows] for k in feats}, features=feats
            )
            for name, rows in splits.items()
            if rows
        }
    )
    with atomic_dir(out / "dataset") as tmp:
        dd.save_to_disk(str(tmp))


def is_trajectory_source(data_cfg: DictConfig) -> bool:
    from hydra.utils import get_method

    return getattr(get_method(data_cfg._target_), "produces", None) == KIND
