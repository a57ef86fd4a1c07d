"""Training end to end on CPU: loss falls, outputs load, resume, strategies, loggers, multirun."""

from __future__ import annotations

import csv
import json

import pytest
from omegaconf import OmegaConf

from asktoact.tracking import redact
from asktoact.train.run import run_training


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=300")


@pytest.fixture
def train_cfg(compose):
    """``train_cfg(tmp_path, dataset, *overrides)``: a small CPU training config."""

    def make(tmp_path, dataset, *overrides):
        return compose("train", *BASE(tmp_path, dataset), *overrides)

    return make


def BASE(tmp_path, dataset):  # noqa: N802 (a constant list that depends on the test's paths)
    return [
        f"data.path={dataset}",
        f"cache_dir={tmp_path / 'cache'}",
        "logger=csv",
        "data.micro_batch_size=4",
        "optim.effective_batch_size=8",
        "trainer.max_epochs=5",
        "trainer.log_every_n_steps=1",
        "trainer.limit_val_batches=2",
        "data.max_length=768",
    ]


def losses(run_dir):
    with open(run_dir / "csv" / "version_0" / "metrics.csv") as fh:
        return [float(r["train/loss"]) for r in csv.DictReader(fh) if r.get("train/loss")]


@pytest.mark.slow
def test_tiny_model_trains_and_its_loss_falls(tmp_path, dataset, train_cfg):
    cfg = train_cfg(
        tmp_path,
        dataset,
        "adapter=full",
        "adapter.lr=1e-3",
        "trainer.max_steps=30",
        "data.limit=160",
    )
    summary = run_training(cfg, tmp_path / "run")
    curve = losses(tmp_path / "run")
    assert summary["global_step"] == 30 and len(curve) >= 20
    first, last = sum(curve[:5]) / 5, sum(curve[-5:]) / 5
    assert last < first - 0.5, curve
    refused = [
        json.loads(x) for x in (tmp_path / "run/encode_rejects.jsonl").read_text().splitlines()
    ]
    assert (
        summary["encoding"]["train_examples"] + sum(r["split"] == "train" for r in refused) == 160
    )
    assert all("no complete assistant turn fits in max_length=768" in r["reason"] for r in refused)
    assert 0.1 < summary["encoding"]["trained_token_share"] < 0.9


@pytest.mark.slow
def test_lora_run_saves_an_adapter_and_a_merged_model_that_load(tmp_path, dataset, train_cfg):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cfg = train_cfg(
        tmp_path,
        dataset,
        "adapter=lora",
        "trainer.max_steps=3",
        "data.limit=32",
        "model=tiny-llama",
    )
    summary = run_training(cfg, tmp_path / "run")
    assert 0 < summary["parameters"]["trainable"] < summary["parameters"]["total"]
    merged = AutoModelForCausalLM.from_pretrained(summary["outputs"]["merged"])
    tok = AutoTokenizer.from_pretrained(summary["outputs"]["merged"])
    assert merged.config.model_type == "llama" and "<|eot_id|>" in tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False
    )
    base = AutoModelForCausalLM.from_config(merged.config)
    adapted = PeftModel.from_pretrained(base, summary["outputs"]["adapter"])
    assert any("lora" in n for n, _ in adapted.named_parameters())


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path, dataset, train_cfg):
    first = run_training(
        train_cfg(
            tmp_path,
            dataset,
            "trainer.max_steps=4",
            "trainer.checkpoint_every_n_steps=2",
            "data.limit=48",
        ),
        tmp_path / "run",
    )
    assert first["global_step"] == 4 and (tmp_path / "run/checkpoints/last.ckpt").exists()
    again = run_training(
        train_cfg(
            tmp_path,
            dataset,
            "trainer.max_steps=6",
            "trainer.checkpoint_every_n_steps=2",
            "data.limit=48",
        ),
        tmp_path / "run",
    )
    assert again["resumed_from"].endswith("last.ckpt") and again["global_step"] == 6
    import torch

    state = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=False)["state_dict"]
    assert state and all("lora" in k for k in state)  # only trainable tensors are checkpointed


