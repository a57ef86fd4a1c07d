"""The embedded tokenizers: byte-level BPE trained with ``tokenizers`` on the demo corpus.

A tokenizer carries its family's special tokens and chat template, so tiny models see the same
turn format as the real ones. It is built once per (family, vocab size, corpus size, seed) and
cached on disk; building takes a second or two.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from asktoact.constants import EOE, SOE, TAGS
from asktoact.io import atomic_dir
from asktoact.train.families import family as get_family

# Bump when corpus_texts changes, so that cached tokenizers built from the old corpus are not reused.
CORPUS_VERSION = 2


def corpus_texts(n: int, seed: int) -> list[str]:
    """Dialogue text from the offline pipeline (rules backends) over ``n`` demo rows."""
    import random

    from asktoact.data import assemble, augment, clarify, sampling, underspecify
    from asktoact.data.sources import demo

    examples = demo.load(n=n, seed=seed)
    by_id = {e.id: e for e in examples}
    samples = [sampling.sample_parameters(e, random.Random(f"tok:{e.id}")) for e in examples]
    records, _ = underspecify.run(examples, samples, seed)
    records, _ = clarify.run(by_id, records, seed)
    # Every error type equally often: the corpus only has to show the tokenizer each kind of turn.
    records, _ = augment.run(records, 0.5, seed, {t: 1.0 for t in augment.ERROR_TYPES})
    return [m["content"] for r in records for m in assemble.build_messages(by_id[r.id], r, seed)]


def build_tokenizer(
    family: str,
    vocab_size: int = 4096,
    corpus_rows: int = 2000,
    seed: int = 0,
    cache_dir: str | Path = ".cache/asktoact",
):
    """A ``PreTrainedTokenizerFast`` for the family, from the disk cache when already built."""
    from transformers import AutoTokenizer

    fam = get_family(family)
    key = hashlib.sha256(
        json.dumps(
            [CORPUS_VERSION, fam.name, fam.chat_template, vocab_size, corpus_rows, seed]
        ).encode()
    )
    path = Path(cache_dir) / "tokenizers" / f"{family}-{vocab_size}-{key.hexdigest()[:12]}"
    if not (path / "tokenizer.json").exists():
        with atomic_dir(path) as tmp:
            _train(fam, vocab_size, corpus_texts(corpus_rows, seed)).save_pretrained(str(tmp))
    return AutoTokenizer.from_pretrained(str(path))


def _train(fam, vocab_size: int, texts: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(fam.specials),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Tags and markers recur in every dialogue; as whole tokens they stay readable when decoded.
    extra = [*TAGS, SOE, EOE, "user", "assistant", "system", "tool"] * 50
    tok.train_from_iterator(texts + extra, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=fam.bos,
        eos_token=fam.eos,
        pad_token=fam.pad,
        unk_token=None,
    )
    fast.chat_template = fam.chat_template
    return fast
