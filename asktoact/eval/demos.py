"""k-shot prompting: whole training dialogues shown to a model before the dialogue it plays.

An untrained base model scores 0 on every solution metric when it never writes our output format;
how far a fine-tuned row is ahead of it is then mostly format. The evaluate node's
``demonstrations`` (``k``, default 0: none) puts ``k`` complete dialogues of the protocol — the
request, the questions, the user's replies and the ``[SUMMARY]`` — before each test dialogue, as
earlier turns of the same chat, so the base row is given the format and what is left between it
and a fine-tuned row is behaviour.

The demonstrations come from a **training** split only (``demonstrations.split``, default
``train``; a test split is refused), of the evaluation's own dataset or ``demonstrations.path``.
They are drawn once, seeded, from the clean dialogues that ask at least one question (an
error-correction pair would show a mistake as the way to answer), among the shorter half by
length so that a prompt of ``k`` of them stays within the model's context; every test dialogue
gets the same ones, so a shared-prefix KV cache covers them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from asktoact.configurable import config_field as F
from asktoact.constants import TAG_QUESTION
from asktoact.errors import ConfigError

Message = dict[str, str]
# splits a demonstration may never come from: the queries being scored
_HELD_OUT = ("test", "validation", "ood")


@dataclass
class DemonstrationsConfig:
    """``evaluate.demonstrations``: k-shot prompting (module doc)."""

    k: int = F(ge=0)
    path: Optional[str] = F()  # noqa: UP045 (a generate output dir; null: data.path)
    split: str = F()


def _asks(row: dict[str, Any]) -> bool:
    return any(m["role"] == "assistant" and TAG_QUESTION in m["content"] for m in row["messages"])


def draw(rows: list[dict[str, Any]], k: int, seed: int) -> list[dict[str, Any]]:
    """``k`` rows, seeded: clean dialogues that ask something, from the shorter half."""
    pool = [r for r in rows if not r.get("augmented") and _asks(r)]
    if len(pool) < k:
        raise ConfigError(
            f"evaluate.demonstrations.k={k}: only {len(pool)} clean training dialogue(s) with a "
            "question to draw from"
        )
    size = {r["id"]: sum(len(m["content"]) for m in r["messages"]) for r in pool}
    pool.sort(key=lambda r: (size[r["id"]], r["id"]))
    shorter = pool[: max(k, len(pool) // 2)]
    return random.Random(f"demonstrations:{seed}").sample(shorter, k)


def load(node, data_path: str | None, seed: int) -> tuple[list[Message], list[str]]:
    """The demonstration turns (every drawn dialogue's messages, in order) and their row ids,
    for the evaluate node's ``demonstrations``; nothing when ``k`` is 0."""
    import datasets

    from asktoact.io import resolve_dataset_dir

    if not node.k:
        return [], []
    if node.split in _HELD_OUT:
        raise ConfigError(
            f"evaluate.demonstrations.split={node.split!r}: demonstrations come from training "
            "data, never from the queries being scored"
        )
    path = node.path or data_path
    if not path:
        raise ConfigError("evaluate.demonstrations.path: no dataset to draw demonstrations from")
    dd = datasets.load_from_disk(str(resolve_dataset_dir(Path(path))))
    if node.split not in dd or len(dd[node.split]) == 0:
        raise ConfigError(
            f"evaluate.demonstrations: {path} has no {node.split!r} rows to draw from (splits: "
            f"{sorted(dd)}); set evaluate.demonstrations.path to a dataset with training rows"
        )
    chosen = draw(dd[node.split].to_list(), node.k, seed)
    return [dict(m) for r in chosen for m in r["messages"]], [r["id"] for r in chosen]
