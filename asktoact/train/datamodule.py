"""Encoded dialogues, length-grouped batches and the accumulated-batch loss normaliser.

The batch sampler plans each optimizer step's *window* (``accumulate × world_size``
micro-batches) up front, so every micro-batch carries the total loss weight of its whole window;
the module divides by it and the loss is normalised over the accumulated (and distributed) batch,
not per micro-batch. Length grouping sorts examples of similar length into the same micro-batch
(within shuffled mega-chunks), which cuts padding on variable-length dialogues.

The training loader shuffles each epoch with its own seed and resumes mid-epoch: its state, saved
in every checkpoint, is the epoch and the number of micro-batches already trained on, and a
restored loader skips exactly those, so a killed run goes on with the batches an uninterrupted run
would have seen next.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from tqdm.auto import tqdm

from asktoact.constants import IGNORE_INDEX
from asktoact.io import resolve_dataset_dir, write_jsonl
from asktoact.train.encode import EncodeError, encode, tool_names_of
from asktoact.train.masking import Masking

log = logging.getLogger(__name__)


def encode_split(
    rows, tokenizer, masking: Masking, eot: str, max_length: int, desc: str, prepare=None
):
    """Encoded rows, and (id, reason) for rows that cannot be trained on. ``prepare`` turns a
    row's messages into the chat the model sees (e.g. the system prompt first)."""
    encoded, refused = [], []
    for row in tqdm(rows, desc=f"encode {desc}", unit="ex", leave=False):
        try:
            enc = encode(
                prepare(row["messages"]) if prepare else row["messages"],
                tokenizer,
                masking,
                eot,
                tool_names_of(row.get("tools", "")),
                max_length,
                row["id"],
            )
        except EncodeError as err:
            refused.append({"id": row["id"], "split": desc, "reason": str(err)})
            continue
        enc["id"] = row["id"]
        encoded.append(enc)
    return encoded, refused


