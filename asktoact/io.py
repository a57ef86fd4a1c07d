"""Files every stage reads and writes: datasets on disk, JSON artifacts, append-only JSON logs.

Final artifacts are written atomically (a temporary file in the same folder, then ``os.replace``),
so a run killed at any moment never leaves a half-written file under its final name. Append-only
logs (transcripts, rejects) are read back tolerantly: a truncated last line — what a kill during a
write leaves — is dropped (and counted) so the rerun redoes that entry.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from asktoact.errors import MissingInput


def resolve_dataset_dir(path: str | Path) -> Path:
    """A generate output dir (holding ``dataset/``) or the DatasetDict dir itself."""
    path = Path(path)
    if (path / "dataset" / "dataset_dict.json").exists():
        return path / "dataset"
    if (path / "dataset_dict.json").exists():
        return path
    raise MissingInput(
        f"data.path={path}: no DatasetDict here (expected dataset_dict.json or dataset/: a "
        "folder asktoact-generate wrote)"
    )


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` that takes its place only when the block succeeds.

    A folder cannot be swapped in one ``os.replace`` over a non-empty one, so an old ``path`` is
    first moved aside: a kill in between leaves no ``path`` (the run redoes it), never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.old")
            os.replace(path, old)
            shutil.rmtree(old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_leftovers(folder: str | Path) -> list[str]:
    """Delete the temporaries of writes that a killed process never finished (``.<name>.*.tmp``
    and ``.<name>.*.old`` beside their targets); call it where a run starts on its own folder."""
    folder, gone = Path(folder), []
    for leftover in [*folder.glob(".*.tmp"), *folder.glob(".*.old")] if folder.is_dir() else []:
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        gone.append(leftover.name)
    return gone


def markdown_table(head: list[str], body: list[list[Any]], left: int) -> list[str]:
    """The lines of a Markdown table: the first ``left`` columns left-aligned, the rest right.
    A cell's "|" (a row key such as cross_model's "{model_name}|{adapter_name}") is escaped, or
    it would split the cell."""
    sep = ["---"] * left + ["---:"] * (len(head) - left)
    body = [[str(cell).replace("|", r"\|") for cell in r] for r in body]
    return ["| " + " | ".join(r) + " |" for r in (head, sep, *body)]


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=indent, sort_keys=True, default=str)
    write_text(path, text + "\n")


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    lines = (json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) + "\n" for r in rows)
    write_text(path, "".join(lines))


def write_csv(path: str | Path, fields: list[str], rows: list[dict[str, Any]]) -> None:
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, buf.getvalue())


def read_jsonl_log(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The complete entries of an append-only JSON-lines log, and how many broken lines were
    dropped (a kill mid-write leaves at most the last one truncated)."""
    path = Path(path)
    if not path.exists():
        return [], 0
    rows, broken = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            broken += 1
    return rows, broken


def rewrite_jsonl_log(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Replace a log by its complete entries (after :func:`read_jsonl_log` found broken ones)."""
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    write_text(path, lines)
