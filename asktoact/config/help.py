"""``--help`` of each entry point: the config groups that entry point composes, and its config.

Hydra's own help lists every group under ``conf/`` (``asktoact-generate --help`` offered ``model``
and ``scale``, which generate refuses) and the ``schema_*`` nodes the ConfigStore holds. The groups
an entry point uses are those of its primary config's defaults list (plus the optional ones it
accepts with ``+group=``); their options are the YAML files, schemas left out.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from asktoact.paths import CONF_DIR

# Groups an entry point accepts with ``+group=option`` that its defaults list does not name.
OPTIONAL_GROUPS = {"train": ("debug",), "job": ("debug@train",)}


def used_groups(primary: str, conf_dir: str | Path = CONF_DIR) -> list[str]:
    """The config groups in ``conf/<primary>.yaml``'s defaults list and in the configs it nests
    (``steps/train@train``), ``hydra``, schemas and picked-by-name deltas aside, each written as
    an override names it: ``data@generate.data`` where the group sits elsewhere."""
    groups = _groups(Path(conf_dir, f"{primary}.yaml"), "", Path(conf_dir))
    groups = list(dict.fromkeys(groups))
    return groups + [g for g in OPTIONAL_GROUPS.get(primary, ()) if g not in groups]


def _groups(path: Path, package: str, conf_dir: Path) -> list[str]:
    out = []
    for entry in yaml.safe_load(path.read_text()).get("defaults", []):
        if isinstance(entry, str):  # a config nested at a package (schemas are no files)
            name, _, at = entry.partition("@")
            nested = conf_dir / f"{name.lstrip('/')}.yaml"
            if nested.exists():
                out += _groups(nested, _package(package, at), conf_dir)
            continue
        key, value = next(iter(entry.items()))
        group, _, at = key.removeprefix("override ").removeprefix("optional ").partition("@")
        group = group.lstrip("/")
        if group == "hydra" or "${" in str(value):  # Hydra's own, or a delta picked by name
            continue
        if at == "_global_":
            out.append(group)
            continue
        where = _package(package, at or group)
        out.append(group if where in (group, "") else f"{group}@{where}")
    return out


def _package(parent: str, at: str) -> str:
    """Where a default of a config at ``parent`` lands, given its ``@package`` (if any)."""
    if at in ("", "_here_"):
        return parent
    return f"{parent}.{at}" if parent else at


def options(group: str, conf_dir: str | Path = CONF_DIR) -> list[str]:
    """The options of ``group``: its YAML files (the ``schema_*`` nodes are not files)."""
    return sorted(p.stem for p in Path(conf_dir, group).glob("*.yaml") if p.stem != "schema")


def help_template(primary: str) -> str:
    """A Hydra help template (``$CONFIG`` is Hydra's) for the entry point of ``primary``."""
    lines = [f"asktoact-{primary}: Hydra overrides as key=value; groups as group=option.", ""]
    lines += ["== Configuration groups ==", ""]
    lines += [f"{g}: {', '.join(options(g.split('@')[0]))}" for g in used_groups(primary)]
    lines += ["", "== Config ==", "Override anything in the config (foo.bar=value)", "", "$CONFIG"]
    return "\n".join(lines)
