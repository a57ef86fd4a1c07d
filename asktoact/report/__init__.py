"""Reports: tables of our runs beside the papers' numbers, and the plots (``make tables``)."""

from __future__ import annotations

import logging
from pathlib import Path


def build_reports(
    runs_dir: str | Path = "multirun",
    out_dir: str | Path = "reports",
    chat_dirs: list[str | Path] = (),
) -> list[Path]:
    """Every table and plot from whatever experiment runs exist under ``runs_dir``, and Table 4
    from the ``asktoact-chat`` sessions recorded under ``chat_dirs``."""
    from asktoact.bfcl import scores as bfcl_scores
    from asktoact.report import plots
    from asktoact.report.bfcl_rows import job_rows
    from asktoact.report.human import write_table4
    from asktoact.report.tables import collect, load_spec, table_experiments, write_tables

    runs = collect(runs_dir)
    if not runs:
        logging.getLogger(__name__).warning(
            "no experiment runs (metrics.json with labels) under %s: no experiment table written; "
            "run make reproduce, or asktoact-job --multirun experiment=<name>",
            runs_dir,
        )
    out = Path(out_dir)
    written = write_tables(runs, out) + write_table4(list(chat_dirs), out)
    bfcl = bfcl_scores.write_report(job_rows(runs), out)  # jobs with bfcl.enabled
    written += [bfcl] if bfcl else []
    for exp in table_experiments():
        for kind in load_spec(exp).get("plots", []):  # what the experiment's table.yaml asks for
            path = plots.plot(kind)(exp, runs, out)
            if path:
                written.append(path)
    return written
