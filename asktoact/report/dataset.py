"""``reports/dataset.md``: every dataset built, in the shape of AskToAct Tables 1 and 2.

For each source: Table 1's columns (rows, average APIs, parameters and unspecified intents per
dialogue) beside the paper's xlam-IC and Taskbench-IC, what was lost on the way (rejects, rows
whose values no rule can locate, drops per stage), and the complexity levels Algorithm 1 drew
beside the levels still there after each stage — a stage that drops rows of some levels more than
others would show here as a shift. Table 2 (the error-type mix) for datasets with augmentation.
"""

from __future__ import annotations

from typing import Any

from asktoact.constants import LEVELS
from asktoact.data.augment import ERROR_TYPES

PAPER_TABLE1 = {
    "xlam-IC": {"train": 29821, "test": 4456, "apis": 1.58, "params": 2.49, "intents": 1.32},
    "Taskbench-IC": {"train": None, "test": 984, "apis": 1.75, "params": 2.35, "intents": 1.30},
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


def _fmt(v: Any) -> str:
    return "–" if v is None else str(v)


def table1(manifest: dict[str, Any]) -> str:
    s = manifest["splits"]
    ours = {
        "train": s.get("train", {}).get("rows", 0),
        "test": s.get("test", {}).get("rows", 0),
        "apis": _overall(manifest, "avg_apis"),
        "params": _overall(manifest, "avg_params"),
        "intents": _overall(manifest, "avg_unspecified_intents"),
    }
    names = {
        "train": "train rows",
        "test": "test rows",
        "apis": "avg APIs",
        "params": "avg params",
        "intents": "avg unspecified intents",
    }
    head = "| statistic | ours | paper xlam-IC | paper Taskbench-IC |"
    lines = [head, "| --- | ---: | ---: | ---: |"]
    for k, label in names.items():
        paper = [_fmt(PAPER_TABLE1[d][k]) for d in PAPER_TABLE1]
        lines.append(f"| {label} | {ours[k]} | {' | '.join(paper)} |")
    return "\n".join(lines)


def levels(manifest: dict[str, Any]) -> str:
    """Drawn vs kept levels, in percent of each column's rows (counts in brackets)."""
    stages = manifest.get("sampling", {}).get("levels", {})
    if not stages:
        return "(no level record in this manifest)"
    head = "| level | " + " | ".join(stages) + " |"
    lines = [head, "| --- |" + " ---: |" * len(stages)]
    totals = {k: sum(v.values()) for k, v in stages.items()}
    for level in map(str, LEVELS):
        cells = [
            f"{100 * c[level] / totals[k]:.1f} % ({c[level]})" if totals[k] else "–"
            for k, c in stages.items()
        ]
        lines.append(f"| {level} ({LEVELS[int(level)]}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table2(manifest: dict[str, Any]) -> str:
    ours = manifest["splits"]["train"]["error_types"]
    mix = manifest.get("augmentation", {})
    lines = [
        "| error type | ours | share | configured share | paper |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for t in ERROR_TYPES:
        realised = mix.get("mix_realised", {}).get(t)
        configured = mix.get("mix_configured", {}).get(t)
        share = "–" if realised is None else f"{100 * realised:.1f} %"
        conf = "–" if configured is None else f"{100 * configured:.1f} %"
        lines.append(f"| {t} | {ours[t]} | {share} | {conf} | {PAPER_TABLE2[t]} |")
    lines.append(f"| total | {sum(ours.values())} | | | {sum(PAPER_TABLE2.values())} |")
    return "\n".join(lines)


def section(label: str, manifest: dict[str, Any]) -> str:
    c = manifest["counts"]
    sampling = manifest.get("sampling", {})
    lost = c["selected"] - c["final"]
    parts = [
        f"## {label}",
        f"Source `{manifest['source']}`, LLM `{manifest['llm']}`, seed {manifest['seed']}. "
        f"Loaded {c['loaded']} rows (rejected {c['rejected']} malformed), selected "
        f"{c['selected']}; lost {lost} ({100 * lost / max(c['selected'], 1):.1f} %): "
        f"underspecify {c['underspecify_failed']}, quality {c['quality_dropped']}, clarify "
        f"{c['clarify_failed']}; final {c['final']}. Rows with no value a rule can locate: "
        f"{sampling.get('rows_with_no_locatable_parameter', '–')} (they stay fully specified).",
        "### Table 1",
        table1(manifest),
        "### Complexity levels: drawn by Algorithm 1, and kept after each stage",
        levels(manifest),
    ]
    if manifest["splits"].get("train", {}).get("augmented"):
        parts += ["### Table 2: augmented dialogues by error type (train split)", table2(manifest)]
    if manifest.get("length_fit"):
        parts += ["### Dialogues beyond the training length", length_fit(manifest)]
    return "\n\n".join(parts)


def length_fit(manifest: dict[str, Any]) -> str:
    """Per model and masking that trained on the dataset: the dialogues its ``max_length`` cut
    (final turn lost) or refused, counted before training (asktoact/train/fit.py)."""
    lines = [
        "| model | masking | max length | split | dialogues | cut | refused | longest kept |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for fit in sorted(manifest["length_fit"].values(), key=lambda f: (f["model"], f["masking"])):
        for split, c in sorted(fit["splits"].items(), key=lambda kv: kv[0] != "train"):
            lines.append(
                f"| {fit['model']} | {fit['masking']} | {fit['max_length']} | {split} | "
                f"{c['dialogues']} | {c['cut']} | {c['refused']} | {c['longest_kept']} |"
            )
    return "\n".join(lines)


def render(manifests: dict[str, dict[str, Any]], title: str = "Dataset report") -> str:
    """One section per dataset, keyed by its label."""
    sections = [section(label, m) for label, m in manifests.items()]
    return "\n\n".join([f"# {title}", *sections]) + "\n"
