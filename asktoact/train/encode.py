"""Chat → ``input_ids``, ``labels`` (IGNORE_INDEX where no loss) and ``loss_weights``.

The dialogue is rendered with the tokenizer's own chat template; which tokens are trained comes
from character offsets of each message (and of error and key spans) in the rendered text, so no
``{% generation %}`` markers are needed. Only assistant content and the end-of-turn string after it
are trained. Injected errors are handled by the masking scheme (``masking.py``); PKT weights are
``clip(|NK|/|K|, 1, w_max)`` for key tokens, computed per assistant turn over its trained tokens.

Truncation never cuts inside a turn: a too-long example is cut after its last complete assistant
turn that fits (``turns_dropped`` reports it); one with no complete turn that fits is refused
with :class:`EncodeError`, as is an example with no trainable token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from asktoact.constants import EOE, IGNORE_INDEX, SOE
from asktoact.tools.feedback import error_category
from asktoact.train.keytokens import key_ranges
from asktoact.train.masking import Masking

_ERROR = re.compile(re.escape(SOE) + r" ?(.*?) ?" + re.escape(EOE), re.S)


class EncodeError(ValueError):
    """An example that cannot be trained on; the message names the example and the reason."""


def split_errors(content: str, keep_markers: bool = False) -> tuple[str, list[tuple[int, int]]]:
    """Content without the markers (or with them, if kept) and the error ranges in it."""
    out, spans, last = [], [], 0
    for m in _ERROR.finditer(content):
        out.append(content[last : m.start()])
        start = sum(map(len, out))
        inner = f"{SOE} {m.group(1)} {EOE}" if keep_markers else m.group(1)
        out.append(inner)
        spans.append((start, start + len(inner)))
        last = m.end()
    out.append(content[last:])
    return "".join(out), spans


@dataclass
class Turn:
    role: str
    start: int  # content start in the rendered text
    end: int  # content end
    stop: int  # end of the end-of-turn string (assistant turns), else == end
    errors: list[tuple[int, int]] = field(default_factory=list)
    keys: list[tuple[int, int]] = field(default_factory=list)
    erroneous: bool = False


def _erroneous_turns(messages: list[dict[str, str]]) -> set[int]:
    """Assistant turns whose tool call the following tool feedback reports as failed (MAE)."""
    bad = set()
    for i, m in enumerate(messages[1:], start=1):
        if m["role"] in ("tool", "function") and error_category(m["content"]):
            prev = max((j for j in range(i) if messages[j]["role"] == "assistant"), default=None)
            if prev is not None:
                bad.add(prev)
    return bad


def locate_turns(rendered: str, messages, cleaned, eot: str, example_id: str) -> list[Turn]:
    turns, cursor = [], 0
    for i, (m, (content, errors)) in enumerate(zip(messages, cleaned, strict=True)):
        text = content if content in rendered[cursor:] else content.strip()
        start = rendered.find(text, cursor)
        if start < 0 or not text:
            raise EncodeError(
                f"example {example_id}: message {i} ({m['role']}) not found in the rendered chat template"
            )
        end = start + len(text)
        stop = end
        if m["role"] == "assistant":
            at = rendered.find(eot, end, end + len(eot) + 4)  # the template may add a space
            if at < 0:
                raise EncodeError(
                    f"example {example_id}: message {i} is not followed by end-of-turn {eot!r}"
                )
            stop = at + len(eot)
        shift = start - (0 if text == content else content.find(text))
        turns.append(Turn(m["role"], start, end, stop, [(a + shift, b + shift) for a, b in errors]))
        cursor = stop
    return turns


def encode(
    messages: list[dict[str, str]],
    tokenizer: Any,
    masking: Masking,
    eot: str,
    tool_names: list[str] | None = None,
    max_length: int | None = None,
    example_id: str = "?",
) -> dict[str, Any]:
    cleaned = [split_errors(m["content"], masking.keeps_markers) for m in messages]
    clean_msgs = [
        {"role": m["role"], "content": c} for m, (c, _) in zip(messages, cleaned, strict=True)
    ]
    rendered = tokenizer.apply_chat_template(clean_msgs, tokenize=False)
    turns = locate_turns(rendered, messages, cleaned, eot, example_id)
    for i in _erroneous_turns(messages):
        turns[i].erroneous = True
    if masking.pkt:
        for t, (content, _) in zip(turns, cleaned, strict=True):
            if t.role == "assistant":
                ranges = key_ranges(content, tool_names or [], masking.pkt_keys)
                t.keys = [(t.start + a, t.start + b) for a, b in ranges]
    enc = tokenizer(rendered, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    labels, weights, turn_of = _label(ids, offsets, turns, masking)
    ids, labels, weights, dropped = _truncate(
        ids, labels, weights, turn_of, turns, max_length, example_id
    )
    n_trained = sum(lab != IGNORE_INDEX for lab in labels)
    if n_trained == 0:
        raise EncodeError(
            f"example {example_id}: no trainable token under masking {masking.name!r}"
        )
    return {
        "input_ids": ids,
        "labels": labels,
        "loss_weights": weights,
        "n_trained": n_trained,
        "turns_dropped": dropped,
    }


def _overlaps(a0: int, a1: int, ranges: list[tuple[int, int]]) -> bool:
    return any(a0 < b1 and b0 < a1 for b0, b1 in ranges)


def _label(ids, offsets, turns: list[Turn], masking: Masking):
    labels = [IGNORE_INDEX] * len(ids)
    weights = [0.0] * len(ids)
    turn_of = [-1] * len(ids)
    assistant = [(k, t) for k, t in enumerate(turns) if t.role == "assistant"]
    for pos, (s, e) in enumerate(offsets):
        for k, t in assistant:
            if s < t.stop and t.start < e:  # the token overlaps this turn's content or end-of-turn
                turn_of[pos] = k
                # MAE masks a turn its tool feedback reports as failed, whole; both MAE and
                # selective masking mask an injected <SOE>…<EOE> error but keep its correction.
                masked = (masking.masks_failed_turns and t.erroneous) or (
                    masking.masks_spans and _overlaps(s, e, t.errors)
                )
                if not masked:
                    labels[pos], weights[pos] = ids[pos], 1.0
                break
    if masking.pkt:
        _pkt_weights(offsets, labels, weights, turn_of, turns, masking.w_max)
    return labels, weights, turn_of


def _pkt_weights(offsets, labels, weights, turn_of, turns, w_max: float) -> None:
    for k, t in enumerate(turns):
        trained = [p for p, tk in enumerate(turn_of) if tk == k and labels[p] != IGNORE_INDEX]
        key = [p for p in trained if _overlaps(*offsets[p], t.keys)]
        if key:
            w = min(max((len(trained) - len(key)) / len(key), 1.0), w_max)
            for p in key:
                weights[p] = w


def _truncate(ids, labels, weights, turn_of, turns, max_length, example_id):
    if max_length is None or len(ids) <= max_length:
        return ids, labels, weights, 0
    ends = [
        p
        for p in range(len(ids))
        if turn_of[p] >= 0 and (p + 1 == len(ids) or turn_of[p + 1] != turn_of[p])
    ]
    fitting = [p for p in ends if p < max_length]
    if not fitting:
        raise EncodeError(
            f"example {example_id}: no complete assistant turn fits in max_length={max_length} tokens"
        )
    cut = fitting[-1] + 1
    return ids[:cut], labels[:cut], weights[:cut], len(ends) - len(fitting)


def tool_names_of(tools_json: str) -> list[str]:
    return [t["name"] for t in json.loads(tools_json)] if tools_json else []
