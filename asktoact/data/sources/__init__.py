"""Loaders that normalise tool-calling datasets to :class:`asktoact.schema.Example`.

Each loader is a plain function ``load(..., rejects) -> list[Example]`` named by ``_target_`` in
``conf/data/*.yaml``. Malformed rows never stop a run: they go to ``rejects`` with a reason.
"""