class EncodedDataset(Dataset):
    """Items are looked up by ``(index, window_weight)`` keys from :class:`WindowBatchSampler`."""

    def __init__(self, rows: list[dict[str, Any]]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        idx, window_weight = key if isinstance(key, tuple) else (key, None)
        return {**self.rows[idx], "window_weight": window_weight}


class WindowBatchSampler(Sampler):
    """Micro-batches of indices for one rank, each paired with its window's total loss weight."""

    def __init__(
        self,
        lengths,
        weights,
        micro_batch_size,
        accumulate=1,
        world_size=1,
        rank=0,
        shuffle=True,
        group_by_length=True,
        seed=0,
        mega_factor=32,
    ):
        self.lengths, self.weights = lengths, weights
        self.micro, self.accumulate = micro_batch_size, accumulate
        self.world, self.rank = world_size, rank
        self.shuffle, self.group, self.seed = shuffle, group_by_length, seed
        self.mega = micro_batch_size * accumulate * world_size * mega_factor
        self.epoch = 0
        # (epoch, micro-batches to skip) from a checkpoint: the next pass starts there
        self._resume: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        """The epoch of the next pass (its shuffle seed), unless a checkpoint's position is
        pending (:meth:`resume_at`), which wins once."""
        self.epoch = epoch

    def resume_at(self, epoch: int, consumed: int) -> None:
        """Make the next pass go on after ``consumed`` micro-batches of ``epoch`` (the next epoch
        from its start when ``epoch`` was done)."""
        self._resume = (epoch + 1, 0) if consumed >= len(self) else (epoch, consumed)

    def _micro_batches(self) -> list[list[int]]:
        order = list(range(len(self.lengths)))
        rng = random.Random(f"{self.seed}:{self.epoch}")
        if self.shuffle:
            rng.shuffle(order)
        if self.group:
            order = [
                i
                for k in range(0, len(order), self.mega)
                for i in sorted(order[k : k + self.mega], key=lambda i: -self.lengths[i])
            ]
        batches = [order[k : k + self.micro] for k in range(0, len(order), self.micro)]
        if self.shuffle and self.group:  # long and short batches interleave across steps
            rng.shuffle(batches)
        return batches

    def windows(self) -> list[list[list[int]]]:
        batches = self._micro_batches()
        size = self.accumulate * self.world
        wins = [batches[k : k + size] for k in range(0, len(batches), size)]
        if self.world > 1 and wins and len(wins[-1]) < size:
            wins.pop()  # every rank must take the same number of steps
        return wins

    def __iter__(self) -> Iterator[list[tuple[int, float]]]:
        skip = 0
        if self._resume is not None:
            (self.epoch, skip), self._resume = self._resume, None
        n = 0
        for win in self.windows():
            total = float(sum(self.weights[i] for b in win for i in b))
            for b in win[self.rank :: self.world]:
                n += 1
                if n > skip:
                    yield [(i, total) for i in b]

    def __len__(self) -> int:
        return sum(len(w[self.rank :: self.world]) for w in self.windows())


def collate(items: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(x["input_ids"]) for x in items)

    def pad(key: str, value) -> torch.Tensor:
        return torch.tensor([x[key] + [value] * (width - len(x[key])) for x in items])

    batch = {
        "input_ids": pad("input_ids", pad_id),
        "labels": pad("labels", IGNORE_INDEX),
        "loss_weights": pad("loss_weights", 0.0).float(),
        "attention_mask": torch.tensor(
            [[1] * len(x["input_ids"]) + [0] * (width - len(x["input_ids"])) for x in items]
        ),
    }
    ww = items[0]["window_weight"]
    if ww is not None:
        batch["window_weight"] = torch.tensor(ww, dtype=torch.float32)
    return batch


class ResumableLoader(DataLoader):
    """The training loader: each pass shuffles with the trainer's current epoch, and its state,
    which Lightning saves in checkpoints (``state_dict``) and restores (``load_state_dict``)
    before iterating, is the epoch and the micro-batches trained on so far.

    The epoch is set here, at the start of every pass, because Lightning's own ``set_epoch``
    call reaches ``loader.sampler`` and ``loader.batch_sampler.sampler`` but never the batch
    sampler itself: left to Lightning, every epoch replayed epoch 0's order, while a run resumed
    from a checkpoint at an epoch's end went on in the next epoch's order, and ended with other
    weights than the uninterrupted run."""

    def __init__(self, *args, epoch: Callable[[], int], consumed: Callable[[], int], **kwargs):
        super().__init__(*args, **kwargs)
        self.epoch, self.consumed = epoch, consumed

    def __iter__(self):
        self.batch_sampler.set_epoch(self.epoch())
        return super().__iter__()

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.batch_sampler.epoch, "consumed": self.consumed()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.resume_at(state["epoch"], state["consumed"])


def _current_epoch(trainer) -> int:
    return trainer.current_epoch


def _trained_batches(trainer) -> int:
    """Micro-batches of the current epoch already trained on (read when a checkpoint is saved,
    after the batch that ends an optimizer step)."""
    return trainer.fit_loop.epoch_loop.batch_progress.current.processed


def training_rows(split, limit: int | None):
    """The rows trained on: all of ``split``, or ``limit`` of them. A limit keeps the split's
    share of error-correction dialogues exactly (``round(share × limit)`` of them, the first ones
    in order, the rest the first clean ones), so that an augmentation sweep's rows train on the
    ratio each says, not on what the first ``limit`` rows happen to hold."""
    if limit is None or limit >= len(split):
        return split
    if "augmented" not in split.column_names:  # tool-use trajectories: no injected errors
        return split.select(range(limit))
    flags = split["augmented"]
    augmented = [i for i, f in enumerate(flags) if f]
    clean = [i for i, f in enumerate(flags) if not f]
    want = min(round(len(augmented) * limit / len(flags)), len(augmented))
    return split.select(sorted(augmented[:want] + clean[: limit - want]))


def augmented_share(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the trained rows hold of error-correction data: dialogues, share, pairs per type."""
    kinds = [r["error_type"] for r in rows if r.get("augmented")]
    return {
        "augmented": len(kinds),
        "augmented_share": round(len(kinds) / max(len(rows), 1), 4),
        "error_types": {k: kinds.count(k) for k in sorted(set(kinds))},
    }


class DialogueDataModule(pl.LightningDataModule):
    def __init__(
        self,
        path,
        tokenizer,
        masking: Masking,
        eot: str,
        max_length=1024,
        micro_batch_size=8,
        group_by_length=True,
        val_split="test",
        num_workers=0,
        seed=0,
        reject_file=None,
        limit=None,
        mega_chunk_factor=32,
        prepare=None,
    ):
        super().__init__()
        self.path, self.tokenizer, self.masking, self.eot = path, tokenizer, masking, eot
        self.max_length, self.micro = max_length, micro_batch_size
        self.group, self.val_split, self.workers, self.seed = (
            group_by_length,
            val_split,
            num_workers,
            seed,
        )
        self.reject_file, self.limit, self.mega = reject_file, limit, mega_chunk_factor
        self.prepare = prepare
        self.train_rows: list[dict] = []
        self.val_rows: list[dict] = []
        self.stats: dict[str, Any] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.train_rows:
            return
        import datasets

        dd = datasets.load_from_disk(str(resolve_dataset_dir(self.path)))
        train = training_rows(dd["train"], self.limit)
        args = (self.tokenizer, self.masking, self.eot, self.max_length)
        self.train_rows, refused = encode_split(train, *args, "train", self.prepare)
        if self.val_split and self.val_split in dd:
            val, more = encode_split(dd[self.val_split], *args, "val", self.prepare)
            self.val_rows, refused = val, refused + more
        kept = {r["id"] for r in self.train_rows}
        self._report(refused)
        if "augmented" in train.column_names:  # the flags only, not the dialogues again
            flags = train.select_columns(["id", "augmented", "error_type"]).to_list()
            self.stats |= augmented_share([r for r in flags if r["id"] in kept])

    def _report(self, refused: list[dict]) -> None:
        n_tok = sum(len(r["input_ids"]) for r in self.train_rows)
        self.stats = {
            "train_examples": len(self.train_rows),
            "val_examples": len(self.val_rows),
            "refused": len(refused),
            "truncated": sum(r["turns_dropped"] > 0 for r in self.train_rows),
            "train_tokens": n_tok,
            "trained_token_share": round(
                sum(r["n_trained"] for r in self.train_rows) / max(n_tok, 1), 4
            ),
        }
        if refused:
            log.warning("%d examples cannot be trained on (see %s)", len(refused), self.reject_file)
        if self.reject_file:
            write_jsonl(self.reject_file, refused)
        if not self.train_rows:
            raise EncodeError(
                f"no trainable example in {self.path} (masking {self.masking.name!r})"
            )

    def _sampler(self, rows, shuffle: bool) -> WindowBatchSampler:
        trainer = self.trainer
        sampler = WindowBatchSampler(
            [len(r["input_ids"]) for r in rows],
            [sum(r["loss_weights"][1:]) for r in rows],  # position 0 is never predicted
            self.micro,
            accumulate=trainer.accumulate_grad_batches if (trainer and shuffle) else 1,
            world_size=trainer.world_size if trainer else 1,
            rank=trainer.global_rank if trainer else 0,
            shuffle=shuffle,
            group_by_length=self.group,
            seed=self.seed,
            mega_factor=self.mega,
        )
        return sampler

    def optimizer_steps(self) -> int:
        """The optimizer steps of the whole fit, counted from the batch plan: windows per epoch
        times epochs, capped by ``max_steps`` (Lightning's ``estimated_stepping_batches``, without
        building the loader: built before a checkpoint is restored, the loader would start a
        resumed epoch from its first batch)."""
        trainer = self.trainer
        if trainer.max_epochs is None or trainer.max_epochs < 0:
            if trainer.max_steps <= 0:
                raise ValueError(
                    "trainer.max_epochs=-1 trains without end: set trainer.max_steps >= 1, the "
                    "learning-rate schedule needs a length"
                )
            return trainer.max_steps
        per_epoch = len(self._sampler(self.train_rows, shuffle=True).windows())
        total = per_epoch * max(trainer.max_epochs, 1)
        return max(min(total, trainer.max_steps) if trainer.max_steps > 0 else total, 1)

    def _loader(self, rows, shuffle: bool) -> DataLoader:
        trainer, sampler = self.trainer, self._sampler(rows, shuffle)
        pad = functools.partial(
            collate, pad_id=self.tokenizer.pad_token_id
        )  # picklable for workers
        kwargs = {
            "batch_sampler": sampler,
            "num_workers": self.workers,
            "collate_fn": pad,
            # Its own generator: iterating a loader then draws no number from the global one,
            # which dropout uses (checkpoints restore it, see ClarifyLM.on_load_checkpoint).
            "generator": torch.Generator().manual_seed(self.seed),
        }
        if shuffle and trainer is not None:
            return ResumableLoader(
                EncodedDataset(rows),
                epoch=functools.partial(_current_epoch, trainer),
                consumed=functools.partial(_trained_batches, trainer),
                **kwargs,
            )
        return DataLoader(EncodedDataset(rows), **kwargs)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_rows, shuffle=True)

    def val_dataloader(self):
        return self._loader(self.val_rows, shuffle=False) if self.val_rows else []
