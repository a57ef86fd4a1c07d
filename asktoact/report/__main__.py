"""``python -m asktoact.report [RUNS_DIR] [OUT_DIR]`` (= ``make tables``): rebuild every table and
plot from whatever experiment runs exist under RUNS_DIR (default ``multirun``) into OUT_DIR
(default ``reports``)."""

from __future__ import annotations

import sys
from pathlib import Path

from asktoact.report import plots
from asktoact.report.tables import collect, write_tables


def build_reports(runs_dir: str | Path = "multirun", out_dir: str | Path = "reports") -> list[Path]:
    runs = collect(runs_dir)
    out = Path(out_dir)
    written = write_tables(runs, out)
    for make in (plots.aug_sweep, plots.complexity):
        path = make(runs, out)
        if path:
            written.append(path)
    return written


def main() -> None:
    args = sys.argv[1:]
    written = build_reports(*args[:2])
    print("\n".join(map(str, written)) or "no experiment runs found")


if __name__ == "__main__":
    main()
