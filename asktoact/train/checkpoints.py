"""The checkpoints a killed training run resumes from: how they are written and which one is used.

Lightning writes checkpoints through a ``CheckpointIO`` plugin; ours writes a temporary file and
renames it, so a kill never leaves a half-written checkpoint under its final name. Beside
``last.ckpt`` the two newest step checkpoints are kept, so a checkpoint damaged afterwards (a full
disk, a copy cut short, a hand edit) has a good predecessor to fall back to. A checkpoint is a zip
archive (``torch.save``); it counts as readable when its directory opens and every member's CRC
checks out, which costs one read of the file and no unpickling.
"""

from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path
from typing import Any

from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning import Callback

from asktoact import faults
from asktoact.errors import UserError
from asktoact.io import atomic_path

log = logging.getLogger(__name__)

LAST = "last.ckpt"
KEEP = 2  # step checkpoints kept beside last.ckpt: the newest and one to fall back to


class CheckpointError(UserError, RuntimeError):
    """No checkpoint in the folder can be read; the message says what the user can do."""


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        step, is_last = checkpoint.get("global_step", 0), Path(path).name == LAST
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            if not is_last:
                faults.reached("train.ckpt_write", step)
        faults.reached("train.last_saved" if is_last else "train.ckpt_saved", step)


class FaultPoints(Callback):
    """Reaches ``train.step`` after each optimizer step (the trainer runs ``ModelCheckpoint``
    after every other callback, so this comes before the step's checkpoint)."""

    seen = 0

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step > self.seen:
            self.seen = trainer.global_step
            faults.reached("train.step", trainer.global_step)


def checkpoint_callback(folder: Path, every_n_steps: int | None):
    from pytorch_lightning.callbacks import ModelCheckpoint

    # monitor="step", mode="max": keep the KEEP newest by step (Lightning's recipe for "latest N").
    return ModelCheckpoint(
        dirpath=str(folder),
        filename="{step}",
        save_last=True,
        every_n_train_steps=every_n_steps,
        save_top_k=KEEP,
        monitor="step",
        mode="max",
    )


def unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from, or None when it can."""
    if path.is_dir():  # DeepSpeed's sharded checkpoint: a folder its engine checks on loading
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        return f"{type(err).__name__}: {err}"
    return f"member {bad} fails its CRC check" if bad else None


def _step(path: Path) -> int:
    found = re.search(r"step=(\d+)", path.name)
    return int(found.group(1)) if found else -1


def candidates(folder: Path) -> list[Path]:
    """``last.ckpt`` first, then the step checkpoints, newest first."""
    steps = sorted(folder.glob("step=*.ckpt"), key=_step, reverse=True)
    last = folder / LAST
    return ([last] if last.exists() else []) + steps


def choose(folder: Path) -> Path | None:
    """The newest readable checkpoint in ``folder`` (None when there is none at all).

    Raises :class:`CheckpointError` when checkpoints exist but none can be read."""
    broken: list[tuple[Path, str]] = []
    for path in candidates(folder):
        why = unreadable(path)
        if why is None:
            for bad, reason in broken:
                log.warning(
                    "checkpoint %s is unreadable (%s); falling back to %s", bad, reason, path
                )
            return path
        broken.append((path, why))
    if not broken:
        return None
    detail = "; ".join(f"{p} ({why})" for p, why in broken)
    raise CheckpointError(
        f"cannot resume: no readable checkpoint in {folder}: {detail}. Pass resume=false to "
        f"start this run over (its checkpoints are replaced), or delete {folder}."
    )
