"""The weighted loss against a hand computation for every masking scheme, and its normalisation."""

from __future__ import annotations

import types

import pytest
import torch
from test_encode import MESSAGES, TOOLS

from asktoact.constants import IGNORE_INDEX
from asktoact.train.datamodule import WindowBatchSampler, collate
from asktoact.train.encode import encode
from asktoact.train.families import family
from asktoact.train.loss import naive_lm_loss, weighted_lm_loss
from asktoact.train.module import ClarifyLM


def tiny_model(vocab: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=False,
    )
    return Qwen2ForCausalLM(cfg).eval()


def batch_for(tok, masking):
    other = [MESSAGES[0], {"role": "assistant", "content": "[QUESTION] How many people?"}]
    items = [encode(m, tok, masking, family("qwen2").eot, TOOLS) for m in (MESSAGES, other)]
    return collate([{**x, "window_weight": None} for x in items], tok.pad_token_id)


def by_hand(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor) -> float:
    """Σ w·(−log p(label)) / Σ w, position by position, the causal shift written out."""
    num = den = 0.0
    for b in range(labels.shape[0]):
        for t in range(labels.shape[1] - 1):
            target = int(labels[b, t + 1])
            if target == IGNORE_INDEX:
                continue
            logp = torch.log_softmax(logits[b, t].double(), dim=-1)[target].item()
            num += float(weights[b, t + 1]) * -logp
            den += float(weights[b, t + 1])
    return num / den


def test_loss_equals_a_hand_computation(tokenizers, scheme_name, masking):
    tok = tokenizers["qwen2"]
    model = tiny_model(len(tok))
    batch = batch_for(tok, masking(scheme_name))
    with torch.no_grad():
        hidden = model.get_decoder()(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state
        logits = model.get_output_embeddings()(hidden)
    sums = weighted_lm_loss(
        hidden,
        model.get_output_embeddings().weight,
        batch["labels"],
        batch["loss_weights"],
        chunk_size=5,
    )
    assert (sums.loss / sums.weight).item() == pytest.approx(
        by_hand(logits, batch["labels"], batch["loss_weights"]), rel=1e-5
    )
    n_trained = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
    assert sums.tokens == n_trained
    if scheme_name.endswith("pkt"):
        assert sums.weight.item() > n_trained  # key tokens weigh more than 1
    else:
        assert sums.weight.item() == n_trained


def test_chunked_loss_matches_naive_values_and_gradients():
    torch.manual_seed(1)
    hidden = torch.randn(3, 40, 16, requires_grad=True)
    head = torch.randn(500, 16, requires_grad=True)
    labels = torch.randint(0, 500, (3, 40))
    labels[:, :7] = IGNORE_INDEX
    weights = torch.rand(3, 40) * 4
    a = weighted_lm_loss(hidden, head, labels, weights, chunk_size=9)
    a.loss.backward()
    grads = hidden.grad.clone(), head.grad.clone()
    hidden.grad = head.grad = None
    b = naive_lm_loss(hidden @ head.T, labels, weights)
    b.loss.backward()
    assert a.loss.item() == pytest.approx(b.loss.item(), rel=1e-5)
    assert a.weight.item() == pytest.approx(b.weight.item())
    assert torch.allclose(grads[0], hidden.grad, atol=1e-5) and torch.allclose(
        grads[1], head.grad, atol=1e-4
    )


def test_accumulated_micro_batches_give_the_gradient_of_the_whole_batch(tokenizers, masking):
    """Two micro-batches normalised by their window's weight == one batch normalised by its own."""
    tok = tokenizers["qwen2"]
    enc = [encode(m, tok, masking("pkt"), "<|im_end|>", TOOLS) for m in (MESSAGES, MESSAGES[:2])]
    total = sum(sum(e["loss_weights"][1:]) for e in enc)

    def grads(batches, accumulate):
        model = tiny_model(len(tok)).train()
        module = ClarifyLM(model, loss_chunk_size=8)
        module.log = lambda *a, **k: None
        module._trainer = types.SimpleNamespace(accumulate_grad_batches=accumulate, world_size=1)
        for b in batches:
            (module.training_step(b, 0) / accumulate).backward()  # Lightning divides by accumulate
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    micro = [collate([{**e, "window_weight": total}], tok.pad_token_id) for e in enc]
    whole = collate([{**e, "window_weight": total} for e in enc], tok.pad_token_id)
    assert torch.allclose(grads(micro, 2), grads([whole], 1), atol=1e-6)


def test_window_sampler_plans_steps_across_ranks():
    lengths = [5, 50, 7, 48, 6, 52, 9, 47, 8, 51, 4, 49]
    weights = [float(n) for n in lengths]
    ranks = [
        WindowBatchSampler(lengths, weights, 2, accumulate=1, world_size=2, rank=r, seed=3)
        for r in (0, 1)
    ]
    per_rank = [list(s) for s in ranks]
    seen = sorted(i for batches in per_rank for b in batches for i, _ in b)
    assert seen == list(range(12))  # every example once per epoch, split across ranks
    for b0, b1 in zip(*per_rank, strict=True):  # the same step on both ranks shares one total
        total = sum(weights[i] for i, _ in b0 + b1)
        assert {w for _, w in b0} == {w for _, w in b1} == {total}
    assert len(ranks[0]) == len(per_rank[0])


def test_length_grouping_reduces_padding():
    import random

    rng = random.Random(0)
    lengths = [rng.choice([20, 400]) + rng.randint(0, 30) for _ in range(256)]

    def padded(group: bool) -> int:
        s = WindowBatchSampler(lengths, [1.0] * 256, 8, accumulate=4, group_by_length=group, seed=0)
        return sum(max(lengths[i] for i, _ in b) * len(b) for b in s)

    assert padded(True) < 0.7 * padded(False)
