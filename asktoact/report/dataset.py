"""Dataset tables in the shape of AskToAct Tables 1 and 2, ours beside the paper's.

The paper's numbers are xlam-IC (GPT-4o rewrites of xlam-function-calling-60k); a tiny offline
run on the demo corpus is expected to differ in size and mix, and the table labels it so.
"""

from __future__ import annotations

from typing import Any

from asktoact.constants import ERROR_TYPES

PAPER_TABLE1 = {  # xlam-IC
    "train_rows": 29821,
    "test_rows": 4456,
    "avg_apis": 1.58,
    "avg_params": 2.49,
    "avg_unspecified_intents": 1.32,
}
PAPER_TABLE2 = {
    "clearly_stated": 2481,
    "imprecise": 2298,
    "irrelevant": 2251,
    "redundant": 3126,
    "incomplete": 5000,
}


def _overall(manifest: dict[str, Any], key: str) -> float:
    splits = manifest["splits"].values()
    rows = sum(s["rows"] for s in splits)
    return round(sum(s[key] * s["rows"] for s in splits) / rows, 2) if rows else 0.0


def table1(manifest: dict[str, Any], label: str) -> str:
    s = manifest["splits"]
    ours = {
        "train_rows": s["train"]["rows"],
        "test_rows": s["test"]["rows"],
        "avg_apis": _overall(manifest, "avg_apis"),
        "avg_params": _overall(manifest, "avg_params"),
        "avg_unspecified_intents": _overall(manifest, "avg_unspecified_intents"),
    }
    lines = [
        f"| statistic | ours ({label}) | paper (xlam-IC) |",
        "| --- | ---: | ---: |",
        *(f"| {k} | {ours[k]} | {PAPER_TABLE1[k]} |" for k in PAPER_TABLE1),
    ]
    return "\n".join(lines)


def table2(manifest: dict[str, Any], label: str) -> str:
    ours = manifest["splits"]["train"]["error_types"]
    lines = [
        f"| error type | ours ({label}) | paper |",
        "| --- | ---: | ---: |",
        *(f"| {t} | {ours[t]} | {PAPER_TABLE2[t]} |" for t in ERROR_TYPES),
        f"| total | {sum(ours.values())} | {sum(PAPER_TABLE2.values())} |",
    ]
    return "\n".join(lines)


def levels(manifest: dict[str, Any]) -> str:
    rows = [
        "| split | level 0 | level 1 | level 2 | level 3 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, split in manifest["splits"].items():
        rows.append(
            f"| {name} | " + " | ".join(str(split["levels"][str(k)]) for k in range(4)) + " |"
        )
    return "\n".join(rows)


def render(manifest: dict[str, Any], label: str) -> str:
    c = manifest["counts"]
    return (
        "\n\n".join(
            [
                f"# Dataset report ({label})",
                f"Source `{manifest['source']}`, LLM `{manifest['llm']}`, seed {manifest['seed']}. "
                f"Loaded {c['loaded']}, rejected {c['rejected']}, selected {c['selected']}, "
                f"underspecify failed {c['underspecify_failed']}, quality dropped "
                f"{c['quality_dropped']}, clarify failed {c['clarify_failed']}, final {c['final']}.",
                "## Table 1: dataset statistics",
                table1(manifest, label),
                "## Table 2: augmented dialogues by error type (train split)",
                table2(manifest, label),
                "## Complexity levels (Algorithm 1)",
                levels(manifest),
            ]
        )
        + "\n"
    )
