"""``<SOE>``/``<EOE>`` as two added tokens (``masking.markers=special``): golden encodings for
the tiny families, the grown embeddings trained under LoRA, saved and loaded back exactly."""

from __future__ import annotations

import json

import pytest
import torch

from asktoact.train.families import family
from asktoact.vocab import MARKERS, add_marker_tokens, fit_embeddings, has_marker_tokens

ERROR = "[QUESTION] Which city again?"
MESSAGES = [
    {"role": "user", "content": "Book a table for 4 in a certain city."},
    {"role": "assistant", "content": "[QUESTION] Which city should I use for book_table?"},
    {"role": "user", "content": "Lisbon."},
    {
        "role": "assistant",
        "content": f'Noted: "city" is "Lisbon". <SOE> {ERROR} <EOE> That question was a mistake. '
        '[SUMMARY] Calls to make: [{"task": "book_table", "arguments": []}]',
    },
]


@pytest.mark.parametrize("fam", ["qwen2", "llama", "mistral"])
def test_markers_are_two_whole_untrained_tokens_in_every_tiny_family(
    tokenizers, fam, special_markers
):
    tok, _ = special_markers(tokenizers[fam], MESSAGES, family(fam).eot, ["book_table"], ERROR)
    assert len(tok) == len(tokenizers[fam]) + 2  # the tiny vocabularies split them into pieces
    assert tok.decode(tok("a <SOE> b <EOE>")["input_ids"], skip_special_tokens=True).endswith(
        "<SOE> b <EOE>"
    )  # ordinary added tokens: a generated span stays visible to the evaluator's parser


def test_markers_text_keeps_them_as_ordinary_pieces_and_other_modes_are_refused(
    tokenizers, compose
):
    from asktoact.config import ConfigError
    from asktoact.train.encode import encode
    from asktoact.train.masking import Masking

    tok = tokenizers["qwen2"]
    enc = encode(MESSAGES, tok, Masking("s", "span", markers="text"), "<|im_end|>", [])
    assert "<SOE> " + ERROR + " <EOE>" in tok.decode(enc["input_ids"])
    assert not has_marker_tokens(tok)
    with pytest.raises(ConfigError, match="masking.markers"):
        compose("train", "masking.markers=tokens")


def test_grown_rows_are_the_mean_and_the_same_on_every_growth(tokenizers, compose):
    from asktoact.train.models import load_model

    cfg = compose("train", "model=tiny-llama")
    tok = tokenizers["llama"]
    first, again = (load_model(cfg.model, tok, seed=0) for _ in range(2))
    n = first.get_input_embeddings().num_embeddings
    for model in (first, again):
        fit_embeddings(model, n + 2)
    for get in ("get_input_embeddings", "get_output_embeddings"):
        a, b = getattr(first, get)().weight, getattr(again, get)().weight
        assert a.shape[0] == n + 2 and torch.equal(a, b)
        assert torch.allclose(a[n:], a[:n].mean(0, keepdim=True).expand(2, -1))
    fit_embeddings(first, n)  # never shrinks, and None keeps the checkpoint's size
    fit_embeddings(first, None)
    assert first.get_input_embeddings().num_embeddings == n + 2


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=300")


@pytest.mark.slow
def test_a_lora_run_with_marker_tokens_trains_their_rows_and_loads_back_exactly(
    tmp_path, dataset, compose
):
    """run_training with markers=special: the two rows are trained (peft's trainable tokens),
    the adapter stays small, and base + adapter (grown again on loading) gives the merged
    model's logits on an input holding both markers."""
    from asktoact.train.models import load_model, load_tokenizer
    from asktoact.train.run import run_training
    from asktoact.weights import load_causal_lm

    cfg = compose(
        "train",
        f"data.path={dataset}",
        f"cache_dir={tmp_path / 'cache'}",
        "model=tiny-llama",
        "adapter=lora",
        "masking.markers=special",
        "adapter.lr=1e-2",
        "data.micro_batch_size=4",
        "optim.effective_batch_size=4",
        "trainer.max_steps=4",
        "trainer.limit_val_batches=1",
        "data.limit=16",
        "logger=csv",
    )
    summary = run_training(cfg, tmp_path / "run")
    base_tok = load_tokenizer(cfg.model, cfg.cache_dir)
    base = tmp_path / "base"
    load_model(cfg.model, base_tok, cfg.seed).save_pretrained(base)  # what the job stores
    merged, tok = load_causal_lm(summary["outputs"]["merged"], dtype="float32")
    adapted, tok2 = load_causal_lm(base, summary["outputs"]["adapter"], dtype="float32")
    assert has_marker_tokens(tok) and has_marker_tokens(tok2) and len(tok) == len(base_tok) + 2
    ids = tok.convert_tokens_to_ids(list(MARKERS))
    rows = merged.get_input_embeddings().weight
    mean = rows[: len(base_tok)].mean(0)
    assert all(not torch.allclose(rows[i], mean, atol=1e-4) for i in ids)  # trained
    adapter_file = tmp_path / "run" / "adapter" / "adapter_model.safetensors"
    assert adapter_file.stat().st_size < 2_000_000  # the grown embeddings are not saved whole
    x = torch.tensor([tok("Which city <SOE> wrong <EOE> right")["input_ids"]])
    assert set(ids) <= set(x[0].tolist())
    with torch.no_grad():
        diff = (merged(input_ids=x).logits - adapted(input_ids=x).logits).abs().max()
    assert diff < 1e-4, diff
    assert json.loads((tmp_path / "run" / "train_summary.json").read_text())["global_step"] == 4


def test_adding_the_markers_twice_adds_nothing(tokenizers):
    import copy

    tok = copy.deepcopy(tokenizers["mistral"])
    first = add_marker_tokens(tok)
    assert add_marker_tokens(tok) == first and len(tok) == len(tokenizers["mistral"]) + 2
