"""Which BFCL entries a run scores, and what BFCL's checker said about each.

The entries are a seeded sample of each category's ids (``limit`` per category, ``null`` for all),
the same for every model scored with the same settings, so rows can be compared entry by entry.
BFCL writes, per model and category, a result file (one line per generated entry) and a score
file whose first line is the summary and whose other lines are the entries it failed; an entry
generated and not listed as failed is correct.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

VERSION_PREFIX = "BFCL_v4"


def category_ids(data_dir: Path, category: str) -> list[str]:
    path = data_dir / f"{VERSION_PREFIX}_{category}.json"
    if not path.exists():
        known = sorted(
            p.stem[len(VERSION_PREFIX) + 1 :] for p in data_dir.glob(f"{VERSION_PREFIX}_*.json")
        )
        raise FileNotFoundError(
            f"bfcl.categories: no category {category!r} in {data_dir}; known: {', '.join(known)}"
        )
    return [
        json.loads(line)["id"]
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def choose(
    data_dir: Path,
    categories: list[str],
    limit: int | None,
    seed: int,
    exclude: set[str] = frozenset(),
) -> dict[str, list[str]]:
    """``limit`` ids per category (all when null), drawn with ``seed``, never one in ``exclude``
    (entries a model was trained on), in BFCL's own order."""
    chosen = {}
    for category in categories:
        ids = [i for i in category_ids(data_dir, category) if i not in exclude]
        picked = (
            ids
            if limit is None or limit >= len(ids)
            else random.Random(f"{seed}:{category}").sample(ids, limit)
        )
        chosen[category] = sorted(picked, key=ids.index)
    return chosen


def _lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``path``; a line cut short by a kill is dropped (and regenerated)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _file(root: Path, kind: str, model: str, category: str) -> Path | None:
    found = sorted((root / kind / model).rglob(f"{VERSION_PREFIX}_{category}_{kind}.json"))
    return found[0] if found else None


def repair_results(root: Path, model: str) -> int:
    """Rewrite result files without lines a kill cut short, so BFCL resumes on whole entries;
    returns how many lines were dropped."""
    dropped = 0
    for path in (root / "result" / model).rglob(f"{VERSION_PREFIX}_*_result.json"):
        written = [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        rows = _lines(path)
        if len(rows) != len(written):
            dropped += len(written) - len(rows)
            path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return dropped


def outcomes(root: Path, model: str, category: str, ids: list[str]) -> list[dict[str, Any]]:
    """One ``{"id", "correct", "error_type"}`` per chosen entry, from BFCL's own files; an entry
    BFCL did not generate is an error, never a silent gap."""
    result, score = _file(root, "result", model, category), _file(root, "score", model, category)
    if result is None or score is None:
        raise RuntimeError(
            f"BFCL wrote no {'result' if result is None else 'score'} file for {category} under {root}"
        )
    generated = {r["id"] for r in _lines(result)}
    missing = [i for i in ids if i not in generated]
    if missing:
        raise RuntimeError(
            f"BFCL generated no reply for {len(missing)} {category} entries ({missing[:3]} …)"
        )
    failed = {r["id"]: r.get("error_type", "failed") for r in _lines(score)[1:] if "id" in r}
    return [{"id": i, "correct": i not in failed, "error_type": failed.get(i)} for i in ids]
