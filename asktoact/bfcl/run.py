"""The BFCL step: a model scored by the Berkeley Function Calling Leaderboard's own evaluator.

The model (any local agent: a merged folder, a base model plus adapter, an HF id) is served by
:mod:`asktoact.serve` on a free loopback port inside this process; BFCL runs unchanged in its own
environment (:mod:`asktoact.bfcl.env`) through :mod:`asktoact.bfcl.launcher`, which registers the
model with it. Two ways of asking (``modes``), each in its own BFCL project folder:

* ``prompt`` — the leaderboard's conditions for a prompt-style local model: BFCL's instructions,
  the model's chat template and BFCL's ``[func(arg=value)]`` decoder.
* ``fc`` — BFCL's function-calling handler; our server asks each entry in the format the model
  was trained on (``protocol``: our dialogue turns, a readable ``[SUMMARY]`` returned as tool
  calls, :mod:`asktoact.serve.protocol`; or TL-Training's trajectories, one call a turn,
  :mod:`asktoact.serve.trajectory`), so BFCL's checker scores the calls, not our format.

BFCL writes a line per entry, so a killed run resumes where it stopped (result lines cut short are
dropped first). Scores are BFCL's; the per-entry outcomes they are read from give the bootstrap
intervals and paired differences BFCL does not report (:mod:`asktoact.bfcl.scores`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, DictConfig

from asktoact.bfcl import entries, env, scores
from asktoact.configurable import RunConfig
from asktoact.configurable import config_field as F
from asktoact.io import write_json
from asktoact.serve.app import PROTOCOLS, ModelServer, serving

log = logging.getLogger(__name__)

LAUNCHER = Path(__file__).with_name("launcher.py")
MODES = ("prompt", "fc")
MODEL_NAME = {"prompt": "asktoact-prompt", "fc": "asktoact-fc"}
# Provider keys never go to BFCL's processes: only our loopback server answers them.
_SECRET = re.compile(r"(API_KEY|TOKEN|SECRET)", re.I)


@dataclass
class BfclConfig:
    enabled: bool = F()  # a job scores its model with BFCL after evaluating it
    bfcl_version: str = F()
    venv: str = F(identity=False)  # where BFCL's environment lives
    extras: list[str] = F()  # modules BFCL imports but does not declare
    categories: list[str] = F()
    limit: Optional[int] = F(ge=1)  # noqa: UP045 — entries per category (a seeded sample); null: all
    seed: int = F()
    # which ways of asking to run; each mode is its own folder, so a stored run is extended by
    # the modes it lacks (jobs/job.py:bfcl_scores), not redone
    modes: list[str] = F(choices=MODES, identity=False)
    max_new_tokens: int = F(ge=1)  # the reply cap, whatever BFCL asks for
    concurrency: int = F(ge=1)  # entries in flight, generated as one batch
    # how fc mode asks the model (a key of PROTOCOLS); null: a job's task decides (dialogue alone)
    protocol: Optional[str] = F(choices=tuple(PROTOCOLS))  # noqa: UP045
    batch_wait_s: float = F(ge=0, identity=False)
    agent: Any = MISSING


def child_env(root: Path, base_url: str) -> dict[str, str]:
    """BFCL's environment variables: its project folder and our server, no provider secrets."""
    out = {k: v for k, v in os.environ.items() if not _SECRET.search(k)}
    host, port = re.match(r"http://([^:/]+):(\d+)", base_url).groups()
    out.update(
        # absolute: BFCL resolves its result folder against the root a second time
        BFCL_PROJECT_ROOT=str(Path(root).resolve()),
        LOCAL_SERVER_ENDPOINT=host,
        LOCAL_SERVER_PORT=port,
        OPENAI_BASE_URL=base_url,
        OPENAI_API_KEY="EMPTY",  # BFCL's client insists on one; our server reads none
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    out.pop("REMOTE_OPENAI_BASE_URL", None)
    return out


def _bfcl(python: Path, mode: str, label: str, args: list[str], child: dict[str, str]) -> None:
    """BFCL's CLI in its environment; its output (progress bars included) goes to our stderr
    and to ``<root>/bfcl_<command>.log``, whose end a failure quotes."""
    cmd = [str(python), str(LAUNCHER), "--name", MODEL_NAME[mode], "--mode", mode]
    cmd += ["--display", label, "--", *args]
    log_path = Path(child["BFCL_PROJECT_ROOT"]) / f"bfcl_{args[0]}.log"
    with open(log_path, "wb") as fh:
        proc = subprocess.Popen(cmd, env=child, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for chunk in iter(lambda: proc.stdout.read1(4096), b""):
            sys.stderr.write(chunk.decode(errors="replace"))
            sys.stderr.flush()
            fh.write(chunk)
        returncode = proc.wait()
    if returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").strip().splitlines()[-20:])
        raise RuntimeError(f"bfcl {args[0]} ({mode}) failed, see {log_path}:\n{tail}")


def tokenizer_dir(agent: DictConfig) -> str | None:
    """The local folder BFCL's prompt handler reads the chat template from (None: an HF id)."""
    path = Path(agent.path)
    return str(path) if (path / "tokenizer_config.json").exists() else None


def score_mode(
    python: Path, mode: str, root: Path, chosen: dict[str, list[str]], node, base_url: str
) -> dict[str, list[dict[str, Any]]]:
    """Generate (resuming) and evaluate one mode; the per-entry outcomes by category."""
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "test_case_ids_to_generate.json", chosen)
    dropped = entries.repair_results(root, MODEL_NAME[mode])
    if dropped:
        log.warning(
            "BFCL %s: %d result lines cut short by a kill are generated again", mode, dropped
        )
    child, label = child_env(root, base_url), node.agent.name
    generate = ["generate", "--model", MODEL_NAME[mode], "--run-ids", "--skip-server-setup"]
    generate += ["--num-threads", str(node.concurrency)]
    tokenizer = tokenizer_dir(node.agent) if mode == "prompt" else None
    generate += ["--local-model-path", tokenizer] if tokenizer else []
    _bfcl(python, mode, label, generate, child)
    categories = ",".join(chosen)
    evaluate = ["evaluate", "--model", MODEL_NAME[mode], "--test-category", categories]
    _bfcl(python, mode, label, [*evaluate, "--partial-eval"], child)
    return {c: entries.outcomes(root, MODEL_NAME[mode], c, ids) for c, ids in chosen.items()}


def _stored(out: Path, chosen: dict[str, list[str]]) -> tuple[dict, dict]:
    """The outcomes and seconds of the modes an earlier run of the same entries scored (kept
    beside the modes run now)."""
    path = out / "bfcl.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    if stored.get("entries") != chosen:
        return {}, {}
    return dict(stored.get("outcomes", {})), dict(stored.get("seconds", {}))


def run_bfcl(node: DictConfig, out: str | Path, exclude: set[str] = frozenset()) -> dict[str, Any]:
    """Score ``node.agent`` with BFCL in every mode; writes and returns ``out/bfcl.json``."""
    from hydra.utils import instantiate

    out = Path(out).resolve()
    python = env.ensure_env(node.venv, node.bfcl_version, list(node.extras))
    chosen = entries.choose(
        env.data_dir(python), list(node.categories), node.limit, node.seed, exclude
    )
    agent = instantiate(node.agent, max_new_tokens=node.max_new_tokens)
    server = ModelServer(
        agent,
        "asktoact",
        max_batch=node.concurrency,
        batch_wait_s=node.batch_wait_s,
        protocol=node.protocol or "dialogue",
    )
    outcomes, seconds = _stored(out, chosen)
    with serving(server) as base_url:
        for mode in node.modes:
            started = time.monotonic()
            outcomes[mode] = score_mode(python, mode, out / mode, chosen, node, base_url)
            seconds[mode] = round(time.monotonic() - started, 1)
            n = sum(map(len, chosen.values()))
            log.info("BFCL %s: %d entries in %.0f s", mode, n, seconds[mode])
    result = {
        "bfcl_version": node.bfcl_version,
        "agent": node.agent.name,
        "protocol": node.protocol or "dialogue",
        "entries": chosen,
        "excluded_as_trained": len(exclude),
        "outcomes": outcomes,
        "scores": {m: scores.summary(by_cat) for m, by_cat in outcomes.items()},
        "seconds": seconds,  # per mode, of the run that generated it (a resumed run: its rest)
    }
    write_json(out / "bfcl.json", result)
    log.info("BFCL scores: %s", json.dumps(result["scores"]))
    return result


@dataclass
class BfclRunConfig(RunConfig):
    """``asktoact-bfcl`` alone (``conf/bfcl.yaml``): the step node and the agent it scores."""

    agent: Any = MISSING
    bfcl: BfclConfig = MISSING


def run_alone(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    result = run_bfcl(cfg.bfcl, run_dir)
    scores.write_report([{"label": cfg.agent.name, "bfcl": result}], run_dir)
    return result
