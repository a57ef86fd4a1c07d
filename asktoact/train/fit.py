"""How many of a dataset's dialogues fit a train node's ``data.max_length``.

The splits a train step encodes (its training rows, after ``data.limit``, and its validation
split) are encoded exactly as that step encodes them — the model's tokenizer and chat template,
the masking with its marker tokens, the system prompt — and counted: dialogues *cut* after their
last complete turn that fits (their final turn is lost: a dialogue's ``[SUMMARY]``, a
trajectory's answer) and dialogues *refused* (no complete turn fits, or nothing to train on).
Training reports the same counts afterwards (``encoding.truncated`` / ``refused``); counted here,
they are known before any training, so a job logs them, the dataset's manifest keeps them
(``length_fit``, one entry per tokenizer × settings) and the plan shows them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from asktoact.identity import config_hash, identity_of
from asktoact.io import resolve_dataset_dir, write_json

log = logging.getLogger(__name__)


def fit_identity(cfg: DictConfig) -> dict[str, Any]:
    """What the counts depend on: the model (its tokenizer and template), the masking (markers
    kept or dropped change lengths), the length, the row limit and the system prompt."""
    d = cfg.data
    return {
        "model": identity_of(cfg.model),
        "masking": identity_of(cfg.masking),
        "max_length": d.max_length,
        "limit": d.limit,
        "val_split": d.val_split,
        "system_prompt": d.system_prompt,
    }


def count_fit(cfg: DictConfig, data: Path) -> dict[str, Any]:
    """Encode the splits the train node ``cfg`` trains and validates on; count what does not fit."""
    import datasets

    from asktoact.train.datamodule import encode_split, training_rows
    from asktoact.train.models import eot_of, load_tokenizer
    from asktoact.train.run import chat_preparation
    from asktoact.vocab import add_marker_tokens

    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    masking = instantiate(cfg.masking)
    if masking.adds_marker_tokens:
        add_marker_tokens(tokenizer)
    dd = datasets.load_from_disk(str(resolve_dataset_dir(data)))
    splits = {"train": training_rows(dd["train"], cfg.data.limit)}
    if cfg.data.val_split and cfg.data.val_split in dd:
        splits[cfg.data.val_split] = dd[cfg.data.val_split]
    args = (tokenizer, masking, eot_of(cfg.model), cfg.data.max_length)
    counts = {}
    for name, rows in splits.items():
        encoded, refused = encode_split(rows, *args, name, chat_preparation(cfg, data))
        counts[name] = {
            "dialogues": len(rows),
            "cut": sum(r["turns_dropped"] > 0 for r in encoded),
            "refused": len(refused),
            "longest_kept": max((len(r["input_ids"]) for r in encoded), default=0),
        }
    return {
        "model": cfg.model.name,
        "masking": cfg.masking.name,
        "max_length": cfg.data.max_length,
        "splits": counts,
    }


def length_fit(cfg: DictConfig, data: str | Path) -> dict[str, Any]:
    """The counts for the train node ``cfg`` on the dataset ``data`` (a generate output folder):
    read from its manifest when counted before, else counted and added there."""
    from filelock import FileLock

    manifest_path = Path(data) / "manifest.json"
    key = config_hash(fit_identity(cfg))
    # the store entry's own lock (jobs/job.py): concurrent jobs add their entries one at a time
    with FileLock(Path(data) / ".lock"):
        manifest = json.loads(manifest_path.read_text())
        stored = manifest.setdefault("length_fit", {})
        if key not in stored:
            stored[key] = count_fit(cfg, Path(data))
            write_json(manifest_path, manifest)
    fit = stored[key]
    for split, c in fit["splits"].items():
        if c["cut"] or c["refused"]:
            log.warning(
                "%s: %d of %d %s dialogues do not fit max_length %d for %s (%d cut, their final "
                "turn lost; %d refused)",
                data,
                c["cut"] + c["refused"],
                c["dialogues"],
                split,
                fit["max_length"],
                fit["model"],
                c["cut"],
                c["refused"],
            )
    return fit


def describe(fit: dict[str, Any]) -> str:
    """One line of the counts, as the plan and reports show them."""
    splits = sorted(fit["splits"].items(), key=lambda kv: kv[0] != "train")  # train first
    parts = [
        f"{name} {c['cut']} cut + {c['refused']} refused of {c['dialogues']}" for name, c in splits
    ]
    return "; ".join(parts)
