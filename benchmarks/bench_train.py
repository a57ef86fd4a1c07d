"""Training benchmarks: prints JSON (and writes benchmarks/results/train.json).

1. ``loss_time``: forward+backward time of our weighted chunked loss vs plain mean cross-entropy
   over the same hidden states and head (target: overhead <= 5%), with all positions trained and
   with the trained share of our dialogues.
2. ``loss_memory``: peak memory of the loss at vocab 152k, sequence 4096, measured as the peak
   RSS growth of a fresh process (target: chunked <= 30% of the naive full-logits path).
3. ``throughput``: training tokens/s of our Lightning module + data module vs a plain
   ``transformers.Trainer`` on the same tiny model, encoded data and batch size (targets: >= 1.0x;
   >= 1.3x on variable-length dialogues thanks to length-grouped batches).
4. ``real_model``: SmolLM2-135M-Instruct with LoRA (r 16, all linear layers) on demo dialogues
   (system prompt, selective masking, length-grouped micro-batches of 4): tokens/s of forward +
   backward with our fused weighted loss vs the model's own loss (full logits, mean CE) on the
   same batches, in fp32 and in bf16 autocast (targets: bf16 >= 1.35x fp32; ours >= 1.15x HF's
   in bf16), each run's model FLOPs/s as a share of the machine's measured matmul peak, and the
   peak memory of each (fresh process each).

Usage: python benchmarks/bench_train.py [--skip-memory] [--skip-real] [--steps 40] [--real-steps 12]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _results import emit  # noqa: E402

from asktoact.constants import IGNORE_INDEX  # noqa: E402
from asktoact.train.loss import weighted_lm_loss  # noqa: E402


def _time(fn, repeats: int = 5) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def loss_time(trained_share: float, tokens=4096, hidden=512, vocab=32000) -> dict:
    torch.manual_seed(0)
    # Scaled like a trained model's (logits of order 1); unscaled random ones spread over
    # hundreds of nats and make exp() crawl through denormals on CPU.
    h = (torch.randn(1, tokens, hidden) / hidden**0.5).requires_grad_()
    head = torch.randn(vocab, hidden, requires_grad=True)
    labels = torch.randint(0, vocab, (1, tokens))
    labels[torch.rand(1, tokens) > trained_share] = IGNORE_INDEX
    weights = (labels != IGNORE_INDEX).float()

    def plain():
        logits = (h @ head.T).float()
        F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1)).backward()

    def ours():
        s = weighted_lm_loss(h, head, labels, weights, chunk_size=1024)
        (s.loss / s.weight).backward()

    t_plain, t_ours = _time(plain), _time(ours)
    return {
        "trained_share": trained_share,
        "plain_s": round(t_plain, 4),
        "ours_s": round(t_ours, 4),
        "overhead": round(t_ours / t_plain - 1, 4),
        "target_overhead": 0.05,
        "met": t_ours <= 1.05 * t_plain,
    }


_MEMORY_CHILD = """
import resource, sys, torch
from asktoact.train.loss import weighted_lm_loss, naive_lm_loss
torch.manual_seed(0)
T, H, V = 4096, 256, 152064
h = torch.randn(1, T, H, requires_grad=True); head = torch.randn(V, H)
labels = torch.randint(0, V, (1, T)); weights = torch.ones(1, T)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[1] == "naive":
    naive_lm_loss(h @ head.T, labels, weights).loss.backward()
else:
    weighted_lm_loss(h, head, labels, weights, chunk_size=1024).loss.backward()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def loss_memory() -> dict:
    peaks = {}
    for path in ("naive", "chunked"):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, path], capture_output=True, text=True, check=True
        )
        peaks[path] = int(out.stdout.strip().splitlines()[-1])
    ratio = peaks["chunked"] / peaks["naive"]
    return {
        "vocab": 152064,
        "seq": 4096,
        "naive_peak_bytes": peaks["naive"],
        "chunked_peak_bytes": peaks["chunked"],
        "ratio": round(ratio, 4),
        "target_ratio": 0.30,
        "met": ratio <= 0.30,
    }