@pytest.mark.slow
def test_a_run_stopped_mid_epoch_resumes_with_the_batches_it_had_left(
    tmp_path, dataset, train_cfg, monkeypatch
):
    """Stopped after the step-2 checkpoint of a 6-step epoch, the resumed run trains on the
    batches the uninterrupted run trained on next (not the epoch's first ones again), with the
    same random numbers: it ends with the same adapter, byte for byte."""
    from asktoact.train.module import ClarifyLM

    args = ("adapter=lora", "trainer.max_steps=6", "trainer.checkpoint_every_n_steps=2")
    args = (*args, "data.limit=48", "trainer.max_epochs=1")
    whole = run_training(train_cfg(tmp_path, dataset, *args), tmp_path / "whole")
    seen, step = [], ClarifyLM.training_step

    def stop_at_seventh(self, batch, batch_idx):
        seen.append(batch_idx)
        if len(seen) == 7:  # the first micro-batch of step 4: step 2's checkpoint is the last
            raise RuntimeError("stopped")
        return step(self, batch, batch_idx)

    monkeypatch.setattr(ClarifyLM, "training_step", stop_at_seventh)
    with pytest.raises(RuntimeError, match="stopped"):
        run_training(train_cfg(tmp_path, dataset, *args), tmp_path / "again")
    monkeypatch.setattr(ClarifyLM, "training_step", step)
    again = run_training(train_cfg(tmp_path, dataset, *args), tmp_path / "again")
    assert again["resumed_from"] and again["global_step"] == whole["global_step"] == 6
    part = "adapter/adapter_model.safetensors"
    assert (tmp_path / "again" / part).read_bytes() == (tmp_path / "whole" / part).read_bytes()
    assert again["metrics"]["train/loss"] == whole["metrics"]["train/loss"]


@pytest.mark.slow
def test_each_epoch_trains_on_its_own_batch_order(tmp_path, dataset, train_cfg, monkeypatch):
    """The sampler is reshuffled every epoch (Lightning's set_epoch never reaches a batch
    sampler: every epoch used to replay the first one's order)."""
    from asktoact.train.module import ClarifyLM

    seen, step = [], ClarifyLM.training_step

    def record(self, batch, batch_idx):
        seen.append((self.trainer.current_epoch, int(batch["input_ids"].sum())))
        return step(self, batch, batch_idx)

    monkeypatch.setattr(ClarifyLM, "training_step", record)
    args = ("data.limit=24", "trainer.max_epochs=2", "logger=none")
    run_training(train_cfg(tmp_path, dataset, *args), tmp_path / "run")
    epochs = [[b for e, b in seen if e == k] for k in (0, 1)]
    assert len(epochs[0]) == len(epochs[1]) == 6
    assert epochs[0] != epochs[1], "epoch 2 replayed epoch 1's batches in the same order"


@pytest.mark.parametrize(
    "name", ["auto", "ddp", "deepspeed_zero2", "deepspeed_zero3", "deepspeed_zero3_offload"]
)
def test_strategy_configs_build_on_cpu(name, compose):
    from asktoact.train.run import make_strategy

    cfg = compose("train", f"strategy={name}")
    strategy = make_strategy(cfg.strategy)
    if name == "auto":
        assert strategy == "auto"
        return
    if name == "ddp":
        assert type(strategy).__name__ == "DDPStrategy"
        return
    zero = strategy.config["zero_optimization"]
    assert type(strategy).__name__ == "DeepSpeedStrategy"
    assert zero["stage"] == (2 if name.endswith("zero2") else 3)
    assert bool(zero.get("offload_optimizer")) == name.endswith("offload")
    assert bool(zero.get("offload_param")) == name.endswith("offload")


def test_masking_configs_instantiate(scheme_name, masking):
    m = masking(scheme_name)
    assert m.name == scheme_name and m.pkt == scheme_name.endswith("pkt")


