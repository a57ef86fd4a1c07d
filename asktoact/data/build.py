"""Run the whole data pipeline and write the dataset, its exports and its manifest.

Outputs in ``out_dir``: ``dataset/`` (HF DatasetDict, train/test, via ``save_to_disk``),
``train.jsonl``/``test.jsonl``, ``sharegpt/`` (LLaMA-Factory ``dataset_info.json`` + data),
``records.jsonl`` (transformation records as used), ``rejects.jsonl`` (malformed source rows),
``dropped.jsonl`` (rows a stage or quality control removed, with the reason) and
``manifest.json`` (counts per stage, Table 1/2-style statistics, LLM calls and cost).
Every random choice is seeded per row, so the same config gives byte-identical files.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig
from tqdm.auto import tqdm

from asktoact import faults
from asktoact.configurable import UNIT, RunConfig
from asktoact.configurable import config_field as F
from asktoact.constants import LEVELS
from asktoact.data import assemble, augment, clarify, locate, quality, sampling, underspecify
from asktoact.data.sources.base import Rejects
from asktoact.data.splits import split
from asktoact.data.templates import SYSTEM_PROMPT
from asktoact.errors import ConfigError
from asktoact.identity import as_json, identity_of
from asktoact.io import atomic_dir, remove_leftovers, write_json, write_jsonl, write_text
from asktoact.llm import LLMStats
from asktoact.schema import Example, TransformationRecord, solution_to_json

log = logging.getLogger(__name__)


def load_examples(data_cfg: DictConfig, rejects: Rejects) -> list[Example]:
    # _partial_: Hydra would turn the Rejects dataclass into a config node if passed as a kwarg.
    return instantiate(data_cfg, _partial_=True, _convert_="all")(rejects=rejects)


def rows_for(records, examples: dict[str, Example], seed: int, desc: str) -> list[dict[str, Any]]:
    """One dataset row per record: the assembled dialogue plus the record as JSON (``record``)."""
    rows = []
    for rec in tqdm(records, desc=f"assemble {desc}", unit="dlg", leave=False):
        ex = examples[rec.id]
        err = assemble.find_error(rec)
        rows.append(
            {
                "id": rec.id,
                "source": ex.source,
                "domain": ex.domain,
                "level": rec.level,
                "n_calls": len(rec.key_info),
                "n_params": ex.n_params,
                "n_removed": len(rec.removed()),
                "augmented": err is not None,
                "error_type": err["type"] if err else "",
                "messages": assemble.build_messages(ex, rec, seed),
                "solution": solution_to_json(rec.solution()),
                "tools": json.dumps(
                    [t.to_dict() for t in ex.tools], ensure_ascii=False, default=str
                ),
                "record": json.dumps(
                    rec.to_dict(), ensure_ascii=False, default=str, sort_keys=True
                ),
            }
        )
    return rows


def build(cfg: DictConfig, out_dir: str | Path) -> dict[str, Any]:
    """The pipeline end to end; returns the manifest (also written to ``out_dir``)."""
    from asktoact.data.trajectory_build import build_trajectories, is_trajectory_source

    if is_trajectory_source(cfg.data):  # tool-use trajectories: no LLM, no clarification stages
        return build_trajectories(cfg, Path(out_dir))
    llm = instantiate(cfg.llm)  # None for the rules backend
    try:
        if llm is not None:
            llm.probe("llm")  # a refused key or a dead endpoint stops the run before any row
        return _build(cfg, Path(out_dir), llm)
    finally:
        if llm is not None:
            llm.close()


def _build(cfg: DictConfig, out: Path, llm) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    seed = int(cfg.seed)
    rejects = Rejects()
    dropped: list[dict[str, str]] = []
    bar = tqdm(total=7, desc="generate", unit="stage")
    examples = load_examples(cfg.data, rejects)
    subset = sampling.stratified_subset(examples, cfg.max_examples, seed)
    by_id = {e.id: e for e in subset}
    if len(by_id) != len(subset):
        raise ValueError(f"data source {cfg.data.name!r} yields duplicate example ids")
    bar.set_postfix_str(f"{len(subset)} examples")
    bar.update()
    # The rules backend can only remove what it can find in the query: Algorithm 1 draws among
    # those values; an LLM rewrites freely and draws among all of them.
    samples, sampling_stats = draw(subset, seed, restrict=llm is None)
    drawn = {e.id: s.level for e, s in zip(subset, samples, strict=True)}
    levels = {"drawn": level_counts(drawn.values())}
    bar.update()

    def stage(name: str, records: list[TransformationRecord], failed) -> None:
        dropped.extend({"id": i, "stage": name, "reason": r} for i, r in failed)
        levels[name] = level_counts(drawn[r.id] for r in records)
        bar.update()

    records, failed = underspecify.run(subset, samples, seed, llm, cfg.sampling.removal_prob)
    stage("underspecify", records, failed)
    scorer = None
    if cfg.quality.enabled:
        scorer = quality.SimilarityScorer(
            cfg.quality.model, cfg.quality.batch_size, cfg.quality.device
        )
    records, failed, qc_counts = quality.run(
        records, cfg.quality.threshold, scorer, cfg.quality.leak_check
    )
    stage("quality", records, failed)
    records, failed = clarify.run(by_id, records, seed, llm)
    stage("clarify", records, failed)

    sizes = list(cfg.split_sizes) if cfg.split_sizes is not None else None
    train, test = split(records, cfg.test_size, seed, sizes)
    unused = len(records) - len(train) - len(test)
    aug = cfg.augmentation
    train, aug_stats = augment.run(train, aug.ratio, seed, dict(aug.mix), llm)
    bar.update()
    splits = {
        "train": rows_for(train, by_id, seed, "train"),
        "test": rows_for(test, by_id, seed, "test"),
    }
    write_outputs(out, splits, rejects, dropped)
    manifest = make_manifest(
        cfg, examples, subset, rejects, dropped, qc_counts, splits, aug_stats, llm
    )
    manifest["sampling"] = {**sampling_stats, "levels": levels}
    manifest["counts"]["splits_unused"] = unused
    if scorer is not None:
        manifest["quality"]["strings_encoded"] = scorer.encoded
    write_json(out / "manifest.json", manifest)
    bar.update()
    bar.close()
    return manifest


def draw(examples: list[Example], seed: int, restrict: bool):
    """Algorithm 1 for every example; with ``restrict``, among the values the rules can locate.
    Also returns how much the restriction left out."""
    samples, no_locatable, params, located = [], 0, 0, 0
    for e in examples:
        allowed = locate.removable_params(e) if restrict else None
        samples.append(
            sampling.sample_parameters(e, random.Random(f"sample:{seed}:{e.id}"), allowed)
        )
        n_all = sum(map(len, sampling.removable_by_call(e)))
        n_ok = sum(map(len, sampling.removable_by_call(e, allowed)))
        params, located = params + n_all, located + n_ok
        no_locatable += n_all > 0 and n_ok == 0
    stats = {
        "restricted_to_locatable": restrict,
        "removable_parameters": params,
        "locatable_parameters": located,
        "rows_with_no_locatable_parameter": no_locatable,
    }
    return samples, stats


def level_counts(levels) -> dict[str, int]:
    counts = Counter(levels)
    return {str(k): counts.get(k, 0) for k in LEVELS}


def ensure_dataset(cfg: DictConfig, out: Path) -> Path:
    """For train/evaluate with ``data.path`` null: build a dataset with their ``generate.*``,
    ``seed``, ``cache_dir``, ``llm`` and ``augmentation`` settings, reused when ``out`` holds a
    complete one built with the same settings (``out/config.json``), rebuilt otherwise."""
    from omegaconf import OmegaConf

    if cfg.get("generate") is None:  # a step nested in a job, which hands it its dataset
        raise ConfigError("data.path: no dataset given, and no generate.* settings to build one")
    overrides = {
        "seed": cfg.seed,
        "cache_dir": cfg.cache_dir,
        "llm": cfg.llm,
        "augmentation": cfg.augmentation,
    }
    # generate.* on the generate schema (it lacks the added keys, which struct mode would
    # refuse), so the identity marks of the llm node (its cache) still leave them out.
    generate = OmegaConf.to_container(cfg.generate, resolve=True)
    gcfg = OmegaConf.merge(OmegaConf.structured(GenerateConfig), generate, overrides)
    identity = as_json(identity_of(gcfg))
    record = out / "config.json"
    if (out / "manifest.json").exists() and record.exists():
        if json.loads(record.read_text()) == identity:
            return out
        log.info("%s was built with other settings: building it again", out)
    build(gcfg, out)
    write_json(record, identity)
    return out


def write_outputs(out: Path, splits, rejects: Rejects, dropped) -> None:
    """Every file but the manifest, which is written last: a folder with a manifest is a complete
    dataset, so the manifest of an earlier build goes first (a kill in between leaves a folder
    that nothing reuses)."""
    import datasets

    (out / "manifest.json").unlink(missing_ok=True)
    remove_leftovers(out)  # of an earlier run of this build that was killed while writing
    for name, rows in splits.items():
        write_jsonl(out / f"{name}.jsonl", rows)
    records = "".join(r["record"] + "\n" for rows in splits.values() for r in rows)
    write_text(out / "records.jsonl", records)  # already JSON in each row
    faults.reached("generate.files")
    write_jsonl(out / "dropped.jsonl", dropped)
    rejects.write(out / "rejects.jsonl")
    with atomic_dir(out / "sharegpt") as tmp:
        write_sharegpt(tmp, splits)
    # from_dict with explicit columns keeps the schema; an empty split is left out of the
    # DatasetDict (datasets cannot load one back from disk) but still has its empty JSONL file.
    dd = datasets.DatasetDict(
        {
            name: datasets.Dataset.from_dict(
                {k: [r[k] for r in rows] for k in FEATURES}, features=FEATURES
            )
            for name, rows in splits.items()
            if rows
        }
    )
    for name in (n for n, rows in splits.items() if not rows):
        log.warning(
            "split %r is empty: written as an empty %s.jsonl, left out of dataset/", name, name
        )
    with atomic_dir(out / "dataset") as tmp:
        dd.save_to_disk(str(tmp))


def _features():
    from datasets import Features, List, Value

    return Features(
        {
            "id": Value("string"),
            "source": Value("string"),
            "domain": Value("string"),
            "level": Value("int32"),
            "n_calls": Value("int32"),
            "n_params": Value("int32"),
            "n_removed": Value("int32"),
            "augmented": Value("bool"),
            "error_type": Value("string"),
            "messages": List({"role": Value("string"), "content": Value("string")}),
            "solution": Value("string"),
            "tools": Value("string"),
            "record": Value("string"),
        }
    )


FEATURES = _features()


def write_sharegpt(folder: Path, splits: dict[str, list[dict[str, Any]]]) -> None:
    """ShareGPT files + ``dataset_info.json`` that LLaMA-Factory's ``dataset_dir`` can point at."""
    folder.mkdir(parents=True, exist_ok=True)
    roles = {"user": "human", "assistant": "gpt"}
    info = {}
    for name, rows in splits.items():
        data = [
            {
                "id": r["id"],
                "system": SYSTEM_PROMPT,
                "conversations": [
                    {"from": roles[m["role"]], "value": m["content"]} for m in r["messages"]
                ],
            }
            for r in rows
        ]
        write_json(folder / f"{name}.json", data)
        info[f"asktoact_{name}"] = {
            "file_name": f"{name}.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        }
    write_json(folder / "dataset_info.json", info)


def _stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 1 columns: rows, avg APIs (calls), avg params, avg unspecified intents."""
    n = len(rows)

    def avg(key: str) -> float:
        return round(sum(r[key] for r in rows) / n, 3) if n else 0.0

    return {
        "rows": n,
        "avg_apis": avg("n_calls"),
        "avg_params": avg("n_params"),
        "avg_unspecified_intents": avg("n_removed"),
        "levels": {str(k): sum(r["level"] == k for r in rows) for k in LEVELS},
        "augmented": sum(r["augmented"] for r in rows),
        "error_types": {t: sum(r["error_type"] == t for r in rows) for t in augment.ERROR_TYPES},
    }


def make_manifest(cfg, examples, subset, rejects, dropped, qc_counts, splits, aug_stats, llm):
    by_stage = Counter(d["stage"] for d in dropped)
    return {
        "source": cfg.data.name,
        "seed": int(cfg.seed),
        "llm": llm.model if llm else "rules",
        "counts": {
            "loaded": len(examples),
            "rejected": len(rejects.rows),
            "selected": len(subset),
            "underspecify_failed": by_stage.get("underspecify", 0),
            "quality_dropped": by_stage.get("quality", 0),
            "clarify_failed": by_stage.get("clarify", 0),
            "final": sum(len(rows) for rows in splits.values()),
        },
        "rejects_by_reason": rejects.counts(),
        "quality": {
            "enabled": bool(cfg.quality.enabled),
            "threshold": cfg.quality.threshold,
            **qc_counts,
        },
        "splits": {name: _stats(rows) for name, rows in splits.items()},
        "augmentation": aug_stats,
        "llm_usage": (llm.stats if llm else LLMStats()).to_dict(),
    }


# -- settings (conf/generate.yaml, conf/pipeline/; validated by asktoact.config) -------------------
@dataclass
class SamplingConfig:
    removal_prob: float = F(**UNIT)


@dataclass
class QualityConfig:
    enabled: bool = F()
    threshold: float = F(**UNIT)
    model: str = F()
    batch_size: int = F(ge=1)
    device: str = F()
    leak_check: bool = F()


@dataclass
class PipelineSettings:
    """``conf/pipeline/default.yaml``: the data stages' settings."""

    max_examples: Optional[int] = F(ge=1)  # noqa: UP045 (OmegaConf reads typing.Optional)
    test_size: float = F(ge=0.0, lt=1.0)
    split_sizes: Optional[list[int]] = F()  # noqa: UP045 ([train, test] dialogues; null: test_size)
    sampling: SamplingConfig = MISSING
    quality: QualityConfig = MISSING


@dataclass
class GenerateSettings(PipelineSettings):
    """What ``train``/``evaluate``/``chat`` need to build a dataset on the fly (``generate.*``)."""

    data: Any = MISSING


@dataclass
class GenerateConfig(PipelineSettings, RunConfig):
    data: Any = MISSING
    llm: Any = MISSING
    augmentation: Any = MISSING
    out_dir: Optional[str] = F(identity=False)  # noqa: UP045


@dataclass
class BuildsData(RunConfig):
    """Entry points that build a dataset when none is given (``data.path`` null): alone, they
    carry what the generate step needs; nested in a job (which hands them its dataset) they
    carry none of it (null)."""

    llm: Any = None
    augmentation: Any = None
    generate: Optional[GenerateSettings] = None  # noqa: UP045
