"""xlam-function-calling-60k: ``query``, ``tools`` and ``answers`` as JSON strings.

Real path: ``datasets.load_dataset("Salesforce/xlam-function-calling-60k")`` (gated on the hub; log
in or pass a local copy). Local JSON/JSONL/parquet files in the same schema load the same way.
"""

from __future__ import annotations

from typing import Any

from asktoact.configurable import configurable
from asktoact.data.sources.base import (
    Rejects,
    RowError,
    normalise_type,
    parse_json_field,
    read_rows,
    require,
    validate_example,
    without_meta,
)
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec

HUB_ID = "Salesforce/xlam-function-calling-60k"


@configurable(exclude=("rejects",))
def load(
    path: str | None = None,
    hub_id: str = HUB_ID,
    split: str = "train",
    name: str = "xlam",
    rejects: Rejects | None = None,
) -> list[Example]:
    rejects = rejects if rejects is not None else Rejects()
    if path:
        rows = read_rows(path, name, rejects)
    else:
        import datasets

        ds = datasets.load_dataset(hub_id, split=split)
        rows = [{**r, "_row": i + 1} for i, r in enumerate(ds)]
    examples = []
    for row in rows:
        row_id = row.get("id", row["_row"])
        try:
            examples.append(parse_row(row))
        except RowError as err:
            rejects.add(name, row_id, err, without_meta(row))
    return examples


def parse_tool(raw: Any, index: int) -> ToolSpec:
    if not isinstance(raw, dict) or not raw.get("name"):
        raise RowError(f"tools[{index}].name", "missing field")
    params = raw.get("parameters") or {}
    required = set(params.get("required", [])) if "properties" in params else None
    props = params.get("properties", params) if isinstance(params, dict) else None
    if not isinstance(props, dict):
        raise RowError(f"tools[{index}].parameters", "expected an object of parameters")
    specs = []
    for name, spec in props.items():
        spec = spec if isinstance(spec, dict) else {}
        ptype, optional = normalise_type(spec.get("type"))
        is_required = (name in required) if required is not None else not optional
        specs.append(
            ParamSpec(
                name, ptype, str(spec.get("description", "")), is_required, spec.get("default")
            )
        )
    return ToolSpec(str(raw["name"]), str(raw.get("description", "")), tuple(specs))


def parse_row(row: dict[str, Any]) -> Example:
    query = require(row, "query")
    tools_raw = parse_json_field(row, "tools")
    answers = parse_json_field(row, "answers")
    if not isinstance(tools_raw, list):
        raise RowError("tools", "expected a JSON list")
    if not isinstance(answers, list):
        raise RowError("answers", "expected a JSON list")
    tools = tuple(parse_tool(t, i) for i, t in enumerate(tools_raw))
    calls = []
    for i, ans in enumerate(answers):
        if not isinstance(ans, dict) or not ans.get("name"):
            raise RowError(f"answers[{i}].name", "missing field")
        args = ans.get("arguments") or {}
        if not isinstance(args, dict):
            raise RowError(f"answers[{i}].arguments", "expected an object")
        calls.append(ToolCall(str(ans["name"]), tuple(args.items())))
    row_id = row.get("id", row.get("_row"))
    ex = Example(f"xlam-{row_id}", "xlam", str(query), tools, tuple(calls), domain=_domain(calls))
    return validate_example(ex)


def _domain(calls: list[ToolCall]) -> str:
    """xlam has no domain field; the first API name's leading word is the closest stand-in."""
    return calls[0].task.split("_")[0].lower() if calls else "unknown"
