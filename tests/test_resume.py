"""Resume only what the same settings produced.

Every resumable artifact records the settings that made it (training checkpoints, evaluation
transcripts, datasets built on demand); a run with other settings stops naming the changed keys
instead of continuing another run's work, and default run folders differ between commands that
differ in any setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asktoact.config import ConfigError
from asktoact.data.build import ensure_dataset
from asktoact.eval.run import run_evaluation
from asktoact.train.run import run_training


@pytest.fixture(scope="module")
def two_datasets(build_dataset):
    return build_dataset("data.n=120"), build_dataset("data.n=120", "seed=1")


def tiny_model_folder(compose, path: Path, seed: int) -> Path:
    """A random-init tiny model saved as a local model folder."""
    from asktoact.train.models import load_model, load_tokenizer

    cfg = compose("train", f"cache_dir={path.parent / 'cache'}")
    tok = load_tokenizer(cfg.model, cfg.cache_dir)
    load_model(cfg.model, tok, seed).save_pretrained(path)
    tok.save_pretrained(path)
    return path


def test_an_evaluation_never_resumes_transcripts_of_other_settings(tmp_path, compose, two_datasets):
    a, b = two_datasets
    run_dir = tmp_path / "X"

    def evaluate(*overrides: str):
        cfg = compose("evaluate", f"cache_dir={tmp_path}", "data.limit=6", *overrides)
        return run_evaluation(cfg, run_dir)

    assert evaluate(f"data.path={a}", "agent=oracle")["metrics"]["ICR"] == 1.0
    with pytest.raises(ConfigError, match=r"transcripts.jsonl .*changed: agent\..*resume=false"):
        evaluate(f"data.path={a}", "agent=never_ask")
    with pytest.raises(
        ConfigError, match=r"changed: data\.path, dataset_content\.test, dataset_content\.train\)"
    ):
        evaluate(f"data.path={b}", "agent=oracle")
    fresh = evaluate(f"data.path={a}", "agent=never_ask", "resume=false")
    assert fresh["agent"] == "never_ask" and fresh["metrics"]["ICR"] == 0.0
    assert fresh["resumed"]["episodes_done_before"] == 0
    # More queries with the same settings continue the run: the first six are not replayed.
    more = compose("evaluate", f"cache_dir={tmp_path}", f"data.path={a}", "agent=never_ask")
    more.data.limit = 9
    assert run_evaluation(more, run_dir)["resumed"]["episodes_done_before"] == 6


def test_an_evaluation_never_resumes_another_models_transcripts(tmp_path, compose, two_datasets):
    one = tiny_model_folder(compose, tmp_path / "one", seed=0)
    two = tiny_model_folder(compose, tmp_path / "two", seed=1)
    run_dir = tmp_path / "X"

    def evaluate(model: Path):
        cfg = compose(
            "evaluate",
            f"cache_dir={tmp_path}",
            f"data.path={two_datasets[0]}",
            "data.limit=2",
            "max_rounds=1",
            "agent=local",
            f"agent.path={model}",
            "agent.max_new_tokens=8",
        )
        return run_evaluation(cfg, run_dir)

    evaluate(one)
    with pytest.raises(ConfigError, match=r"changed: agent\.path, agent_path_content"):
        evaluate(two)
    tiny_model_folder(compose, one, seed=2)  # the same folder now holds another model
    with pytest.raises(ConfigError, match=r"changed: agent_path_content\)"):
        evaluate(one)


@pytest.mark.slow
def test_training_never_resumes_checkpoints_of_another_dataset_at_the_same_path(
    tmp_path, compose, gen_cfg
):
    from asktoact.data.build import build

    data = tmp_path / "data"
    build(gen_cfg("data.n=120"), data)
    base = [f"data.path={data}", f"cache_dir={tmp_path}", "logger=none", "+debug=fast"]
    run_training(compose("train", *base, "trainer.max_steps=2"), tmp_path / "run")
    build(gen_cfg("data.n=120", "seed=1"), data)  # another dataset where the first one was
    with pytest.raises(
        ConfigError, match=r"checkpoints .*changed: dataset_content\.test, dataset_content\.train\)"
    ):
        run_training(compose("train", *base, "trainer.max_steps=3"), tmp_path / "run")


def test_a_dataset_built_on_demand_is_rebuilt_when_its_settings_change(tmp_path, compose):
    def cfg(n: int):
        return compose(
            "train",
            f"cache_dir={tmp_path}",
            f"generate.data.n={n}",
            "generate.quality.enabled=false",
        )

    out = tmp_path / "data"
    ensure_dataset(cfg(40), out)
    manifest = out / "manifest.json"
    assert json.loads(manifest.read_text())["counts"]["loaded"] == 40
    built = manifest.stat().st_mtime_ns
    ensure_dataset(cfg(40), out)
    assert manifest.stat().st_mtime_ns == built  # the same settings: reused
    ensure_dataset(cfg(50), out)
    assert json.loads(manifest.read_text())["counts"]["loaded"] == 50


@pytest.mark.slow
@pytest.mark.heavy
def test_default_run_folders_differ_when_any_setting_differs(tmp_path, two_datasets, cli):
    """Two datasets evaluated with otherwise equal commands land in two folders; the same
    command with more queries continues in its folder."""
    a, b = two_datasets

    def evaluate(*overrides: str) -> str:
        cache = f"cache_dir={tmp_path / 'cache'}"
        proc = cli("evaluate", "agent=never_ask", *overrides, cache, cwd=tmp_path, timeout=300)
        return proc.stdout + proc.stderr

    evaluate(f"data.path={a}", "data.limit=2")
    evaluate(f"data.path={b}", "data.limit=2")
    folders = sorted(p.name for p in (tmp_path / "outputs/evaluate").iterdir())
    assert len(folders) == 2 and all(f.startswith("never_ask-rules-random-s0-") for f in folders)
    assert "1 episodes (2 already done)" in evaluate(f"data.path={a}", "data.limit=3")
    assert len(list((tmp_path / "outputs/evaluate").iterdir())) == 2
