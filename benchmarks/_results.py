"""Where every benchmark puts its JSON: stdout and ``benchmarks/results/<name>.json``."""

from __future__ import annotations

import json
from pathlib import Path


def emit(name: str, results: dict) -> None:
    text = json.dumps(results, indent=2)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(text + "\n")
    print(text)
