"""Train/test splits of a built dataset: seeded, by share (``test_size``) or by exact sizes
(``split_sizes``, a paper's table), shared by the dialogue pipeline and the trajectory builder."""

from __future__ import annotations

import random

from asktoact.errors import ConfigError
from asktoact.schema import TransformationRecord


def split(
    records: list[TransformationRecord],
    test_size: float,
    seed: int,
    sizes: list[int] | None = None,
):
    """Seeded train/test split of the dialogues that passed every stage (:func:`split_order`)."""
    ids = sorted(r.id for r in records)
    random.Random(f"split:{seed}").shuffle(ids)
    train_ids, test_ids = split_order(ids, test_size, sizes)
    return [r for r in records if r.id in train_ids], [r for r in records if r.id in test_ids]


def split_order(ids: list[str], test_size: float, sizes: list[int] | None = None):
    """(train, test) id sets of an already shuffled id list: ``test_size`` of them to test and
    the rest to train, or exactly ``sizes`` = [train, test] (a paper's table; the rest is left
    unused and counted in the manifest, ``splits_unused``)."""
    if not 0.0 <= test_size < 1.0:
        raise ValueError(f"test_size must be in [0, 1), got {test_size}")
    if sizes is None:
        n_test, n_train = round(test_size * len(ids)), len(ids)
    else:
        n_train, n_test = sizes
        if n_train + n_test > len(ids):
            raise ConfigError(
                f"split_sizes={list(sizes)} needs {n_train + n_test} dialogues after quality "
                f"control; {len(ids)} remain (split_sizes=null splits by test_size)"
            )
    return set(ids[n_test : n_test + n_train]), set(ids[:n_test])
