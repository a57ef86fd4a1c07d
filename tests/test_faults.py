"""Faults: kills at every dangerous moment, damaged files, failing LLM providers — nothing is lost.

The kill tests run the console entry points in subprocesses that SIGKILL themselves at named
moments (``ASKTOACT_KILL_AT``, :mod:`asktoact.faults`): the same moments on every machine,
whatever its speed. Each chain kills one run per moment, each run resuming what the previous one
left, then runs once to the end and compares what it wrote with an uninterrupted run's output.
"""

from __future__ import annotations

import filecmp
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from asktoact import faults
from asktoact.data.build import build
from asktoact.errors import UserError
from asktoact.eval.run import run_evaluation
from asktoact.train.checkpoints import CheckpointError
from asktoact.train.run import run_training


def cli(name: str, *overrides: str) -> list[str]:
    return [sys.executable, "-m", f"asktoact.cli.{name}", *overrides]


def run(cmd: list[str], kill_at: str | None = None) -> None:
    """Run ``cmd`` to its end, or until it kills itself at ``kill_at`` — which it must reach: a
    moment the run never reaches would make the chain test nothing."""
    env = {k: v for k, v in os.environ.items() if k != faults.ENV}
    if kill_at:
        env[faults.ENV] = kill_at
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if kill_at:
        assert proc.returncode == -signal.SIGKILL, f"{kill_at} not reached: {proc.stderr[-3000:]}"
    else:
        assert proc.returncode == 0, proc.stderr[-4000:]


def kill_chain(cmd: list[str], moments: tuple[str, ...]) -> None:
    """One killed run per moment, each resuming the previous one's work, then a run to the end."""
    for moment in moments:
        run(cmd, kill_at=moment)
    run(cmd)


def same_manifest(a: Path, b: Path) -> None:
    one, two = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    one.pop("llm_usage"), two.pop("llm_usage")  # cache hits differ: the resumed run reuses replies
    # likewise the quality scorer's count of strings it had to embed (the rest were cached)
    one["quality"].pop("strings_encoded", None), two["quality"].pop("strings_encoded", None)
    assert one == two


