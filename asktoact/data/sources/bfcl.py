"""BFCL v4 question files + ``possible_answer/``, every category found in the folder.

A category is a question file ``BFCL_<version>_<category>.json`` (JSON Lines: id, question =
turns of chat messages, function = tool specs) with its ground truth in
``possible_answer/BFCL_<version>_<category>.json``. Every category present is read unless
``categories`` names some; a named category whose file is missing is an error. Each parameter's
ground truth is a list of acceptable values: we take the first one, and skip a parameter whose
list contains ``""`` (the benchmark's way of saying it may be omitted).

Two kinds of file are recognised and rejected once per file, with the reason, instead of row by
row: multi-turn categories (``multi_turn_*``: several user turns against a stateful API
environment, a different format this loader does not read), and categories without ground truth
(``irrelevance`` and the like, which test that no call is made).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asktoact.configurable import configurable
from asktoact.data.sources.base import (
    Rejects,
    RowError,
    read_rows,
    validate_example,
    without_meta,
)
from asktoact.data.sources.xlam import parse_tool
from asktoact.schema import Example, ToolCall

ID_PREFIX = "bfcl-"  # our example id of a BFCL entry: the prefix and BFCL's own id


@configurable(exclude=("rejects",))
def load(
    path: str,
    categories: list[str] | None = None,
    version: str = "v4",
    name: str = "bfcl",
    rejects: Rejects | None = None,
) -> list[Example]:
    rejects = rejects if rejects is not None else Rejects()
    folder = Path(path)
    found = present_categories(folder, version)
    if categories is None:
        if not found:
            raise FileNotFoundError(f"data.path={folder}: no BFCL_{version}_*.json question files")
        categories = found
    examples = []
    for cat in categories:
        file = f"BFCL_{version}_{cat}.json"
        if not (folder / file).exists():
            raise FileNotFoundError(f"data.categories names {cat!r} but {folder / file} is absent")
        reason = _unreadable(folder, file, cat)
        if reason:
            rejects.add(name, file, RowError("file", reason))
            continue
        answers = {r["id"]: r for r in read_rows(folder / "possible_answer" / file, name, rejects)}
        for row in read_rows(folder / file, name, rejects):
            try:
                examples.append(parse_row(row, answers.get(row.get("id")), cat))
            except RowError as err:
                rejects.add(name, row.get("id", f"{file}:{row['_row']}"), err, without_meta(row))
    return examples


def present_categories(folder: Path, version: str = "v4") -> list[str]:
    prefix = f"BFCL_{version}_"
    return sorted(p.stem[len(prefix) :] for p in folder.glob(f"{prefix}*.json"))


def _unreadable(folder: Path, file: str, category: str) -> str | None:
    """Why a whole category file cannot give examples, or None."""
    if category.startswith("multi_turn") or _first_row_is_multi_turn(folder / file):
        return (
            f"multi-turn category {category!r}: conversations of several user turns against a "
            "stateful API environment, a format this loader does not read (single-turn only)"
        )
    if not (folder / "possible_answer" / file).exists():
        return (
            f"no possible_answer/{file}: category {category!r} has no ground-truth calls (such "
            "categories test that no call is made), so there is nothing to clarify"
        )
    return None


def _first_row_is_multi_turn(path: Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        first = fh.readline().strip()
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    turns = row.get("question") if isinstance(row, dict) else None
    return "initial_config" in row or (isinstance(turns, list) and len(turns) > 1)


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
    ex = Example(f"{ID_PREFIX}{row['id']}", "bfcl", query, tools, tuple(calls), domain=category)
    return validate_example(ex)


def data_folder(folder: str) -> str:
    """``folder`` when it holds BFCL question files; otherwise the BFCL v4 data shipped inside
    the ``bfcl-eval`` package (installed without its dependencies by ``make install``), so a
    fresh machine builds dialogues from real BFCL rows; ``folder`` again when neither exists
    (the loader's error then names it)."""
    import importlib.util

    if present_categories(Path(folder)):
        return folder
    spec = importlib.util.find_spec("bfcl_eval")  # found, never imported: it pulls in every SDK
    shipped = Path(spec.origin).parent / "data" if spec and spec.origin else None
    return str(shipped) if shipped and present_categories(shipped) else folder
