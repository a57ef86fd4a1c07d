"""The pipeline end to end: outputs, determinism, manifest, resume, secrets, Hydra entry point."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import datasets
import pytest

from asktoact.data.build import build
from asktoact.llm import LLMClient, ResponseCache


class Killed(BaseException):
    """Not an Exception: like a kill, it is never caught as a provider error."""


def test_outputs_exist_load_and_agree_with_the_manifest(gen_cfg, tmp_path):
    manifest = build(gen_cfg("augmentation.ratio=0.3"), tmp_path / "out")
    out = tmp_path / "out"
    dd = datasets.load_from_disk(str(out / "dataset"))
    assert set(dd) == {"train", "test"}
    counts = manifest["counts"]
    assert counts["final"] == len(dd["train"]) + len(dd["test"])
    assert (
        counts["final"]
        == counts["selected"]
        - counts["underspecify_failed"]
        - counts["quality_dropped"]
        - counts["clarify_failed"]
    )
    dropped = (out / "dropped.jsonl").read_text().splitlines()
    assert len(dropped) == counts["selected"] - counts["final"]
    train = manifest["splits"]["train"]
    assert train["rows"] == len(dd["train"]) and abs(train["augmented"] - 0.3 * train["rows"]) <= 1
    assert sum(train["levels"].values()) == train["rows"]
    assert sum(train["error_types"].values()) == train["augmented"]
    row = dd["train"][0]
    assert row["messages"][0]["role"] == "user" and json.loads(row["solution"])
    assert json.loads(row["record"])["id"] == row["id"]
    jsonl = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert [r["id"] for r in jsonl] == dd["train"]["id"]
    share = json.loads((out / "sharegpt/train.json").read_text())
    info = json.loads((out / "sharegpt/dataset_info.json").read_text())
    assert info["asktoact_train"]["formatting"] == "sharegpt"
    for conv in share:
        froms = [t["from"] for t in conv["conversations"]]
        assert froms == ["human", "gpt"] * (len(froms) // 2)


def test_exact_split_sizes_draw_that_many_and_count_the_rest(gen_cfg, tmp_path):
    from asktoact.errors import ConfigError

    whole = build(gen_cfg(), tmp_path / "whole")["counts"]
    assert whole["splits_unused"] == 0
    manifest = build(gen_cfg("split_sizes=[20,7]"), tmp_path / "sized")
    dd = datasets.load_from_disk(str(tmp_path / "sized" / "dataset"))
    assert (len(dd["train"]), len(dd["test"])) == (20, 7)
    assert manifest["counts"]["splits_unused"] == whole["final"] - 27
    build(gen_cfg("split_sizes=[20,7]"), tmp_path / "again")
    again = datasets.load_from_disk(str(tmp_path / "again" / "dataset"))
    assert again["test"]["id"] == dd["test"]["id"]  # seeded: the same dialogues each time
    too_many = f"split_sizes=[{whole['final']},1]"
    with pytest.raises(ConfigError, match=r"split_sizes=\[\d+, 1\] needs \d+ dialogues"):
        build(gen_cfg(too_many), tmp_path / "too_many")


def test_trajectories_take_exact_split_sizes_too(gen_cfg, tmp_path):
    """TL-Training's paper rows draw 1,217 SFT trajectories: the trajectory builder honours
    split_sizes as the dialogue pipeline does, and a split left as a share is unchanged."""
    whole = build(gen_cfg("data=trajectories", "data.n=60"), tmp_path / "whole")["counts"]
    sized = build(gen_cfg("data=trajectories", "data.n=60", "split_sizes=[30,9]"), tmp_path / "s")
    assert (sized["counts"]["train"], sized["counts"]["test"]) == (30, 9)
    assert sized["counts"]["splits_unused"] == 60 - 39 and whole["splits_unused"] == 0
    test = datasets.load_from_disk(str(tmp_path / "s" / "dataset"))["test"]["id"]
    first = datasets.load_from_disk(str(tmp_path / "whole" / "dataset"))["test"]["id"]
    assert set(test) <= set(first) or set(first) <= set(test)  # one seeded order, cut apart


def test_same_config_and_seed_give_byte_identical_files(gen_cfg, tmp_path, same_dataset_files):
    cfg = gen_cfg("augmentation.ratio=0.3", "seed=5")
    build(cfg, tmp_path / "a")
    build(cfg, tmp_path / "b")
    same_dataset_files(tmp_path / "a", tmp_path / "b")
    build(gen_cfg("augmentation.ratio=0.3", "seed=6"), tmp_path / "c")
    assert not filecmp.cmp(tmp_path / "a/train.jsonl", tmp_path / "c/train.jsonl", shallow=False)


def test_xlam_fixture_runs_and_rejects_land_in_the_rejects_file(gen_cfg, tmp_path, fixtures_dir):
    xlam = fixtures_dir / "xlam_sample.jsonl"
    cfg = gen_cfg("data=xlam", f"data.path={xlam}", "test_size=0.0")
    manifest = build(cfg, tmp_path)
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert manifest["counts"]["rejected"] == len(rejects) == 5
    assert manifest["counts"]["loaded"] == 5


@pytest.mark.parametrize("source", ["bfcl", "taskbench"])
def test_real_sources_run_end_to_end(gen_cfg, tmp_path, source, shared):
    folder = shared("bfcl" if source == "bfcl" else "taskbench_dailylifeapis")
    manifest = build(gen_cfg(f"data={source}", f"data.path={folder}", "max_examples=150"), tmp_path)
    assert manifest["counts"]["final"] > 0
    assert manifest["counts"]["selected"] == min(150, manifest["counts"]["loaded"])


@pytest.mark.slow
def test_llm_path_resumes_after_a_kill_and_matches_an_uninterrupted_run(
    gen_cfg, tmp_path, monkeypatch, same_dataset_files
):
    cfg = gen_cfg("llm=offline", "augmentation.ratio=0.3")
    whole = build(
        gen_cfg("llm=offline", "augmentation.ratio=0.3", f"cache_dir={tmp_path / 'c2'}"),
        tmp_path / "whole",
    )
    total = whole["llm_usage"]["calls"]
    assert total > 100

    real_call, made = LLMClient._call, []

    async def dying_call(self, *args, **kwargs):
        if len(made) == 60:
            raise Killed  # as if the process were killed mid-stage
        made.append(1)
        return await real_call(self, *args, **kwargs)

    monkeypatch.setattr(LLMClient, "_call", dying_call)
    with pytest.raises(Killed):
        build(cfg, tmp_path / "resumed")
    done = len(ResponseCache(Path(cfg.cache_dir) / "llm.sqlite"))  # replies that survived the kill
    assert 50 <= done <= 60
    monkeypatch.setattr(LLMClient, "_call", real_call)
    resumed = build(cfg, tmp_path / "resumed")
    assert resumed["llm_usage"]["calls"] == total - done
    same_dataset_files(tmp_path / "whole", tmp_path / "resumed")
    again = build(cfg, tmp_path / "again")
    assert again["llm_usage"]["calls"] == 0


@pytest.mark.slow
def test_secrets_never_reach_saved_configs_or_logs(tmp_path, cli):
    secret = "sk-test-0123456789-do-not-log"
    proc = cli(
        "generate",
        "llm=gpt-4o",
        'llm.mock_response=\'{"question": "q"}\'',
        "data.n=20",
        "quality.enabled=false",
        f"cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={tmp_path / 'run'}",
        env={"OPENAI_API_KEY": secret},
    )
    # The mocked model cannot rewrite queries, so rows fail validation; the run itself completes.
    texts = [p.read_text(errors="ignore") for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert texts and not any(secret in t for t in texts)
    assert secret not in proc.stdout + proc.stderr
    saved = (tmp_path / "run/.hydra/config.yaml").read_text()
    assert "api_key_env: OPENAI_API_KEY" in saved


@pytest.mark.slow
def test_cli_multirun_sweeps_augmentation_ratio(tmp_path, cli):
    cli(
        "generate",
        "--multirun",
        "augmentation=r00,r30",
        "data.n=60",
        "quality.enabled=false",
        f"cache_dir={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    manifests = sorted((tmp_path / "sweep").glob("*/manifest.json"))
    assert len(manifests) == 2
    ratios = sorted(json.loads(m.read_text())["augmentation"]["ratio"] for m in manifests)
    assert ratios == [0.0, 0.3]
