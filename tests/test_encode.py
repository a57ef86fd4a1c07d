"""Golden tests of chat encoding for all three tiny families and every masking scheme."""

from __future__ import annotations

import json
import re

import pytest

from asktoact.constants import IGNORE_INDEX
from asktoact.train.encode import EncodeError, encode, split_errors
from asktoact.train.families import family
from asktoact.train.keytokens import key_ranges
from asktoact.train.masking import Masking

SOLUTION = [
    {
        "task": "book_table",
        "arguments": [{"name": "city", "value": "Lisbon"}, {"name": "people", "value": 4}],
    }
]
TURN1 = "[QUESTION] Which city should I use for book_table?"
ERROR = "[QUESTION] Which city again?"
TURN2 = (
    '[PARAMETER EVALUATION] Noted: "city" is "Lisbon". <SOE> '
    + ERROR
    + " <EOE> That question was a "
    "mistake. [SUMMARY] Calls to make: " + json.dumps(SOLUTION)
)
MESSAGES = [
    {"role": "user", "content": "Book a table for 4 in a certain city."},
    {"role": "assistant", "content": TURN1},
    {"role": "user", "content": "Lisbon."},
    {"role": "assistant", "content": TURN2},
]
TOOLS = ["book_table", "book_taxi", "get_weather"]
FAMILIES = ["qwen2", "llama", "mistral"]


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def run(tokenizers, fam, masking: Masking, messages=MESSAGES, **kw):
    return encode(
        messages, tokenizers[fam], masking, family(fam).eot, TOOLS, example_id="golden", **kw
    )


@pytest.mark.parametrize("fam", FAMILIES)
def test_standard_trains_every_assistant_token_and_each_end_of_turn(
    tokenizers, fam, masking, trained_runs
):
    enc = run(tokenizers, fam, masking("standard"))
    eot = family(fam).eot
    clean2, _ = split_errors(TURN2)
    assert [squash(r) for r in trained_runs(tokenizers[fam], enc)] == [
        squash(TURN1 + eot),
        squash(clean2 + eot),
    ]
    assert all(w in (0.0, 1.0) for w in enc["loss_weights"])
    # labels equal input ids exactly where trained, and weights are 1 exactly there
    for i, lab, w in zip(enc["input_ids"], enc["labels"], enc["loss_weights"], strict=True):
        assert lab in (IGNORE_INDEX, i) and (w == 1.0) == (lab != IGNORE_INDEX)


@pytest.mark.parametrize("fam", FAMILIES)
def test_selective_keeps_error_as_context_but_never_trains_it(
    tokenizers, fam, masking, trained_runs
):
    enc = run(tokenizers, fam, masking("selective"))
    tok, eot = tokenizers[fam], family(fam).eot
    assert ERROR in tok.decode(enc["input_ids"])  # context for the correction
    assert "<SOE>" not in tok.decode(enc["input_ids"])  # markers removed from the input
    runs = trained_runs(tok, enc)
    assert not any("again" in r for r in runs)
    expected = TURN2.split(" <SOE>")[0] + " " + TURN2.split("<EOE> ")[1] + eot
    assert squash("".join(runs[1:])) == squash(expected)
    assert squash(runs[0]) == squash(TURN1 + eot)


@pytest.mark.parametrize("fam", FAMILIES)
def test_mae_without_tool_feedback_masks_like_selective(tokenizers, fam, masking, trained_runs):
    # An AskToAct dialogue has no tool feedback: only the injected <SOE>…<EOE> error is masked,
    # and the correction after it in the same turn is trained.
    mae, sel = run(tokenizers, fam, masking("mae")), run(tokenizers, fam, masking("selective"))
    assert mae["labels"] == sel["labels"] and mae["input_ids"] == sel["input_ids"]
    assert not any("again" in r for r in trained_runs(tokenizers[fam], mae))


def test_mae_masks_a_turn_whose_tool_feedback_reports_an_error(tokenizers, masking, trained_runs):
    messages = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": '{"task": "get_wether", "arguments": []}'},
        {"role": "tool", "content": '{"error": "unknown API get_wether"}'},
        {"role": "assistant", "content": '{"task": "get_weather", "arguments": []}'},
        {"role": "tool", "content": '{"result": "sunny"}'},
        {"role": "assistant", "content": "It is sunny in Oslo."},
    ]
    enc = run(tokenizers, "qwen2", masking("mae"), messages=messages)
    runs = [squash(r) for r in trained_runs(tokenizers["qwen2"], enc)]
    assert runs == [
        squash(messages[3]["content"] + "<|im_end|>"),
        squash(messages[5]["content"] + "<|im_end|>"),
    ]


