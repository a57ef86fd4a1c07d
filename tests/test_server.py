"""Evaluation and generation through a real OpenAI-compatible server, as paper-scale runs do
(vLLM on GPUs): ``transformers serve`` (extra ``serve``) serves the converted SmolLM2 folder on
127.0.0.1, started and stopped by the fixture below; the agent, the LLM simulator, the LLM judge
and the generation LLM all reach it through litellm's ``openai/`` provider. Nothing else is
contacted (the server runs with ``HF_HUB_OFFLINE=1``).

A 135 M model is a weak simulator: most of its judgements are not valid JSON and fall back to the
rules (counted), so these runs lift ``max_fallback_share``; what they prove is the plumbing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,  # about two minutes: a server, 10 short dialogues, 2 generated rows
    pytest.mark.skipif(
        importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None,
        reason="transformers' server extras are not installed (pip install -e '.[serve]')",
    ),
]

KEY_ENV = "ASKTOACT_TEST_SERVER_KEY"  # the server checks no key; litellm's provider wants one


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm2, tmp_path_factory):
    """``transformers serve <folder>`` on a free local port until the module ends: (model id,
    api_base)."""
    exe = shutil.which("transformers", path=str(Path(os.sys.executable).parent))
    if exe is None:
        pytest.skip("the transformers command is not installed next to this Python")
    folder, port = str(smollm2[0]), free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [exe, "serve", folder, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_healthy(port, proc, log)
        yield f"openai/{folder}", f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_healthy(port: int, proc: subprocess.Popen, log: Path, limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"transformers serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"transformers serve did not answer within {limit_s} s:\n{log.read_text()}")


def client(node: str, model: str, base: str, max_tokens: int) -> list[str]:
    return [
        f"{node}.model={model}",
        f"+{node}.api_base={base}",
        f"{node}.api_key_env={KEY_ENV}",
        f"{node}.max_tokens={max_tokens}",
    ]


def run(compose, server, data, tmp_path: Path, name: str, *overrides: str) -> dict:
    """One 10-dialogue, one-round evaluation with the served model as simulator and judge."""
    from asktoact.eval.run import run_evaluation

    model, base = server
    cfg = compose(
        "evaluate",
        f"data.path={data}",
        f"cache_dir={tmp_path / 'cache'}",
        "simulator=litellm",
        "judge=litellm",
        *client("simulator.client", model, base, 16),
        *client("judge.client", model, base, 8),
        "data.limit=10",
        "max_rounds=1",
        "max_fallback_share=1.0",
        *overrides,
    )
    return run_evaluation(cfg, tmp_path / name)


def test_evaluation_through_a_real_server(server, build_dataset, compose, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "unused")
    data = build_dataset("data.n=100")
    model, base = server
    agent = ("agent=litellm", *client("agent.client", model, base, 8))
    result = run(compose, server, data, tmp_path, "served", *agent, "data.limit=4")
    lines = (tmp_path / "served/transcripts.jsonl").read_text().splitlines()
    assert result["metrics"]["N"] == 4 and len(lines) == 4
    turns = 0
    for line in lines:  # every episode holds the served model's turns and an outcome
        episode = json.loads(line)
        assert episode["messages"][1]["role"] == "assistant" and episode["outcome"] is not None
        turns += sum(m["role"] == "assistant" for m in episode["messages"])
    usage = result["llm_usage_agent"]  # each turn one answered call (or a cached one)
    assert usage["calls"] + usage["cache_hits"] == turns and usage["failures"] == 0
    # The served 135 M model rarely asks a real question, so its simulator may never be called:
    # the oracle asks one every round, and the served simulator answers and judges each.
    result = run(compose, server, data, tmp_path, "oracle", "agent=oracle", "data.limit=2")
    sim = result["llm_usage_simulator"]
    assert sim["calls"] + sim["cache_hits"] >= 2 * 2  # a reply and a judgement per round
    assert result["simulator_fallbacks"] <= 2  # at most one judgement per round fell back


@pytest.mark.heavy
def test_generation_through_a_real_server(server, compose, tmp_path, monkeypatch):
    from asktoact.data.build import build

    monkeypatch.setenv(KEY_ENV, "unused")
    model, base = server
    cfg = compose(
        "generate",
        "llm=local",
        f"llm.model={model}",
        f"llm.api_base={base}",
        f"llm.api_key_env={KEY_ENV}",
        "llm.max_tokens=32",
        "data.n=2",
        "quality.enabled=false",
        f"cache_dir={tmp_path / 'cache'}",
    )
    manifest = build(cfg, tmp_path / "out")
    counts = manifest["counts"]
    dropped = [json.loads(x) for x in (tmp_path / "out/dropped.jsonl").read_text().splitlines()]
    rejects = (tmp_path / "out/rejects.jsonl").read_text().splitlines()
    # A weak model's bad JSON is repaired once, then the row is recorded with its stage and
    # reason: every loaded row is either in the dataset or in dropped/rejects.
    assert counts["loaded"] == 2 == counts["final"] + len(dropped) + len(rejects)
    assert all(d["reason"] and d["stage"] for d in dropped)
    assert manifest["llm_usage"]["calls"] > 0
