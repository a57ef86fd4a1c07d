"""Training batches: how much of each batch is padding, and how much of the real text is trained.

The default run's training step (``experiment=main scale=small adapter=lora``: SmolLM2's
tokenizer, its dataset, micro-batches of 4, at most 768 tokens) with batches grouped by length
(the default) and without. Of every micro-batch's positions (rows x the longest row): the share
that is padding (computed, then thrown away), and of the real tokens the share that takes loss
(assistant turns; the rest — system prompt, user turns, tool lists, masked errors — is context the
forward pass must still compute).

Prints JSON (and writes benchmarks/results/batches.json).

Usage: python benchmarks/bench_batches.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _results import emit  # noqa: E402

from asktoact.config import compose  # noqa: E402
from asktoact.constants import IGNORE_INDEX  # noqa: E402


def batch_shares(cfg, run_dir: Path, tokenizer) -> dict:
    from asktoact.train.run import data_module

    dm = data_module(cfg, run_dir, tokenizer)
    dm.setup("fit")
    positions = real = trained = batches = 0
    for batch in dm.train_dataloader():
        batches += 1
        positions += batch["input_ids"].numel()
        real += int(batch["attention_mask"].sum())
        trained += int((batch["labels"] != IGNORE_INDEX).sum())
    return {
        "micro_batches": batches,
        "positions": positions,
        "padding_share": round(1 - real / positions, 4),
        "real_tokens": real,
        "trained_share_of_real": round(trained / real, 4),
        "trained_share_of_positions": round(trained / positions, 4),
    }


def main() -> None:
    from asktoact.jobs import job
    from asktoact.train.models import load_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        where = [f"data_root={work}/data", f"cache_dir={work}/cache", "logger@train.logger=none"]
        cfg = compose("job", ["experiment=main", "scale=small", "adapter=lora", *where])
        data = job.dataset(cfg)
        tcfg = cfg.train
        tcfg.data.path = str(data)
        tokenizer = load_tokenizer(tcfg.model, tcfg.cache_dir)
        out = {"setting": "experiment=main scale=small adapter=lora (the default run's training)"}
        out["micro_batch_size"] = tcfg.data.micro_batch_size
        out["max_length"] = tcfg.data.max_length
        for grouped in (True, False):
            tcfg.data.group_by_length = grouped
            name = "grouped_by_length" if grouped else "in_random_order"
            out[name] = batch_shares(tcfg, work / name, tokenizer)
    emit("batches", out)


if __name__ == "__main__":
    main()