@pytest.mark.parametrize("fam", FAMILIES)
@pytest.mark.parametrize("scheme", ["pkt", "selective_pkt", "mae_pkt"])
def test_pkt_weights_follow_the_formula_per_turn(tokenizers, fam, scheme, masking):
    # Without an injected error every scheme trains both turns (MAE would mask an erroneous one).
    clean = [*MESSAGES[:3], {"role": "assistant", "content": split_errors(TURN2)[0]}]
    enc = run(tokenizers, fam, masking(scheme), messages=clean)
    tok = tokenizers[fam]
    trained = [p for p, lab in enumerate(enc["labels"]) if lab != IGNORE_INDEX]
    # Turns are the contiguous trained runs; the key tokens are all in the summary turn.
    split = next(p for p in trained if p > trained[0] and p - 1 not in trained)
    turns = [[p for p in trained if p < split], [p for p in trained if p >= split]]
    keys = [p for p in trained if enc["loss_weights"][p] > 1.0]
    assert keys and all(p in turns[-1] for p in keys)
    # The default keys are where the tool is chosen: the name's first token and the token where
    # "book_table" departs from "book_taxi"; every key token is a piece of the name.
    assert 1 <= len(keys) <= 2
    assert all(tok.decode([enc["input_ids"][p]]).strip() in "book_table" for p in keys)
    last = turns[-1]
    k, nk = len(keys), len(last) - len(keys)
    w = min(max(nk / k, 1.0), 9.0)
    assert all(enc["loss_weights"][p] == pytest.approx(w) for p in keys)
    assert sum(enc["loss_weights"][p] for p in last) == pytest.approx(nk + k * w)


def test_key_ranges_are_the_first_name_character_and_the_divergence():
    content = split_errors(TURN2)[0]
    name_at = content.index('"book_table"') + 1
    # "book_table" shares "book_ta" with "book_taxi": the choice is made at the next character.
    assert key_ranges(content, TOOLS) == [(name_at, name_at + 1), (name_at + 7, name_at + 8)]
    # With no competing tool the first character decides; without a summary nothing is key.
    assert [content[a:b] for a, b in key_ranges(content, ["book_table"])] == ["b"]
    assert key_ranges(TURN1, TOOLS) == []


def test_tool_and_values_keys_add_every_argument_value():
    content = split_errors(TURN2)[0]
    spans = key_ranges(content, TOOLS, keys="tool_and_values")
    assert [content[a:b] for a, b in spans] == ["b", "Lisbon", "4"]
    with pytest.raises(ValueError, match="masking.pkt_keys must be one of"):
        key_ranges(content, TOOLS, keys="values")


def test_pkt_weight_is_clipped_at_w_max(tokenizers):
    enc = run(tokenizers, "qwen2", Masking("pkt", "train", pkt=True, w_max=2.0))
    assert max(enc["loss_weights"]) == 2.0


def test_text_markers_put_them_in_the_input_without_loss(tokenizers, trained_runs):
    enc = run(tokenizers, "qwen2", Masking("sel", "span", markers="text"))
    tok = tokenizers["qwen2"]
    assert "<SOE> " + ERROR + " <EOE>" in tok.decode(enc["input_ids"])
    assert not any("SOE" in r or "EOE" in r for r in trained_runs(tok, enc))


def test_truncation_cuts_after_the_last_complete_turn_and_says_so(
    tokenizers, masking, trained_runs
):
    full = run(tokenizers, "qwen2", masking("standard"))
    last_eot = max(p for p, lab in enumerate(full["labels"]) if lab != IGNORE_INDEX)
    cut = run(
        tokenizers, "qwen2", masking("standard"), max_length=last_eot
    )  # the last turn's end is cut
    assert cut["turns_dropped"] == 1 and len(cut["input_ids"]) < last_eot
    assert [squash(r) for r in trained_runs(tokenizers["qwen2"], cut)] == [
        squash(TURN1 + "<|im_end|>")
    ]
    with pytest.raises(EncodeError, match="no complete assistant turn fits in max_length=10"):
        run(tokenizers, "qwen2", masking("standard"), max_length=10)


def test_example_with_no_trainable_token_is_refused_loudly(tokenizers, masking):
    only_error = [
        MESSAGES[0],
        {"role": "assistant", "content": '{"task": "book_tabel", "arguments": []}'},
        {"role": "tool", "content": '{"error": "unknown API book_tabel"}'},
    ]
    with pytest.raises(EncodeError, match="example golden: no trainable token under masking 'mae'"):
        run(tokenizers, "qwen2", masking("mae"), messages=only_error)


def test_split_errors_reports_spans_in_the_clean_text():
    clean, spans = split_errors("a <SOE> bad one <EOE> fix <SOE> two <EOE>")
    assert clean == "a bad one fix two"
    assert [clean[s:e] for s, e in spans] == ["bad one", "two"]
