"""AskToAct Table 4 from recorded ``asktoact-chat`` sessions: one row per assistant.

Task completion rate (the person said the task was completed), intent coverage rate (clarified
over unspecified intents, summed over sessions), interaction rounds (mean) and user satisfaction
(mean, 1–5), beside the paper's numbers in ``experiments/human_eval/paper.csv``.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

from asktoact.eval.metrics import icr
from asktoact.io import read_jsonl_log, write_text
from asktoact.paths import EXPERIMENTS_DIR

COLUMNS = ("sessions", "rated", "TCR", "ICR", "IR", "satisfaction")


def sessions(roots: list[str | Path]) -> list[dict[str, Any]]:
    found = []
    for root in map(Path, roots):
        for path in sorted(root.rglob("chat_transcripts.jsonl")) if root.exists() else []:
            found += read_jsonl_log(path)[0]
    return found


def table4(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_agent: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in found:
        by_agent[s["agent"]].append(s)
    rows = []
    for agent, group in sorted(by_agent.items()):
        n, intents = len(group), sum(s["intents"] for s in group)
        # Sessions whose input closed before the person rated them count for ICR and IR only.
        rated = [s for s in group if s.get("completed") is not None]
        rows.append(
            {
                "agent": agent,
                "sessions": n,
                "rated": len(rated),
                "TCR": 100 * sum(s["completed"] for s in rated) / len(rated) if rated else None,
                "ICR": 100 * icr(sum(s["clarified"] for s in group), intents),
                "IR": sum(s["rounds"] for s in group) / n,
                "satisfaction": sum(s["satisfaction"] for s in rated) / len(rated)
                if rated
                else None,
            }
        )
    return rows


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def write_table4(roots: list[str | Path], out_dir: str | Path) -> list[Path]:
    rows = table4(sessions(roots))
    if not rows:
        return []
    with open(EXPERIMENTS_DIR / "human_eval" / "paper.csv") as fh:
        paper = list(csv.DictReader(fh))
    head = (
        "| assistant | sessions (rated) | task completion (%) | intent coverage (%) | rounds "
        "| satisfaction |"
    )
    lines = ["# AskToAct Table 4 (human-interactive evaluation)", "", "Ours:", "", head]
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    lines += [
        f"| {r['agent']} | {r['sessions']} ({r['rated']}) | {_num(r['TCR'], 1)} | "
        f"{r['ICR']:.1f} | {r['IR']:.2f} | {_num(r['satisfaction'], 2)} |"
        for r in rows
    ]
    lines += ["", "Paper (3 people, 10 queries each):", "", head.replace("sessions (rated)", "—")]
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    lines += [
        f"| {p['row']} | | {p['TCR']} | {p['ICR']} | {p['IR']} | {p['satisfaction']} |"
        for p in paper
    ]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["agent", *COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    out = Path(out_dir)
    write_text(out / "human_eval.md", "\n".join(lines) + "\n")
    write_text(out / "human_eval.csv", buf.getvalue())
    return [out / "human_eval.md", out / "human_eval.csv"]
