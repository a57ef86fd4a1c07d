"""What every loader shares: type normalisation, row validation and the rejects log."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asktoact.io import write_jsonl
from asktoact.schema import Example

_TYPE_ALIASES = {
    "str": "string",
    "string": "string",
    "date": "string",
    "time": "string",
    "text": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "double": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "tuple": "array",
    "dict": "object",
    "object": "object",
    "any": "string",
}


def normalise_type(raw: Any) -> tuple[str, bool]:
    """Map a source's type string to (json-schema-like type, optional flag).

    Handles xlam's ``"str, optional"`` and ``"List[int]"`` as well as plain JSON-schema names.
    """
    text = str(raw or "string").strip()
    optional = bool(re.search(r",\s*optional\b", text, re.I))
    head = re.split(r"[,\[(|]", text, maxsplit=1)[0].strip().lower()
    return _TYPE_ALIASES.get(head, "string"), optional


_QUOTED = re.compile(r"'[^']*'")


class RowError(ValueError):
    """A row that cannot become an Example; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass
class Rejects:
    """Rows a loader or stage could not use, each with its source, row id, field and reason."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, source: str, row: Any, error: RowError | str, raw: Any = None) -> None:
        fld, reason = (error.field, error.reason) if isinstance(error, RowError) else ("", error)
        entry = {"source": source, "row": row, "field": fld, "reason": reason}
        if raw is not None:
            entry["raw"] = _truncate(raw)
        self.rows.append(entry)

    def counts(self) -> dict[str, int]:
        """Rejects per source and reason, with quoted names folded ("unknown tool '…'")."""
        keys = (r["source"] + ": " + _QUOTED.sub("'…'", r["reason"]) for r in self.rows)
        return dict(sorted(Counter(keys).items()))

    def write(self, path: Path) -> None:
        write_jsonl(path, self.rows)


def _truncate(raw: Any, limit: int = 2000) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def parse_json_field(row: dict[str, Any], name: str) -> Any:
    """A field that is a JSON string in the source (xlam's ``tools``/``answers``), or already parsed."""
    if name not in row or row[name] is None:
        raise RowError(name, "missing field")
    value = row[name]
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(name, f"unparsable JSON string ({exc.msg} at char {exc.pos})") from None
    return value


def require(row: dict[str, Any], name: str) -> Any:
    value = row.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowError(name, "missing field")
    return value


def validate_example(ex: Example) -> Example:
    """Reject a solution that is empty or names a tool or parameter the tool list lacks."""
    if not ex.solution:
        raise RowError("solution", "empty solution")
    for i, call in enumerate(ex.solution):
        tool = ex.tool(call.task)
        if tool is None:
            raise RowError(f"solution[{i}].task", f"unknown tool {call.task!r}")
        for name, _ in call.arguments:
            if tool.param(name) is None:
                raise RowError(
                    f"solution[{i}].arguments.{name}",
                    f"unknown parameter {name!r} for tool {call.task!r}",
                )
    return ex


def read_rows(path: str | Path, source: str, rejects: Rejects) -> list[dict[str, Any]]:
    """Rows of a local JSON list, JSON Lines or parquet file.

    JSON is parsed line by line (not through ``datasets``) so that one broken line becomes a reject
    instead of failing the file, and so that mixed-type values (BFCL) need no common Arrow schema.
    Each row gets ``_row`` (1-based line or index) for error messages.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.suffix == ".parquet":
        import datasets

        rows = datasets.load_dataset("parquet", data_files=str(path), split="train").to_list()
        return [{**r, "_row": i + 1} for i, r in enumerate(rows)]
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return [{**r, "_row": i + 1} for i, r in enumerate(json.loads(text))]
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            rejects.add(
                source, f"{path.name}:{n}", RowError("line", f"unparsable JSON ({exc.msg})"), line
            )
            continue
        if not isinstance(row, dict):
            rejects.add(
                source, f"{path.name}:{n}", RowError("line", "row is not a JSON object"), line
            )
            continue
        rows.append({**row, "_row": n})
    return rows


def without_meta(row: dict[str, Any]) -> dict[str, Any]:
    """The row as the source wrote it (drops the ``_row`` locator read_rows adds)."""
    return {k: v for k, v in row.items() if k != "_row"}
