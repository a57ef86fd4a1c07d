"""BFCL v4 question files + ``possible_answer/``.

Each parameter's ground truth is a list of acceptable values: we take the first one, and skip a
parameter whose list contains ``""`` (the benchmark's way of saying it may be omitted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from asktoact.data.sources.base import (
    Rejects,
    RowError,
    read_rows,
    validate_example,
    without_meta,
)
from asktoact.data.sources.xlam import parse_tool
from asktoact.schema import Example, ToolCall

CATEGORIES = ("simple_python", "multiple", "parallel")


def load(
    path: str,
    categories: list[str] | tuple[str, ...] = CATEGORIES,
    version: str = "v4",
    name: str = "bfcl",
    rejects: Rejects | None = None,
) -> list[Example]:
    rejects = rejects if rejects is not None else Rejects()
    folder = Path(path)
    examples = []
    for cat in categories:
        file = f"BFCL_{version}_{cat}.json"
        answers = {r["id"]: r for r in read_rows(folder / "possible_answer" / file, name, rejects)}
        for row in read_rows(folder / file, name, rejects):
            try:
                examples.append(parse_row(row, answers.get(row.get("id")), cat))
            except RowError as err:
                rejects.add(name, row.get("id", f"{file}:{row['_row']}"), err, without_meta(row))
    return examples


def parse_row(row: dict[str, Any], answer: dict[str, Any] | None, category: str) -> Example:
    if not row.get("id"):
        raise RowError("id", "missing field")
    if answer is None:
        raise RowError("possible_answer", f"no ground truth for id {row['id']!r}")
    turns = row.get("question")
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], list):
        raise RowError("question", "expected a list of turns of chat messages")
    query = " ".join(m.get("content", "") for m in turns[0] if m.get("role") == "user").strip()
    if not query:
        raise RowError("question", "no user message in the first turn")
    funcs = row.get("function")
    if not isinstance(funcs, list) or not funcs:
        raise RowError("function", "missing field")
    tools = tuple(parse_tool(f, i) for i, f in enumerate(funcs))
    calls = []
    for i, gt in enumerate(answer.get("ground_truth", [])):
        if not isinstance(gt, dict) or len(gt) != 1:
            raise RowError(f"ground_truth[{i}]", "expected one {function: {param: [values]}}")
        ((fname, params),) = gt.items()
        args = []
        for pname, accepted in params.items():
            if not isinstance(accepted, list) or not accepted:
                raise RowError(f"ground_truth[{i}].{pname}", "expected a non-empty list of values")
            if "" in accepted:
                continue
            args.append((pname, accepted[0]))
        calls.append(ToolCall(fname, tuple(args)))
    ex = Example(f"bfcl-{row['id']}", "bfcl", query, tools, tuple(calls), domain=category)
    return validate_example(ex)