def test_redact_hides_secret_values_but_keeps_variable_names():
    cfg = {
        "llm": {"api_key_env": "OPENAI_API_KEY", "api_key": "sk-live"},
        "wandb": {"token": "t"},
        "lr": 1e-4,
    }
    assert redact(cfg) == {
        "llm": {"api_key_env": "OPENAI_API_KEY", "api_key": "***"},
        "wandb": {"token": "***"},
        "lr": 1e-4,
    }


@pytest.mark.slow
def test_wandb_logger_runs_offline_without_a_key(tmp_path, dataset, monkeypatch, train_cfg):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    secret = "sk-should-never-leak-0123"
    cfg = train_cfg(
        tmp_path,
        dataset,
        "logger=wandb",
        "logger.tags=[test]",
        "trainer.max_steps=2",
        "data.limit=16",
    )
    # The schemas have no place for a key (keys come from the environment), so plant one in an
    # untyped copy, as a hand-made config might carry it.
    cfg = OmegaConf.create(OmegaConf.to_container(cfg))
    cfg.llm.api_key = secret
    run_training(cfg, tmp_path / "run")
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*/*.wandb"))
    assert len(runs) == 1
    record = runs[0].read_bytes()  # the offline run: config, metrics and summary, to `wandb sync`
    assert b"selective" in record and b"train/loss" in record
    assert secret.encode() not in record


@pytest.mark.slow
@pytest.mark.heavy
def test_cli_multirun_sweeps_masking(tmp_path, dataset, cli):
    cli(
        "train",
        "--multirun",
        "masking=selective,mae",
        f"data.path={dataset}",
        "logger=none",
        "+debug=fast",
        f"cache_dir={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    summaries = [
        json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/train_summary.json"))
    ]
    assert len(summaries) == 2 and all(s["global_step"] == 6 for s in summaries)


@pytest.mark.slow  # builds a model with peft
def test_dora_adapter_adds_magnitude_vectors(tmp_path, compose):
    from asktoact.train.models import apply_adapter, load_model, load_tokenizer

    cfg = compose("train", "adapter=dora", f"cache_dir={tmp_path}")
    tok = load_tokenizer(cfg.model, cfg.cache_dir)
    model = apply_adapter(load_model(cfg.model, tok), cfg.adapter)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert any("lora_magnitude_vector" in n for n in names) and all("lora" in n for n in names)


def test_top_layers_on_a_pattern_of_target_modules(tmp_path, compose):
    """A tiny family's all-linear LoRA: top_layers covering every layer adapts them all (the
    tiny Mistral stand-in at scale=small, top 12 of 2); fewer layers than that is refused, naming
    both keys (peft cannot pick layers for a pattern)."""
    from asktoact.train.models import apply_adapter, load_model, load_tokenizer

    cfg = compose("train", "model=tiny-mistral", "adapter=lora", f"cache_dir={tmp_path}")
    tok = load_tokenizer(cfg.model, cfg.cache_dir)
    cfg.adapter.top_layers = 12
    model = apply_adapter(load_model(cfg.model, tok), cfg.adapter)
    adapted = {
        n.split(".layers.")[1].split(".")[0] for n, _ in model.named_parameters() if "lora_A" in n
    }
    assert adapted == {"0", "1"}
    cfg.adapter.top_layers = 1
    from asktoact.errors import ConfigError

    with pytest.raises(ConfigError, match=r"adapter.top_layers=1 .*model.lora_target_modules"):
        apply_adapter(load_model(cfg.model, tok), cfg.adapter)


@pytest.mark.slow
def test_real_model_config_loads_a_local_copy_with_from_pretrained(tmp_path, dataset, train_cfg):
    """The qwen2.5-7b-instruct config's loading code, pointed at a small local checkpoint."""
    from asktoact.train.models import load_model, load_tokenizer

    tiny = train_cfg(tmp_path, dataset)
    tok = load_tokenizer(tiny.model, tiny.cache_dir)
    load_model(tiny.model, tok).save_pretrained(tmp_path / "local")
    tok.save_pretrained(tmp_path / "local")
    cfg = train_cfg(
        tmp_path,
        dataset,
        "model=qwen2.5-7b-instruct",
        f"model.path={tmp_path / 'local'}",
        "model.dtype=float32",
        "adapter=lora",
        "trainer.max_steps=2",
        "data.limit=16",
    )
    summary = run_training(cfg, tmp_path / "run")
    assert summary["global_step"] == 2 and summary["encoding"]["train_examples"] > 0
    assert summary["parameters"]["trainable"] < summary["parameters"]["total"]


def test_a_training_limit_keeps_the_splits_error_correction_share_exactly():
    """12 rows, 4 augmented (a third), none among the first 6: a limit of 6 takes the first 2
    augmented and the first 4 clean rows, in order — the first 6 rows would hold none."""
    import datasets

    from asktoact.train.datamodule import augmented_share, training_rows

    augmented = {6: "incomplete", 7: "redundant", 9: "redundant", 11: "redundant"}
    split = datasets.Dataset.from_dict(
        {
            "id": [f"r{k}" for k in range(12)],
            "augmented": [k in augmented for k in range(12)],
            "error_type": [augmented.get(k, "") for k in range(12)],
        }
    )
    assert training_rows(split, 6)["id"] == ["r0", "r1", "r2", "r3", "r6", "r7"]
    # 9 rows: round(4 × 9 / 12) = 3 augmented (6, 7, 9) and the first 6 clean ones
    assert training_rows(split, 9)["id"] == [f"r{k}" for k in (0, 1, 2, 3, 4, 5, 6, 7, 9)]
    assert training_rows(split, None) is split and training_rows(split, 20) is split
    share = augmented_share(training_rows(split, 6).to_list())
    assert share == {
        "augmented": 2,
        "augmented_share": 0.3333,
        "error_types": {"incomplete": 1, "redundant": 1},
    }
    plain = datasets.Dataset.from_dict({"id": ["a", "b", "c"]})  # trajectories: no such column
    assert training_rows(plain, 2)["id"] == ["a", "b"]


def test_dialogues_beyond_max_length_are_counted_before_training_as_training_counts_them(
    tmp_path, dataset, train_cfg, monkeypatch
):
    """At 512 tokens some demo dialogues are cut and some refused: the count made before any
    training (stored in the dataset's manifest) equals what the train step's encoding reports,
    and a second count for the same settings is read back, not encoded again."""
    import shutil

    from hydra.utils import instantiate

    from asktoact.train import fit
    from asktoact.train.models import load_tokenizer
    from asktoact.train.run import data_module

    data = tmp_path / "data"
    shutil.copytree(dataset, data)  # the manifest is written to: not the module's shared copy
    cfg = train_cfg(tmp_path, data, "data.max_length=512", "data.limit=120")
    counted = fit.length_fit(cfg, data)
    tokenizer = load_tokenizer(cfg.model, cfg.cache_dir)
    dm = data_module(cfg, tmp_path / "run", tokenizer, instantiate(cfg.masking))
    dm.setup()
    train, val = counted["splits"]["train"], counted["splits"]["test"]
    assert train["dialogues"] == 120 and train["cut"] > 0 and train["refused"] + val["refused"] > 0
    assert (train["cut"], train["refused"] + val["refused"]) == (
        dm.stats["truncated"],
        dm.stats["refused"],
    )
    assert dm.stats["train_examples"] == 120 - train["refused"]
    assert 0 < train["longest_kept"] <= 512
    manifest = json.loads((data / "manifest.json").read_text())
    assert list(manifest["length_fit"].values()) == [counted]
    monkeypatch.setattr(fit, "count_fit", lambda *a: pytest.fail("counted twice"))
    assert fit.length_fit(cfg, data) == counted
    assert fit.describe(counted).startswith(
        f"train {train['cut']} cut + {train['refused']} refused"
    )