def _encoded(n_rows: int, variable: bool):
    """Encoded dialogues from the offline pipeline; ``variable`` mixes short and long ones."""
    from hydra.utils import instantiate

    from asktoact.config import compose
    from asktoact.data.build import build
    from asktoact.train.datamodule import encode_split
    from asktoact.train.families import family
    from asktoact.train.tokenizer import build_tokenizer

    tmp = Path(tempfile.mkdtemp())
    cfg = compose(
        "generate",
        [
            f"data.n={n_rows}",
            "quality.enabled=false",
            f"cache_dir={tmp}",
            "data.max_calls=" + ("4" if variable else "1"),
        ],
    )
    build(cfg, tmp / "data")
    selective = instantiate(compose("train", ["masking=selective"]).masking)
    import datasets

    tok = build_tokenizer("qwen2", cache_dir=tmp)
    rows = datasets.load_from_disk(str(tmp / "data" / "dataset"))["train"]
    enc, _ = encode_split(rows, tok, selective, family("qwen2").eot, 1024, "bench")
    return tok, enc


def _model(tok):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=len(tok),
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=False,
    )
    return Qwen2ForCausalLM(cfg)


def ours_tokens_per_s(tok, enc, micro: int, steps: int) -> float:
    import pytorch_lightning as pl

    from asktoact.train.datamodule import DialogueDataModule
    from asktoact.train.module import ClarifyLM

    dm = DialogueDataModule(".", tok, None, "<|im_end|>", micro_batch_size=micro, val_split=None)
    dm.train_rows = enc
    module = ClarifyLM(_model(tok), lr=1e-4, warmup_ratio=0.0)
    trainer = pl.Trainer(
        max_steps=steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        use_distributed_sampler=False,
    )
    start = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    seconds = time.perf_counter() - start
    return steps * micro * (sum(len(r["input_ids"]) for r in enc) / len(enc)) / seconds


def hf_tokens_per_s(tok, enc, micro: int, steps: int) -> float:
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    rows = [
        {
            "input_ids": r["input_ids"],
            "labels": r["labels"],
            "attention_mask": [1] * len(r["input_ids"]),
        }
        for r in enc
    ]
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=micro,
        max_steps=steps,
        learning_rate=1e-4,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=_model(tok),
        args=args,
        train_dataset=rows,
        data_collator=DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=IGNORE_INDEX),
    )
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return steps * micro * (sum(len(r["input_ids"]) for r in enc) / len(enc)) / seconds


