"""Shared test setup: offline environment, Hydra composition of the generate config, tiny runs."""

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

import pytest  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(os.environ.get("ASKTOACT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def compose_generate(*overrides: str):
    """The generate config as ``asktoact-generate`` would see it with these overrides."""
    with initialize_config_dir(str(CONF), version_base="1.3"):
        return compose("generate", overrides=list(overrides), return_hydra_config=False)


@pytest.fixture
def gen_cfg(tmp_path):
    """Factory for a small, fast generate config writing its cache under tmp_path."""

    def make(*overrides: str):
        base = [f"cache_dir={tmp_path / 'cache'}", "quality.enabled=false"]
        if not any(o.startswith("data=") for o in overrides):
            base.append("data.n=120")  # the demo corpus, kept small
        return compose_generate(*base, *overrides)

    return make


def shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        pytest.skip(f"shared data folder {path} is absent (it lives beside the checkout)")
    return path


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory):
    """The three embedded family tokenizers, built once per test session."""
    from asktoact.train.tokenizer import build_tokenizer

    cache = tmp_path_factory.mktemp("tok")
    return {
        f: build_tokenizer(f, vocab_size=1024, corpus_rows=300, cache_dir=cache)
        for f in ("qwen2", "llama", "mistral")
    }
