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
OPTIONAL_GROUPS = {"train": ("debug",)}


def used_groups(primary: str, conf_dir: str | Path = CONF_DIR) -> list[str]:
    """The config groups in ``conf/<primary>.yaml``'s defaults list (``hydra`` and schemas aside),
    written as an override names them: ``data@generate.data`` where the group sits elsewhere."""
    defaults = yaml.safe_load(Path(conf_dir, f"{primary}.yaml").read_text()).get("defaults", [])
    groups = []
    for entry in defaults:
        if isinstance(entry, dict):
            name = next(iter(entry)).removeprefix("override ").removesuffix("@_global_")
            if name != "hydra" and name not in groups:
                groups.append(name)
    return groups + [g for g in OPTIONAL_GROUPS.get(primary, ()) if g not in groups]


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