def throughput(steps: int) -> dict:
    result = {}
    for name, variable, target in (("uniform_length", False, 1.0), ("variable_length", True, 1.3)):
        tok, enc = _encoded(600, variable)
        ours, hf = ours_tokens_per_s(tok, enc, 8, steps), hf_tokens_per_s(tok, enc, 8, steps)
        lengths = sorted(len(r["input_ids"]) for r in enc)
        result[name] = {
            "examples": len(enc),
            "length_min_median_max": [lengths[0], lengths[len(lengths) // 2], lengths[-1]],
            "ours_tokens_per_s": round(ours, 1),
            "hf_trainer_tokens_per_s": round(hf, 1),
            "speedup": round(ours / hf, 3),
            "target_speedup": target,
            "met": ours / hf >= target,
        }
    return result


# LoRA placement variants (the loss is ours): all linear layers (the default "ours") or the top N.
TOP_LAYERS = {"ours-top12": 12}


def _real_batches(n_rows: int, micro: int, extra: tuple[str, ...] = ()):
    """Length-grouped micro-batches of encoded demo dialogues for SmolLM2, and its model config."""
    from hydra.utils import instantiate

    from asktoact.config import compose
    from asktoact.data.build import build
    from asktoact.train.datamodule import WindowBatchSampler, collate, encode_split
    from asktoact.train.models import load_tokenizer
    from asktoact.train.run import chat_preparation

    tmp = Path(tempfile.mkdtemp())
    build(
        compose("generate", [f"data.n={n_rows}", "quality.enabled=false", f"cache_dir={tmp}"]), tmp
    )
    cfg = compose(
        "train", ["model=smollm2-135m-instruct", "adapter=lora", "adapter.peft.r=16", *extra]
    )
    tok = load_tokenizer(cfg.model, cfg.cache_dir)
    import datasets

    rows = datasets.load_from_disk(str(tmp / "dataset"))["train"]
    masking = instantiate(cfg.masking)
    enc, _ = encode_split(rows, tok, masking, cfg.model.eot, 1024, "bench", chat_preparation(cfg))
    sampler = WindowBatchSampler([len(r["input_ids"]) for r in enc], [1.0] * len(enc), micro)
    for r in enc:
        r["window_weight"] = None
    batches = [collate([enc[i] for i, _ in b], tok.pad_token_id) for b in sampler]
    return cfg, batches


def real_child(variant: str, precision: str, steps: int) -> None:
    """One variant in this (fresh) process; prints tokens, seconds, FLOPs and peak RSS as JSON."""
    import contextlib
    import json
    import resource

    from _machine import train_flops_per_token

    from asktoact.train.loss import weighted_lm_loss
    from asktoact.train.models import apply_adapter, load_model, load_tokenizer

    top = TOP_LAYERS.get(variant)
    cfg, batches = _real_batches(240, 4, (f"adapter.top_layers={top}",) if top else ())
    model = apply_adapter(
        load_model(cfg.model, load_tokenizer(cfg.model, cfg.cache_dir), 0, cfg.cache_dir),
        cfg.adapter,
    )
    model.train()
    body, head = model.get_decoder(), model.get_output_embeddings()
    # bf16: autocast, as Lightning's bf16-mixed runs a step (master weights stay float32).
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if precision == "bf16"
        else contextlib.nullcontext()
    )
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tokens, start = 0, None
    for k, batch in enumerate(batches[: steps + 1]):
        if k == 1:  # the first step warms up
            start, tokens = time.perf_counter(), 0
        with autocast:
            if variant != "hf":
                hidden = body(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).last_hidden_state
                sums = weighted_lm_loss(hidden, head.weight, batch["labels"], batch["loss_weights"])
                loss = sums.loss / sums.weight
            else:
                loss = model(
                    **{k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
                ).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
    seconds = time.perf_counter() - start
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
    flops = train_flops_per_token(model) * tokens
    print(json.dumps({"tokens": tokens, "seconds": seconds, "flops": flops, "peak_bytes": peak}))


def real_model(steps: int) -> dict:
    """Our fused loss vs HF's loss, fp32 vs bf16 autocast, each in a fresh process; tokens/s and
    the model's FLOPs/s as a share of the machine's measured matmul peak in that precision."""
    import json

    from _machine import matmul_peak, mfu

    peak = matmul_peak(device="cpu")  # this benchmark trains on the CPU
    runs = {}
    points = [(p, v) for p in ("fp32", "bf16") for v in ("ours", "hf")]
    points += [("bf16", v) for v in TOP_LAYERS]  # placement, in the fast precision
    for precision, variant in points:
        proc = subprocess.run(
            [sys.executable, __file__, "--real-child", variant, precision, str(steps)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        runs[f"{variant}_{precision}"] = {
            "tokens_per_s": round(r["tokens"] / r["seconds"], 1),
            "mfu": mfu(r["flops"] / r["seconds"], peak[f"{precision}_gflops"]),
            "peak_rss_bytes": r["peak_bytes"],
        }
    tps = {k: v["tokens_per_s"] for k, v in runs.items()}
    bf16_gain, fused_gain = tps["ours_bf16"] / tps["ours_fp32"], tps["ours_bf16"] / tps["hf_bf16"]
    return {
        "model": "SmolLM2-135M-Instruct, LoRA r16 on all linear layers (ours-top12: top 12 layers), micro-batch 4",
        "steps": steps,
        "matmul_peak": peak,
        "runs": runs,
        "bf16_vs_fp32_ours": round(bf16_gain, 3),
        "target_bf16_vs_fp32": 1.35,
        "bf16_met": bf16_gain >= 1.35,
        "ours_vs_hf_bf16": round(fused_gain, 3),
        "ours_vs_hf_fp32": round(tps["ours_fp32"] / tps["hf_fp32"], 3),
        "target_ours_vs_hf_bf16": 1.15,
        "fused_met": fused_gain >= 1.15,
        # Same batches: tokens/s with LoRA on the top layers only over LoRA on all of them
        # (backpropagation stops at the lowest adapted layer).
        "top12_vs_all_bf16": round(tps["ours-top12_bf16"] / tps["ours_bf16"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--real-steps", type=int, default=12)
    parser.add_argument("--real-child", nargs=3, metavar=("LOSS", "PRECISION", "STEPS"))
    parser.add_argument("--only-real", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    if args.real_child:
        variant, precision, steps = args.real_child
        real_child(variant, precision, int(steps))
        return
    results = {"cpus": os.cpu_count(), "device": "cpu"}
    if not args.only_real:
        results["loss_time"] = [loss_time(1.0), loss_time(0.45)]
        if not args.skip_memory:
            results["loss_memory"] = loss_memory()
        results["throughput"] = throughput(args.steps)
    if not args.skip_real:
        results["real_model"] = real_model(args.real_steps)
    emit("train", results)


if __name__ == "__main__":
    main()
