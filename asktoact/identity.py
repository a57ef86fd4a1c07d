"""Identity of what produced an artifact: config hashes, content fingerprints, settings records.

Stores (datasets, trained models, evaluations) are keyed by a hash of everything that decides
their result, and every resumable artifact (training checkpoints, evaluation transcripts,
datasets built on demand) keeps a record of the settings that made it: a run whose settings
differ never continues another run's work (:func:`claim`).

What is left out is said once, where each setting is defined: a schema field marked
``config_field(identity=False)`` (where things go, how they are logged: cache folders, run names,
loggers, worker counts) is in no store key, resume record or run folder name; one marked
``identity="resumable"`` (how long a run goes on) is in the store key but not in the resume
record, so a run continued with more steps or queries resumes its work (:func:`marked_keys`,
:func:`identity_of`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from asktoact.configurable import NOT_IDENTITY, RESUMABLE, identity_mark
from asktoact.errors import ConfigError
from asktoact.io import write_json


def marked_keys(cfg: DictConfig, marks: tuple[bool | str, ...] = (NOT_IDENTITY,)) -> list[str]:
    """Dotted keys of ``cfg`` whose schema field carries one of the identity ``marks``: read
    from the structured type of every node (the schemas of ``asktoact.config``), interpolated
    nodes (``train.model: ${model}``) followed to the node they name. Hydra's own node
    (``hydra``) is no part of any run's settings."""
    out: list[str] = []

    def walk(node: DictConfig, prefix: str) -> None:
        schema = OmegaConf.get_type(node)
        fields = dataclasses.fields(schema) if dataclasses.is_dataclass(schema) else ()
        marked = {f.name for f in fields if identity_mark(f) in marks}
        for key in node:
            if not prefix and key == "hydra":
                continue
            if key in marked:
                out.append(prefix + str(key))
                continue
            child = node._get_node(key)
            if child._is_interpolation():  # a node named (${model}), not a resolver's value
                named = re.fullmatch(r"\$\{([\w.]+)\}", str(child._value()))
                child = child._dereference_node() if named else None
            if isinstance(child, DictConfig) and not child._is_missing() and not child._is_none():
                walk(child, f"{prefix}{key}.")

    walk(cfg, "")
    return out


def identity_of(cfg: DictConfig, *by_content: str, resuming: bool = False) -> dict[str, Any]:
    """What decides the result of the run ``cfg`` configures: its resolved config less the keys
    marked ``identity=False`` (and, ``resuming``, those marked ``"resumable"``), less the
    ``by_content`` keys (paths the caller identifies by what they hold)."""
    marks = (NOT_IDENTITY, RESUMABLE) if resuming else (NOT_IDENTITY,)
    return resolved(cfg, (*marked_keys(cfg, marks), *by_content))


def resolved(cfg: DictConfig, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """The resolved config as plain data, without the dotted keys in ``ignore``."""
    data = OmegaConf.to_container(cfg, resolve=True)
    for dotted in ignore:
        *parents, leaf = dotted.split(".")
        node = data
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return data


def as_json(data: Any) -> Any:
    """``data`` as it reads back from a JSON file (tuples as lists, keys as strings), so a record
    on disk and settings in memory compare equal when they are."""
    return json.loads(json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))


def config_hash(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted keys whose values differ between two resolved configs (for error messages)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(where)
            else:
                out += differences(old[key], new[key], where)
        return out
    return [] if old == new else [path or "<root>"]


def overrides_tag(overrides: str) -> str:
    """``-<hash>`` of a run's command-line overrides (empty without any): default run folders
    carry it, so two commands that differ in any setting never share a folder."""
    return f"-{config_hash(overrides)[:8]}" if overrides else ""


def folder_fingerprint(path: str | Path | None) -> str | None:
    """What identifies a model folder's current content without reading its weights: every
    file's name, size and modification time (a folder retrained or replaced in place changes
    it). None for a name that is not a local folder (a hub id), which is identified by name."""
    if path is None or not Path(path).is_dir():
        return None
    files = sorted(p for p in Path(path).rglob("*") if p.is_file())
    stats = [(str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return config_hash(stats)


def dataset_fingerprint(dataset_dir: str | Path) -> dict[str, str]:
    """Per split of a saved DatasetDict, the content fingerprint ``datasets`` stores with it
    (deterministic for the same rows: the same dataset rebuilt gives the same fingerprint)."""
    dataset_dir = Path(dataset_dir)
    splits = json.loads((dataset_dir / "dataset_dict.json").read_text())["splits"]
    return {
        s: json.loads((dataset_dir / s / "state.json").read_text())["_fingerprint"] for s in splits
    }


def claim(record: Path, identity: dict[str, Any], resume: bool, what: str, exists: bool) -> bool:
    """Whether the existing work on ``what`` (``exists``), whose settings ``record`` (a JSON
    file) holds, may be continued by a run with the settings ``identity``.

    True: same settings, continue. False: nothing to continue (no work yet, or ``resume`` off):
    the caller starts over, and the record now holds ``identity``. Work made with other settings,
    or with none recorded, stops the run with a :class:`ConfigError` naming the changed keys:
    starting over silently would throw work away, continuing would mix two runs' results.
    """
    identity = as_json(identity)
    if resume and exists:
        old = json.loads(record.read_text()) if record.exists() else None
        changed = differences(old, identity) if old is not None else [f"(no {record.name})"]
        if not changed:
            return True
        raise ConfigError(
            f"{what} in {record.parent} was made with other settings (changed: "
            f"{', '.join(changed[:12])}). Rerun with the same settings to continue it, pass "
            "resume=false to start over, or use another run directory."
        )
    write_json(record, identity)
    return False
