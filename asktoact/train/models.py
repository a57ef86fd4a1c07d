"""Model, tokenizer and adapter from the ``model`` and ``adapter`` config groups.

Tiny models (``model.tiny: true``) are random-initialised from their family's config class with a
project-built tokenizer (``tokenizer.py``): no network. Real models load with ``from_pretrained``
from ``model.path`` (a local copy) or ``model.hf_id``. Adapters go through peft: ``lora`` and
``dora`` (LoRA with weight decomposition) on ``model.lora_target_modules`` (``adapter.peft`` is
a ``peft.LoraConfig`` node); ``full`` trains all.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from hydra.utils import instantiate

from asktoact.errors import ConfigError
from asktoact.hardware import resolve_dtype
from asktoact.train import gguf
from asktoact.train.families import family
from asktoact.train.tokenizer import build_tokenizer
from asktoact.weights import load_tokenizer as load_tokenizer_of
from asktoact.weights import load_weights

log = logging.getLogger(__name__)


def model_source(model_cfg, cache_dir: str) -> str:
    """Where a real model's weights load from: ``model.path``, else the HF folder converted from
    a packaged GGUF file (``model.gguf``), else the hub id."""
    if model_cfg.path:
        return model_cfg.path
    if model_cfg.gguf is not None:
        template = family(model_cfg.family).chat_template  # for a model that ships none
        return str(gguf.hf_folder(model_cfg.gguf, cache_dir, template))
    return model_cfg.hf_id


def load_tokenizer(model_cfg, cache_dir: str):
    """The model's tokenizer; a real model that ships no chat template (a base model such as
    CodeLlama-7b-hf) gets its family's, and is saved with it."""
    if model_cfg.tiny:
        t = model_cfg.tokenizer
        return build_tokenizer(model_cfg.family, t.vocab_size, t.corpus_rows, t.seed, cache_dir)
    tok = load_tokenizer_of(model_source(model_cfg, cache_dir))
    if not tok.chat_template:
        tok.chat_template = family(model_cfg.family).chat_template
    return tok


def eot_of(model_cfg) -> str:
    return model_cfg.eot or family(model_cfg.family).eot


def load_model(model_cfg, tokenizer, seed: int = 0, cache_dir: str = ".cache/asktoact"):
    from transformers import AutoModelForCausalLM

    if model_cfg.tiny:
        config = instantiate(
            model_cfg.config,
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        config._attn_implementation = model_cfg.attn_implementation
        torch.manual_seed(seed)
        return AutoModelForCausalLM.from_config(config, dtype=resolve_dtype(model_cfg.dtype))
    return load_weights(
        model_source(model_cfg, cache_dir),
        dtype=model_cfg.dtype,
        attn_implementation=model_cfg.attn_implementation,
    )


def apply_adapter(model, adapter_cfg, trainable_tokens: list[int] | None = None):
    """peft's LoRA/DoRA from ``adapter.peft`` (a ``peft.LoraConfig`` node), on the top
    ``adapter.top_layers`` layers when set, training the embedding rows of ``trainable_tokens``
    too (tokens added to the vocabulary, ``asktoact.vocab``); ``full`` has none."""
    if adapter_cfg.peft is None:
        return model
    from peft import get_peft_model

    extra = {}
    if trainable_tokens:
        extra["trainable_token_indices"] = list(trainable_tokens)
    n = model.config.num_hidden_layers
    if adapter_cfg.top_layers and adapter_cfg.top_layers < n:  # else every layer: nothing to pick
        if isinstance(adapter_cfg.peft.target_modules, str):
            # peft resolves a pattern such as all-linear itself and then cannot pick layers
            raise ConfigError(
                f"adapter.top_layers={adapter_cfg.top_layers} (of {n} layers) needs "
                f"model.lora_target_modules as a list of module names, not "
                f"{adapter_cfg.peft.target_modules!r}"
            )
        extra["layers_to_transform"] = list(range(n - adapter_cfg.top_layers, n))
    return get_peft_model(model, instantiate(adapter_cfg.peft, _convert_="all", **extra))


def parameter_counts(model) -> dict[str, Any]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "total": total,
        "trainable": trainable,
        "trainable_share": round(trainable / max(total, 1), 6),
    }
