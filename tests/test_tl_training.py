"""TL-Training: PKT key tokens (both definitions), MAE's feedback rules (Table 14), IRM per error
category, and the RL stage on a tiny model."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from asktoact.constants import IGNORE_INDEX
from asktoact.eval.irm import CATEGORIES, irm_reward
from asktoact.eval.run import run_evaluation
from asktoact.schema import ParamSpec, ToolSpec
from asktoact.tools.feedback import error_category
from asktoact.train.encode import encode
from asktoact.train.keytokens import divergences, key_ranges
from asktoact.train.masking import Masking

TOOLS = ["book_table", "book_taxi", "get_weather"]
SOLUTION = '[{"task":"book_table","arguments":[{"name":"city","value":"Lisbon"},{"name":"people","value":4}]}]'
SUMMARY = "[SUMMARY] All values are known. Calls: " + SOLUTION


# -- PKT ----------------------------------------------------------------------------------------
def test_divergence_points_are_where_a_name_leaves_each_prefix_sharing_candidate():
    assert divergences("book_table", TOOLS) == [7]  # book_ta|ble vs book_ta|xi; get_… shares none
    assert divergences("get_weather", TOOLS) == []
    assert divergences("book_taxi", ["book_table", "book_taxi_now"]) == [7]  # a prefix of another


def test_tool_keys_are_the_first_character_and_each_divergence():
    start = SUMMARY.index("book_table")
    assert key_ranges(SUMMARY, TOOLS) == [(start, start + 1), (start + 7, start + 8)]


def test_tool_and_values_keys_are_one_divergence_and_every_value():
    start = SUMMARY.index("book_table")
    ranges = key_ranges(SUMMARY, TOOLS, "tool_and_values")
    texts = [SUMMARY[a:b] for a, b in ranges]
    assert ranges[0] == (start + 7, start + 8) and texts[1:] == ["Lisbon", "4"]


def pkt_encoding(tokenizers, keys: str):
    messages = [
        {"role": "user", "content": "Book a table for 4 in Lisbon."},
        {"role": "assistant", "content": SUMMARY},
    ]
    masking = Masking("pkt", "train", pkt=True, pkt_keys=keys)
    return encode(messages, tokenizers["qwen2"], masking, "<|im_end|>", TOOLS)


@pytest.mark.parametrize("keys", ["tool", "tool_and_values"])
def test_pkt_golden_weights_on_a_tokenised_dialogue(tokenizers, keys):
    tok = tokenizers["qwen2"]
    enc = pkt_encoding(tokenizers, keys)
    rendered = tok.apply_chat_template(
        [
            {"role": "user", "content": "Book a table for 4 in Lisbon."},
            {"role": "assistant", "content": SUMMARY},
        ],
        tokenize=False,
    )
    offsets = tok(rendered, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    turn = rendered.index(SUMMARY)
    chars = [turn + c for a, b in key_ranges(SUMMARY, TOOLS, keys) for c in range(a, b)]
    key = [p for p, (s, e) in enumerate(offsets) if any(s <= c < e for c in chars)]
    trained = [p for p, lab in enumerate(enc["labels"]) if lab != IGNORE_INDEX]
    weight = min(max((len(trained) - len(key)) / len(key), 1.0), 9.0)
    assert all(enc["loss_weights"][p] == pytest.approx(weight) for p in key)
    assert all(enc["loss_weights"][p] == 1.0 for p in trained if p not in key)
    decoded = tok.decode([enc["input_ids"][p] for p in key])
    assert key
    if keys == "tool":  # the tool's first token and where it leaves book_taxi: nothing else
        assert len(key) <= 2 and "Lisbon" not in decoded
    else:
        assert "Lisbon" in decoded and "4" in decoded


def test_the_paper_definition_weighs_its_key_tokens_more(tokenizers):
    tool = pkt_encoding(tokenizers, "tool")["loss_weights"]
    values = pkt_encoding(tokenizers, "tool_and_values")["loss_weights"]
    assert max(tool) > max(values) and sum(w > 1 for w in tool) < sum(w > 1 for w in values)


# -- MAE ----------------------------------------------------------------------------------------
# The feedback of TL-Training Table 14 (the strings a tool returned), by category.
TABLE_14 = [
    ('{"slip": {"id": 52, "advice": "Keep promises you can keep."}}', None),
    (
        "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: /x",
        "tool_instability",
    ),
    ("Invalid API call. Currency codes might be invalid.", "tool_instability"),
    ("400 Client Error: Bad Request for url: https://example.com/search", "tool_instability"),
    ('{"error": "Response error."}', "error_payload"),
    ("'<=' not supported between instances of 'str' and 'int'", "tool_call_failure"),
    ("Object of type bytes is not JSON serializable", "tool_call_failure"),
    ("name google_search if not defined", "tool_hallucination"),
    ("get_news_headlines() got an unexpected keyword argument 'sortBy'", "parameter_hallucination"),
    ("forecast() missing 1 required positional argument: aqi", "parameter_missing"),
    ('{"error": "Recently completed scan for www.example.com not found"}', "error_payload"),
]
NORMAL = [
    '{"result": "No errors found in the document."}',
    '{"title": "Error handling in Python", "error_rate": 0.02}',
    "Error handling in Python: a short guide to try and except.",
    "The report lists three errors that were fixed last week.",
    '{"status": "ok", "items": []}',
]


@pytest.mark.parametrize(("feedback", "category"), TABLE_14)
def test_mae_recognises_every_table_14_category(feedback, category):
    assert error_category(feedback) == category


@pytest.mark.parametrize("feedback", NORMAL)
def test_a_normal_result_that_mentions_errors_is_not_masked(feedback):
    assert error_category(feedback) is None


def test_mae_masks_the_failed_turn_and_keeps_a_correction_after_an_injected_error(
    tokenizers, masking
):
    tok = tokenizers["qwen2"]
    messages = [
        {"role": "user", "content": "Weather in Lisbon?"},
        {"role": "assistant", "content": "[SUMMARY] Calls: first attempt"},
        {"role": "tool", "content": "forecast() missing 1 required positional argument: aqi"},
        {"role": "assistant", "content": "[SUMMARY] Calls: second attempt"},
        {"role": "tool", "content": '{"result": "No errors found."}'},
        {
            "role": "assistant",
            "content": "<SOE> [QUESTION] Which city again? <EOE> Sorry, I know it. Done.",
        },
    ]
    enc = encode(messages, tok, masking("mae"), "<|im_end|>", [])
    trained = tok.decode(
        [i for i, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != IGNORE_INDEX]
    )
    assert "first attempt" not in trained and "second attempt" in trained
    assert "Which city again?" not in trained and "Sorry, I know it. Done." in trained


# -- IRM ----------------------------------------------------------------------------------------
CANDIDATES = [
    {"name": "get_weather", "parameters": {"city": {}, "days": {}, "units": {}}},
    ToolSpec("get_news", "", (ParamSpec("topic"),)),
]
GOLD = [
    {
        "task": "get_weather",
        "arguments": [{"name": "city", "value": "Lisbon"}, {"name": "days", "value": 3}],
    }
]


def summary(*calls) -> str:
    return "[SUMMARY] Calls: " + json.dumps(list(calls))


def call(task, **args):
    return {"task": task, "arguments": [{"name": k, "value": v} for k, v in args.items()]}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I am not sure.", "unparsable"),
        ("[SUMMARY] Calls: [{oops", "unparsable"),
        (summary(call("get_forecast", city="Lisbon", days=3)), "tool_hallucination"),
        (summary(call("get_news", topic="Lisbon")), "wrong_tool"),
        (summary(call("get_weather", town="Lisbon", units="C")), "hallucinated+redundant+missing"),
        (
            summary(call("get_weather", city="Lisbon", days=3, town="x", units="C")),
            "hallucinated+redundant|missing",
        ),
        (summary(call("get_weather", city="Lisbon", town="x")), "hallucinated+redundant|missing"),
        (summary(call("get_weather", city="Lisbon", units="C")), "redundant+missing"),
        (summary(call("get_weather", city="Lisbon", days=3, town="x")), "hallucinated"),
        (summary(call("get_weather", city="Lisbon")), "redundant|missing"),
        (summary(call("get_weather", city="Lisbon", days=3, units="C")), "redundant|missing"),
        (summary(call("get_weather", city="Porto", days=3)), "wrong_values"),
        (summary(call("get_weather", city="Lisbon", days=3.0)), "exact"),
    ],
)
def test_irm_scores_each_category_with_the_configured_reward(text, category, table):
    reward, got = irm_reward(text, GOLD, CANDIDATES, table)
    assert got == category and reward == table[category]


@pytest.fixture(scope="module")
def table(compose) -> dict[str, float]:
    """The reward table of conf/reward/default.yaml."""
    return dict(compose("evaluate").reward.irm)


def test_one_reward_table_for_the_rl_stage_and_every_evaluation(compose, build_dataset, tmp_path):
    """conf/reward/ is read by asktoact-rl and asktoact-evaluate alike: a changed reward trains and
    is reported the same."""
    changed = ("reward.irm.exact=2.5", "reward.irm.wrong_values=-0.5")
    rl = compose("rl", "sft.path=x", "data.path=y", *changed).reward.irm
    evaluate = compose("evaluate", *changed).reward.irm
    assert rl == evaluate and rl["exact"] == 2.5 and list(rl) == list(CATEGORIES)
    data = build_dataset("data.n=120")
    cfg = compose(
        "evaluate", f"data.path={data}", f"cache_dir={tmp_path}", "agent=oracle", *changed
    )
    assert run_evaluation(cfg, tmp_path / "run")["metrics"]["IRM"] == 2.5  # every call exact


def test_tables_show_the_irm_reward_as_it_is_and_rates_in_percent():
    from asktoact.report.tables import load_spec, rows_for

    run = {
        "labels": {"experiment_name": "tl_training", "masking_name": "mae", "irm": True},
        "metrics": {"N": 4, "IRM": -1.75, "TS": 0.25},
        "intervals": {"IRM": (-2.0, -1.5), "TS": (0.0, 0.5)},
    }
    (row,) = rows_for("tl_training", [run], load_spec("tl_training"))
    assert (row["IRM"], row["IRM low"], row["IRM high"]) == (-1.75, -2.0, -1.5)
    assert (row["TS"], row["TS high"]) == (25.0, 50.0)


def test_irm_pairs_several_calls_by_position_and_averages(table):
    gold = GOLD + [call("get_news", topic="rain")]
    both = summary(call("get_weather", city="Lisbon", days=3), call("get_news", topic="sun"))
    assert irm_reward(both, gold, CANDIDATES, table) == ((1.0 - 0.25) / 2, "wrong_values")
    one = summary(call("get_weather", city="Lisbon", days=3))  # the second call is missing
    assert irm_reward(one, gold, CANDIDATES, table) == ((1.0 - 1.5) / 2, "wrong_tool")
    custom = irm_reward(one, gold, CANDIDATES, rewards={**table, "wrong_tool": -3.0})
    assert custom == ((1.0 - 3.0) / 2, "wrong_tool")


# -- the RL stage ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_rl_on_a_tiny_model_scores_rollouts_with_irm_and_moves_the_policy(
    tmp_path, compose, build_dataset
):
    """SFT a tiny model until some of its summaries parse, then GRPO with IRM: every step's
    rollouts are scored, the policy leaves the SFT model (KL > 0, other weights), and the
    result is saved as asktoact-train saves models. Whether the reward rises is not asserted:
    on a 1.4 M random-init model it does not, beyond noise (seeded runs at learning rates
    5e-4 to 1e-2, LoRA and full: README, TL-Training)."""
    from safetensors.torch import load_file

    from asktoact.rl.run import run_rl
    from asktoact.train.run import run_training

    data = build_dataset("data.n=120", "data.max_calls=1", "augmentation.ratio=0.0")
    sft = run_training(
        compose(
            "train",
            f"data.path={data}",
            f"cache_dir={tmp_path}",
            "logger=none",
            "adapter=full",
            "adapter.lr=3e-3",
            "trainer.max_epochs=8",
            "data.micro_batch_size=8",
            "optim.effective_batch_size=8",
            "data.val_split=null",
        ),
        tmp_path / "sft",
    )
    cfg = compose(
        "rl",
        f"sft.path={sft['outputs']['merged']}",
        f"data.path={data}",
        f"cache_dir={tmp_path}",
        "rl.lr=5e-4",
        "rl.max_steps=3",
        "rl.batch_size=8",
        "rl.num_generations=4",
        "rl.max_completion_length=64",
        "rl.save_steps=3",
        "data.limit=12",
        # A summary that parses but names no candidate tool scores above one that does not parse
        # (both -2 by default): rollouts of a barely trained model then differ in reward, and
        # GRPO has advantages to learn from. It also shows the RL stage reads conf/reward's table.
        "reward.irm.unparsable=-3.0",
    )
    summary = run_rl(cfg, tmp_path / "rl")
    log = [row for row in csv.DictReader((tmp_path / "rl" / "rl_log.csv").open())]
    rewards = [float(r["reward"]) for r in log]
    assert len(rewards) == 3 and summary["global_step"] == 3
    assert all(-3.0 <= r <= 1.0 for r in rewards) and sum(summary["categories"].values()) == 24
    assert max(float(r["kl"]) for r in log) > 0
    before = load_file(tmp_path / "sft" / "merged" / "model.safetensors")
    after = load_file(tmp_path / "rl" / "merged" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    assert "irm/exact" in log[0] and "kl" in log[0]
    # A LoRA adapter (conf/rl/grpo.yaml) and the merged model, as asktoact-train saves them.
    assert (tmp_path / "rl" / "adapter" / "adapter_config.json").exists()
    assert (tmp_path / "rl" / "merged" / "config.json").exists()


def test_rl_checkpoints_resume_only_under_the_settings_that_made_them(
    compose, build_dataset, tmp_path
):
    """The RL stage keeps the settings its checkpoints were made with: the same settings (or
    more steps, marked resumable) continue them, any other setting stops the run naming it,
    and resume=false starts over without the old checkpoints."""
    from asktoact.errors import ConfigError
    from asktoact.rl.run import _resumable

    (tmp_path / "sft").mkdir()
    base = (f"sft.path={tmp_path / 'sft'}", f"data.path={build_dataset()}")
    run = tmp_path / "run"
    assert not _resumable(compose("rl", *base), run)  # nothing yet: the record is written
    (run / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    assert _resumable(compose("rl", *base), run)
    assert _resumable(compose("rl", *base, "rl.max_steps=99", "report_to=wandb"), run)
    with pytest.raises(ConfigError, match="changed: rl.lr"):
        _resumable(compose("rl", *base, "rl.lr=0.5"), run)
    assert not _resumable(compose("rl", *base, "rl.lr=0.5", "resume=false"), run)
    assert not (run / "checkpoints").exists()
