"""A causal LM on disk: the folders a run writes, and loading and saving one with its tokenizer.

Training, the RL stage, evaluation and chat all read models through :func:`load_causal_lm`
(weights, tokenizer with its pad fix, optional peft adapter) and write them through
:func:`save_outputs`; a store entry names its model folder with :data:`MERGED`, :data:`ADAPTER`
or :data:`BASE`, and :func:`entry_name` reads the entry back from such a path.
"""

from __future__ import annotations

from pathlib import Path

from asktoact import faults
from asktoact.hardware import resolve_dtype
from asktoact.vocab import fit_embeddings, has_marker_tokens, marker_vocab_size

# The model folders of a store entry: a trained model's merged weights and peft adapter (both
# with the tokenizer), and a tiny model's random init.
MERGED, ADAPTER, BASE = "merged", "adapter", "model"


def entry_name(model_path: str | Path) -> str:
    """The store entry a model folder belongs to (``<entry>/merged`` → ``<entry>``), whose name
    carries its settings and their hash; any other path (a converted or downloaded model) by its
    own name."""
    path = Path(model_path)
    return path.parent.name if path.name in (MERGED, ADAPTER, BASE) else path.name


def load_tokenizer(source: str | Path, padding_side: str | None = None):
    """The tokenizer of a model folder or hub id; a pad token where the model ships none (Llama
    3): padded positions take no loss and are masked in generation, so its id does not matter."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(source))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if padding_side:
        tok.padding_side = padding_side
    return tok


def load_weights(
    path: str | Path,
    adapter: str | Path | None = None,
    dtype: str | None = None,
    merge: bool = False,
    vocab_size: int | None = None,
    **kwargs,
):
    """The model of ``path`` (a folder or hub id) with the peft ``adapter`` on top when given:
    attached, or folded into the weights (``merge``). ``dtype``: a name or ``auto``
    (``asktoact.hardware``); None keeps the checkpoint's loading default. ``vocab_size``: the
    embeddings grown to it before the adapter goes on (an adapter trained with added tokens,
    ``asktoact.vocab``). Further ``kwargs`` go to ``from_pretrained``."""
    from transformers import AutoModelForCausalLM

    if dtype is not None:
        kwargs["dtype"] = resolve_dtype(dtype)
    model = AutoModelForCausalLM.from_pretrained(str(path), **kwargs)
    fit_embeddings(model, vocab_size)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
        if merge:
            model = model.merge_and_unload()
    return model


def load_causal_lm(path, adapter=None, padding_side: str | None = None, **kwargs):
    """(model, tokenizer): :func:`load_weights` and the tokenizer of the adapter when there is
    one (it is saved with it), else of the model; a base model grows to an adapter tokenizer's
    added marker tokens."""
    tok = load_tokenizer(adapter or path, padding_side)
    vocab = marker_vocab_size(tok) if adapter else None
    return load_weights(path, adapter, vocab_size=vocab, **kwargs), tok


def save_outputs(model, tokenizer, out_dir: str | Path) -> dict[str, str]:
    """The peft adapter (when the model has one) and the merged model, both in HF format with
    the tokenizer, each written whole or not at all (``io.atomic_dir``)."""
    from peft import PeftModel

    from asktoact.io import atomic_dir

    out = Path(out_dir)
    paths = {}
    if isinstance(model, PeftModel):
        with atomic_dir(out / ADAPTER) as tmp:
            # grown by our marker tokens, the base's embeddings are not saved whole (peft would:
            # 227 MB for SmolLM2): a loader grows them again, row for row (asktoact.vocab)
            grown = {"save_embedding_layers": False} if has_marker_tokens(tokenizer) else {}
            model.save_pretrained(str(tmp), **grown)
            tokenizer.save_pretrained(str(tmp))
        paths[ADAPTER] = str(out / ADAPTER)
        merged = model.merge_and_unload()
    else:
        merged = model
    with atomic_dir(out / MERGED) as tmp:
        merged.save_pretrained(str(tmp))
        faults.reached("train.outputs")
        tokenizer.save_pretrained(str(tmp))
    paths[MERGED] = str(out / MERGED)
    return paths