def test_an_unknown_kill_moment_is_refused_with_the_valid_ones(monkeypatch):
    monkeypatch.setenv(faults.ENV, "train.stepp:3")
    with pytest.raises(ValueError, match=r"unknown moment 'train.stepp'.*train.step"):
        faults.reached("train.step", 3)
    monkeypatch.setenv(faults.ENV, "train.step:4")
    faults.reached("train.step", 3)  # another count: nothing happens
    assert faults.armed("train.step", 4) and not faults.armed("train.outputs")


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=200")


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """An uninterrupted ``asktoact-train`` run: its folder and the command that made it, minus
    the run folder (two epochs of 6 steps, a checkpoint every 2 steps). Made once per session,
    not once per xdist worker: the workers' temp folders share a parent, and a lock keeps the
    second worker waiting for the first's run (every worker's dataset is the same build)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "faults-trained"
    shared.mkdir(exist_ok=True)

    def command(cache: Path) -> list[str]:
        return cli(
            "train",
            f"data.path={dataset}",
            f"cache_dir={cache}",
            "logger=csv",
            "+debug=fast",
            "adapter=lora",
            "data.limit=48",
            "trainer.max_epochs=2",
            "trainer.max_steps=12",
            "trainer.checkpoint_every_n_steps=2",
        )

    with FileLock(str(shared / ".lock")):
        if not (shared / "whole" / "train_summary.json").exists():
            run([*command(shared / "cache"), f"hydra.run.dir={shared / 'whole'}"])
    return shared, command(tmp_path_factory.mktemp("train") / "cache")


TRAIN_CHAINS = {
    # Inside a checkpoint write; after last.ckpt of the step that ends epoch 1 (the moment whose
    # resume replayed the wrong epoch's batch order, see README "What survives what"); between
    # two checkpoints, in the second epoch.
    "three resumes": ("train.ckpt_write:2", "train.last_saved:6", "train.step:9"),
    # Before any checkpoint; between step=6.ckpt and its last.ckpt; after the final checkpoint;
    # while the merged model is written.
    "four resumes": ("train.step:1", "train.ckpt_saved:6", "train.last_saved:12", "train.outputs"),
}


@pytest.mark.slow
@pytest.mark.parametrize("chain", TRAIN_CHAINS, ids=list(TRAIN_CHAINS))
def test_train_killed_at_every_moment_resumes_to_the_same_model(trained, tmp_path, chain):
    root, cmd = trained
    kill_chain([*cmd, f"hydra.run.dir={tmp_path}"], TRAIN_CHAINS[chain])
    whole = json.loads((root / "whole/train_summary.json").read_text())
    again = json.loads((tmp_path / "train_summary.json").read_text())
    assert again["global_step"] == whole["global_step"] == 12
    assert again["resumed_from"], "the final run should have resumed from a checkpoint"
    assert again["metrics"]["train/loss"] == whole["metrics"]["train/loss"]
    for part in ("adapter/adapter_model.safetensors", "merged/model.safetensors"):
        assert filecmp.cmp(root / "whole" / part, tmp_path / part, shallow=False), part
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary file was left in place"


@pytest.mark.slow
def test_generate_killed_at_every_moment_ends_with_the_same_dataset(
    tmp_path, same_dataset_files, compose
):
    settings = ("llm=offline", "data.n=50", "augmentation.ratio=0.3")
    # the uninterrupted run in this process (what asktoact-generate calls), the killed ones not
    build(compose("generate", *settings, f"cache_dir={tmp_path / 'c1'}"), tmp_path / "whole")
    cmd = cli("generate", *settings)
    resumed = [*cmd, f"cache_dir={tmp_path / 'c2'}", f"out_dir={tmp_path / 'resumed'}"]
    # After 20 replies; after 15 more (the second run reuses the first's 20); while the files
    # are written (some new, the manifest not yet).
    kill_chain(resumed, ("llm.reply:20", "llm.reply:15", "generate.files"))
    same_dataset_files(tmp_path / "whole", tmp_path / "resumed")
    same_manifest(tmp_path / "whole", tmp_path / "resumed")
    assert not list((tmp_path / "resumed").rglob(".*.tmp")), "a temporary file was left in place"


EVALUATE_CHAINS = {
    # A local model: after the 3rd episode; in the middle of a transcript line; before metrics.
    "local model": (
        ("evaluate.episode:3", "evaluate.episode_write:2", "evaluate.metrics"),
        ("agent=local", "agent.max_new_tokens=32", "agent.batch_size=4", "max_rounds=3"),
    ),
    # An LLM user simulator and judge (the offline provider): after LLM replies; after episodes.
    "llm simulator": (
        ("llm.reply:4", "evaluate.episode:2"),
        (
            "agent=ask_all",
            "max_rounds=3",
            "simulator=litellm",
            "simulator.client.model=asktoact/simulator",
            "judge=litellm",
            "judge.client.model=asktoact/judge",
        ),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("chain", EVALUATE_CHAINS, ids=list(EVALUATE_CHAINS))
def test_evaluate_killed_at_every_moment_ends_with_the_same_transcripts(
    trained, dataset, tmp_path, chain, compose
):
    moments, agent = EVALUATE_CHAINS[chain]
    model = [f"agent.path={trained[0] / 'whole/merged'}"] if "agent=local" in agent else []
    settings = (f"data.path={dataset}", *agent, *model, "data.limit=8")
    a, b = tmp_path / "whole", tmp_path / "resumed"
    # Each its own LLM cache: the resumed runs must make (and lose) calls of their own. With a
    # policy agent the uninterrupted run is made in this process (what asktoact-evaluate
    # calls); a local model's in a subprocess like the killed ones.
    cmd = cli("evaluate", *settings)
    if model:
        run([*cmd, f"hydra.run.dir={a}", f"cache_dir={a / 'cache'}"])
    else:
        run_evaluation(compose("evaluate", *settings, f"cache_dir={a / 'cache'}"), a)
    kill_chain([*cmd, f"hydra.run.dir={b}", f"cache_dir={b / 'cache'}"], moments)
    assert filecmp.cmp(a / "transcripts.jsonl", b / "transcripts.jsonl", shallow=False)
    whole, resumed = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert resumed["metrics"] == whole["metrics"] and resumed["intervals"] == whole["intervals"]
    assert resumed["resumed"]["episodes_done_before"] > 0  # the final run resumed


@pytest.mark.slow
def test_a_truncated_transcript_line_is_dropped_redone_and_counted(dataset, tmp_path, compose):
    cfg = compose("evaluate", f"data.path={dataset}", f"cache_dir={tmp_path}", "data.limit=10")
    first = run_evaluation(cfg, tmp_path / "run")
    path = tmp_path / "run/transcripts.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) - 40])  # a kill in the middle of the last write
    again = run_evaluation(cfg, tmp_path / "run")
    assert again["resumed"] == {"episodes_done_before": 9, "truncated_lines_redone": 1}
    assert path.read_bytes() == whole and again["metrics"] == first["metrics"]


@pytest.mark.slow
def test_a_damaged_checkpoint_falls_back_to_the_previous_one_else_stops_clearly(
    dataset, tmp_path, compose, caplog
):
    def cfg(steps: int):
        return compose(
            "train",
            f"data.path={dataset}",
            f"cache_dir={tmp_path / 'cache'}",
            "logger=none",
            "+debug=fast",
            "data.limit=32",
            "trainer.max_epochs=3",
            f"trainer.max_steps={steps}",
            "trainer.checkpoint_every_n_steps=2",
        )

    run_training(cfg(4), tmp_path / "run")
    folder = tmp_path / "run/checkpoints"
    assert sorted(p.name for p in folder.glob("*.ckpt")) == [
        "last.ckpt",
        "step=2.ckpt",
        "step=4.ckpt",
    ]
    last = folder / "last.ckpt"
    last.write_bytes(last.read_bytes()[:5000])  # cut short, as a full disk or a bad copy leaves it
    with caplog.at_level("WARNING"):
        summary = run_training(cfg(6), tmp_path / "run")
    assert summary["resumed_from"].endswith("step=4.ckpt") and summary["global_step"] == 6
    assert "last.ckpt is unreadable" in caplog.text
    for path in folder.glob("*.ckpt"):
        path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError) as err:
        run_training(cfg(8), tmp_path / "run")
    assert "last.ckpt" in str(err.value) and "resume=false" in str(err.value)


GENERATE_FAULTS = (
    "llm=offline",
    "augmentation.ratio=0.3",
    "llm.retry_wait_min_s=0.001",
    "llm.retry_wait_max_s=0.01",
)


@pytest.mark.slow
def test_generate_with_a_fifth_of_calls_failing_builds_the_fault_free_dataset(
    gen_cfg, tmp_path, same_dataset_files
):
    patient = (*GENERATE_FAULTS, "llm.num_retries=6", "llm.max_repairs=3")
    clean = build(gen_cfg(*patient, f"cache_dir={tmp_path / 'a'}"), tmp_path / "clean")
    faulty = build(
        gen_cfg(*patient, f"cache_dir={tmp_path / 'b'}", "llm.fault_rate=0.2"),
        tmp_path / "faulty",
    )
    same_dataset_files(tmp_path / "clean", tmp_path / "faulty")
    same_manifest(tmp_path / "clean", tmp_path / "faulty")
    usage = faulty["llm_usage"]
    # the rows the rules cannot answer fail in both runs alike; faults add none
    assert usage["retries"] > 0 and usage["repairs"] > 0
    assert usage["failures"] == clean["llm_usage"]["failures"]
    assert (
        usage["calls"] - usage["repairs"]
        == clean["llm_usage"]["calls"] - clean["llm_usage"]["repairs"]
    )


@pytest.mark.slow
def test_generate_with_only_invalid_replies_records_every_row_as_failed(gen_cfg, tmp_path):
    manifest = build(
        gen_cfg(*GENERATE_FAULTS, "llm.fault_rate=1.0", "llm.fault_kinds=[invalid_json]"),
        tmp_path,
    )
    counts, usage = manifest["counts"], manifest["llm_usage"]
    dropped = [json.loads(x) for x in (tmp_path / "dropped.jsonl").read_text().splitlines()]
    assert counts["final"] == 0 and len(dropped) == counts["selected"] > 0
    # each row fails at its first LLM stage (rows with nothing to remove skip underspecify)
    assert counts["underspecify_failed"] + counts["clarify_failed"] == counts["selected"]
    assert all("invalid JSON reply after one repair" in d["reason"] for d in dropped)
    assert usage["failures"] == usage["repairs"] == counts["selected"]


def _eval(compose, dataset, tmp_path, name, *overrides):
    cfg = compose(
        "evaluate",
        f"data.path={dataset}",
        f"cache_dir={tmp_path / name}",
        "agent=ask_all",
        "data.limit=10",
        "max_rounds=4",
        *overrides,
    )
    return run_evaluation(cfg, tmp_path / name)


def _llm_simulator(*faults: str) -> list[str]:
    sides = []
    for side in ("simulator", "judge"):
        sides += [
            f"{side}=litellm",
            f"{side}.client.model=asktoact/{side}",
            f"{side}.client.retry_wait_min_s=0.001",
            f"{side}.client.retry_wait_max_s=0.01",
            *(f"{side}.client.{f}" for f in faults),
        ]
    return sides


@pytest.mark.slow
def test_llm_simulator_and_judge_survive_provider_faults(compose, dataset, tmp_path):
    clean = _eval(compose, dataset, tmp_path, "clean", *_llm_simulator())
    transient = ("fault_rate=0.2", "fault_seed=1", "fault_kinds=[rate_limit,server,timeout]")
    faulty = _eval(
        compose,
        dataset,
        tmp_path,
        "faulty",
        *_llm_simulator(*transient),
        "simulator.client.num_retries=8",
        "judge.client.num_retries=8",
    )
    assert faulty["metrics"] == clean["metrics"]
    assert faulty["llm_usage_simulator"]["retries"] > 0 and faulty["simulator_fallbacks"] == 0
    # Every reply malformed: each question falls back to the rules simulator (counted twice:
    # judgement and reply), each re-judgement keeps the rule's category (counted). Far above
    # max_fallback_share (5 %), so the evaluation fails unless the limit is raised.
    broken = _llm_simulator("fault_rate=1.0", "fault_kinds=[invalid_json]")
    with pytest.raises(
        UserError, match=r"LLM simulator fell back .* 100\.0 % .*max_fallback_share"
    ):
        _eval(compose, dataset, tmp_path, "refused", *broken)
    assert not (tmp_path / "refused" / "metrics.json").exists()  # no numbers pass for the LLM's
    allowed = _eval(compose, dataset, tmp_path, "broken", *broken, "max_fallback_share=1.0")
    rules = _eval(compose, dataset, tmp_path, "rules")
    assert allowed["metrics"] == rules["metrics"]
    questions = allowed["llm_usage_simulator"]["failures"]
    assert questions > 0 and allowed["simulator_fallbacks"] == 2 * questions
    assert allowed["simulator_fallback_share"] == 1.0
    assert allowed["judge_failure_share"] == (1.0 if allowed["judge_failures"] else 0.0)
    assert allowed["judge_failures"] == allowed["llm_usage_judge"]["failures"]


@pytest.mark.slow
def test_a_refused_key_or_a_dead_endpoint_stops_the_run_before_any_work(
    compose, dataset, tmp_path, gen_cfg
):
    from asktoact.llm import ProviderUnavailable

    refused = gen_cfg("llm=offline", "llm.fault_rate=1.0", "llm.fault_kinds=[auth]")
    with pytest.raises(ProviderUnavailable, match=r"llm.model=asktoact/rules cannot be used: "):
        build(refused, tmp_path / "data")
    assert not (tmp_path / "data" / "manifest.json").exists()
    dead = [
        "simulator=litellm",
        "simulator.client.model=openai/served-model",
        "simulator.client.api_base=http://127.0.0.1:9/v1",  # nothing listens on port 9
        "simulator.client.retry_wait_min_s=0.01",
    ]
    with pytest.raises(
        ProviderUnavailable,
        match=r"simulator.client.model=openai/served-model at "
        r"simulator.client.api_base=http://127.0.0.1:9/v1 cannot be used",
    ):
        _eval(compose, dataset, tmp_path, "dead", *dead)
    assert not (tmp_path / "dead" / "transcripts.jsonl").exists()  # no episode was played
