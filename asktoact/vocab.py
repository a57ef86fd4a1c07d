"""What the project adds to a model's vocabulary: the ``<SOE>``/``<EOE>`` marker tokens.

AskToAct marks an injected error with two new tokens. With ``masking.markers=special`` training
adds them to the tokenizer (:func:`add_marker_tokens`), grows the model's embeddings to match
(:func:`fit_embeddings`) and, under LoRA, trains the two new rows (peft's
``trainable_token_indices``): a frozen base would leave them at their initial values. An untied
output layer's two rows stay at their initial values under LoRA; with span masking the markers
are never a label, so nothing asks the model to write them. The tokenizer saved with every model
folder carries them, and :func:`marker_vocab_size` tells a loader how far to grow the base model
before its adapter goes on.
"""

from __future__ import annotations

from asktoact.constants import EOE, SOE

MARKERS = (SOE, EOE)


def add_marker_tokens(tokenizer) -> list[int]:
    """The two markers as whole tokens of ``tokenizer``; returns their ids. Added as ordinary
    (not special) tokens on purpose: decoding with ``skip_special_tokens`` keeps them, so a
    generated ``<SOE>…<EOE>`` span is still seen (and discounted) by the evaluator's parser."""
    from tokenizers import AddedToken

    tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t in MARKERS])
    return tokenizer.convert_tokens_to_ids(list(MARKERS))


def has_marker_tokens(tokenizer) -> bool:
    return all(t in tokenizer.get_added_vocab() for t in MARKERS)


def marker_vocab_size(tokenizer) -> int | None:
    """The vocabulary a model needs for ``tokenizer`` when it carries the added markers (its
    length), else None: the checkpoint's own size stands (some tokenizers are longer than their
    model's embeddings and were never meant to grow it)."""
    return len(tokenizer) if has_marker_tokens(tokenizer) else None


def fit_embeddings(model, vocab_size: int | None) -> None:
    """Grows the input embeddings (and untied output ones) to ``vocab_size`` rows, each new row
    the mean of the existing ones. Deterministic on purpose: a loader that grows the base model
    again before putting an adapter on gets exactly the rows the adapter was trained with
    (transformers' default draws them at random)."""
    import torch

    old = model.get_input_embeddings().num_embeddings
    if not vocab_size or vocab_size <= old:
        return
    model.resize_token_embeddings(vocab_size, mean_resizing=False)
    layers = {
        id(m.weight): m.weight
        for m in (model.get_input_embeddings(), model.get_output_embeddings())
        if m is not None
    }
    with torch.no_grad():
        for weight in layers.values():  # a tied output layer shares the input's weight
            weight[old:] = weight[:old].mean(dim=0, keepdim=True)
