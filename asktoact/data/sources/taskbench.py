"""TaskBench: ``tool_desc.json`` (nodes with parameters) + ``data.json`` rows with ``task_nodes``.

The folder comes from ``path`` when it is there, else from the hub (``microsoft/Taskbench``, the
``data_dailylifeapis`` files, through huggingface_hub's cache) when the hub may be used
(``HF_HUB_OFFLINE`` unset); otherwise loading stops naming ``data.path``.

A row's candidate tools are the tools its gold solution uses. Argument values that refer to an
earlier node's output (``<node-0>``) are kept in the solution; sampling never removes them because
they are not user intent.

TaskBench's three domains describe tools two ways. Daily-life APIs have named ``parameters``
(``{name, type, desc}``) and rows name each argument. The Hugging Face and Multimedia tools are
*resource* tools: ``input-type`` (e.g. ``["image", "text"]``) and no names, and a row's arguments
are a positional list of values. A resource tool's parameters are named by their input types, in
order (a type that occurs twice gets ``_2``: ``text``, ``text_2``), and a positional argument takes
the name of the input at its position; one beyond the tool's inputs is a reject naming it. The
domain of each example is the folder's (``data_huggingface`` → ``huggingface``), or ``domain``.
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


def _folders(path: str | None, hub_subset: str, subsets: list[str] | None):
    """(folder path or None, hub subset) of each domain to load: one, or each of ``subsets``
    (``<path>/<subset>`` in the hub's layout, else the hub's)."""
    if not subsets:
        return [(path, hub_subset)]
    return [(str(Path(path) / sub) if path else None, sub) for sub in subsets]


def available(data: Any) -> bool:
    """Every folder is on disk or the hub answers (:func:`asktoact.data.sources.available`)."""
    return all(
        locate(folder, data.hub_id, sub, data.tool_file) is not None
        for folder, sub in _folders(data.path, data.hub_subset, data.get("subsets"))
    )


@configurable(exclude=("rejects",))
def load(
    path: str | None = None,
    data_file: str | None = None,
    tool_file: str = "tool_desc.json",
    hub_id: str | None = HUB_ID,
    hub_subset: str = "data_dailylifeapis",
    subsets: list[str] | None = None,
    name: str = "taskbench",
    domain: str | None = None,
    rejects: Rejects | None = None,
) -> list[Example]:
    """``path`` is the TaskBench folder (else the hub's, see :func:`locate`); ``data_file``
    defaults to data.json, else data_sample.jsonl; ``domain``: the examples' domain (default:
    from the folder's or hub subset's name). ``subsets`` (e.g. all three domains,
    ``[data_dailylifeapis, data_huggingface, data_multimedia]``): ``path`` holds one folder per
    subset, as the hub does, and every one is loaded."""
    rejects = rejects if rejects is not None else Rejects()
    if subsets:
        return [
            ex
            for folder, sub in _folders(path, hub_subset, subsets)
            for ex in load(folder, data_file, tool_file, hub_id, sub, name=name, rejects=rejects)
        ]
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
    domain = domain or domain_of(folder)
    examples = []
    for row in read_rows(folder / data_file, name, rejects):
        try:
            examples.append(parse_row(row, tools, domain))
        except RowError as err:
            rejects.add(name, row.get("id", row["_row"]), err, without_meta(row))
    return examples


def domain_of(folder: Path) -> str:
    """``dailylifeapis`` for ``taskbench_dailylifeapis`` or ``data_dailylifeapis``, and so on."""
    stem = folder.name
    for prefix in ("data_", "taskbench_"):
        stem = stem.removeprefix(prefix)
    return stem.removesuffix("_more") or "dailylifeapis"


def _resource_params(node: dict[str, Any]) -> tuple[ParamSpec, ...]:
    """A resource tool's inputs as parameters named by their types (a repeated type gets _2)."""
    seen: dict[str, int] = {}
    params = []
    for k, kind in enumerate(node.get("input-type") or []):
        kind = str(kind).strip().lower() or "input"
        seen[kind] = seen.get(kind, 0) + 1
        name = kind if seen[kind] == 1 else f"{kind}_{seen[kind]}"
        params.append(ParamSpec(name, "string", f"input {k + 1}: the {kind}"))
    return tuple(params)


def load_tools(path: Path) -> dict[str, ToolSpec]:
    nodes = json.loads(Path(path).read_text(encoding="utf-8"))
    nodes = nodes["nodes"] if isinstance(nodes, dict) else nodes
    tools = {}
    for node in nodes:
        if "parameters" in node:
            params = tuple(
                ParamSpec(p["name"], normalise_type(p.get("type"))[0], p.get("desc", ""))
                for p in node["parameters"]
            )
        else:
            params = _resource_params(node)
        tools[node["id"]] = ToolSpec(node["id"], node.get("desc", ""), params)
    return tools


def _arguments(raw: Any, node: int, tool: ToolSpec) -> tuple[tuple[str, Any], ...]:
    if not isinstance(raw, list):
        raise RowError(f"task_nodes[{node}].arguments", "expected a list of {name, value}")
    args = []
    for k, arg in enumerate(raw):
        where = f"task_nodes[{node}].arguments[{k}]"
        if not isinstance(arg, dict):  # a resource tool's positional argument
            if k >= len(tool.parameters):
                raise RowError(
                    where,
                    f"positional argument beyond {tool.name!r}'s {len(tool.parameters)} inputs",
                )
            args.append((tool.parameters[k].name, arg))
            continue
        if not arg.get("name"):
            raise RowError(f"{where}.name", "missing field")
        if "value" not in arg:
            hint = " (it names another call with 'from' instead)" if "from" in arg else ""
            raise RowError(f"{where}.value", f"missing field{hint}")
        args.append((str(arg["name"]), arg["value"]))
    return tuple(args)


def parse_row(
    row: dict[str, Any], tools: dict[str, ToolSpec], domain: str = "dailylifeapis"
) -> Example:
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
        calls.append(ToolCall(name, _arguments(node.get("arguments", []), i, tools[name])))
        if tools[name] not in used:
            used.append(tools[name])
    row_id = row.get("id", row["_row"])
    ex = Example(
        # the daily-life rows keep the ids they always had; the other domains' may repeat them
        f"taskbench-{row_id}" if domain == "dailylifeapis" else f"taskbench-{domain}-{row_id}",
        "taskbench",
        str(query),
        tuple(used),
        tuple(calls),
        domain=domain,
    )
    return validate_example(ex)
