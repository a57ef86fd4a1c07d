"""TaskBench: ``tool_desc.json`` (nodes with parameters) + ``data.json`` rows with ``task_nodes``.

The folder comes from ``path`` when it is there, else from the hub (``microsoft/Taskbench``, the
``data_dailylifeapis`` files, through huggingface_hub's cache) when the hub may be used
(``HF_HUB_OFFLINE`` unset); otherwise loading stops naming ``data.path``.

A row's candidate tools are the tools its gold solution uses. Argument values that refer to an
earlier node's output (``<node-0>``) are kept in the solution; sampling never removes them because
they are not user intent.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from asktoact.configurable import configurable
from asktoact.data.sources.base import (
    Rejects,
    RowError,
    normalise_type,
    read_rows,
    require,
    validate_example,
    without_meta,
)
from asktoact.errors import MissingInput
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec

HUB_ID = "microsoft/Taskbench"
log = logging.getLogger(__name__)


def hub_allowed() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in ("1", "true", "yes", "on")


def locate(
    path: str | None,
    hub_id: str | None = HUB_ID,
    hub_subset: str = "data_dailylifeapis",
    tool_file: str = "tool_desc.json",
) -> Path | None:
    """The TaskBench folder: ``path`` if it exists, else the hub's files (downloaded once into
    huggingface_hub's cache) if the hub may be used and answers, else ``None``."""
    if path and Path(path).exists():
        return Path(path)
    if not hub_id or not hub_allowed():
        return None
    from huggingface_hub import hf_hub_download

    try:
        files = [
            hf_hub_download(hub_id, f"{hub_subset}/{f}", repo_type="dataset")
            for f in (tool_file, "data.json")
        ]
    except Exception as err:  # no network, no such repo: the caller says what it does instead
        log.warning("TaskBench from the hub (%s/%s) failed: %s", hub_id, hub_subset, err)
        return None
    return Path(files[0]).parent


def available(data: Any) -> bool:
    """The folder is on disk or the hub answers (:func:`asktoact.data.sources.available`)."""
    return locate(data.path, data.hub_id, data.hub_subset, data.tool_file) is not None


@configurable(exclude=("rejects",))
def load(
    path: str | None = None,
    data_file: str | None = None,
    tool_file: str = "tool_desc.json",
    hub_id: str | None = HUB_ID,
    hub_subset: str = "data_dailylifeapis",
    name: str = "taskbench",
    rejects: Rejects | None = None,
) -> list[Example]:
    """``path`` is the TaskBench folder (else the hub's, see :func:`locate`); ``data_file``
    defaults to data.json, else data_sample.jsonl."""
    rejects = rejects if rejects is not None else Rejects()
    folder = locate(path, hub_id, hub_subset, tool_file)
    if folder is None:
        raise MissingInput(
            f"data.path={path}: no TaskBench folder there, and the hub ({hub_id}) is not used "
            "offline (HF_HUB_OFFLINE=1) or did not answer; give a folder with tool_desc.json "
            "and data.json"
        )
    tools = load_tools(folder / tool_file)
    if data_file is None:
        data_file = "data.json" if (folder / "data.json").exists() else "data_sample.jsonl"
    examples = []
    for row in read_rows(folder / data_file, name, rejects):
        try:
            examples.append(parse_row(row, tools))
        except RowError as err:
            rejects.add(name, row.get("id", row["_row"]), err, without_meta(row))
    return examples


def load_tools(path: Path) -> dict[str, ToolSpec]:
    nodes = json.loads(Path(path).read_text(encoding="utf-8"))
    nodes = nodes["nodes"] if isinstance(nodes, dict) else nodes
    tools = {}
    for node in nodes:
        params = tuple(
            ParamSpec(p["name"], normalise_type(p.get("type"))[0], p.get("desc", ""))
            for p in node.get("parameters", [])
        )
        tools[node["id"]] = ToolSpec(node["id"], node.get("desc", ""), params)
    return tools


def _arguments(raw: Any, node: int) -> tuple[tuple[str, Any], ...]:
    if not isinstance(raw, list):
        raise RowError(f"task_nodes[{node}].arguments", "expected a list of {name, value}")
    args = []
    for k, arg in enumerate(raw):
        where = f"task_nodes[{node}].arguments[{k}]"
        if not isinstance(arg, dict) or not arg.get("name"):
            raise RowError(f"{where}.name", "missing field")
        if "value" not in arg:
            hint = " (it names another call with 'from' instead)" if "from" in arg else ""
            raise RowError(f"{where}.value", f"missing field{hint}")
        args.append((str(arg["name"]), arg["value"]))
    return tuple(args)


def parse_row(row: dict[str, Any], tools: dict[str, ToolSpec]) -> Example:
    query = require(row, "instruction")
    nodes = row.get("task_nodes")
    if isinstance(nodes, str):
        try:
            nodes = json.loads(nodes)
        except json.JSONDecodeError:
            raise RowError("task_nodes", "unparsable JSON string") from None
    if not isinstance(nodes, list) or not nodes:
        raise RowError("task_nodes", "missing field")
    calls, used = [], []
    for i, node in enumerate(nodes):
        name = node.get("task") if isinstance(node, dict) else None
        if not name:
            raise RowError(f"task_nodes[{i}].task", "missing field")
        if name not in tools:
            raise RowError(f"task_nodes[{i}].task", f"unknown tool {name!r}")
        calls.append(ToolCall(name, _arguments(node.get("arguments", []), i)))
        if tools[name] not in used:
            used.append(tools[name])
    ex = Example(
        f"taskbench-{row.get('id', row['_row'])}",
        "taskbench",
        str(query),
        tuple(used),
        tuple(calls),
        domain="dailylifeapis",
    )
    return validate_example(ex)
