"""TL-Training on tool-feedback trajectories: the tool environment (every error category), the
trajectory source (determinism, error shares), the authors'-format loader, MAE and PKT on real
feedback, the next-call evaluation and the RL stage's prompts and reward on trajectories."""

from __future__ import annotations

import json

import pytest

from asktoact.constants import IGNORE_INDEX
from asktoact.schema import ParamSpec, ToolSpec
from asktoact.tools.calls import format_call, function_spec, parse_call, tool_from_spec
from asktoact.tools.env import CATEGORIES, ToolEnvironment
from asktoact.tools.feedback import error_category

TABLE = ToolSpec(
    "book_table",
    "Reserve a table.",
    (
        ParamSpec("restaurant", "string"),
        ParamSpec("people", "integer"),
        ParamSpec("note", required=False),
    ),
)
TAXI = ToolSpec("book_taxi", "Order a taxi.", (ParamSpec("pickup", "string"),))


@pytest.fixture
def env():
    return ToolEnvironment([TABLE, TAXI], seed=0)


@pytest.mark.parametrize(
    ("name", "args", "category", "says"),
    [
        (
            "book_tables",
            {"restaurant": "Nopa", "people": 4},
            "tool_hallucination",
            "name 'book_tables' is not defined",
        ),
        (
            "book_table",
            {"restaurant": "Nopa", "people": 4, "vip": True},
            "parameter_hallucination",
            "unexpected keyword argument 'vip'",
        ),
        (
            "book_table",
            {"restaurant": "Nopa"},
            "parameter_missing",
            "missing 1 required positional argument: 'people'",
        ),
        (
            "book_table",
            {"restaurant": "Nopa", "people": "4"},
            "tool_call_failure",
            "'people' expects integer, got str",
        ),
        (
            "book_table",
            {"restaurant": "Nopa", "people": True},
            "tool_call_failure",
            "expects integer, got bool",
        ),
    ],
)
def test_each_schema_error_gets_its_category_and_the_feedback_mae_recognises(
    env, name, args, category, says
):
    result = env.execute(name, args)
    assert not result.ok and result.category == category and says in result.content
    assert error_category(result.content) == category  # MAE finds it from the text alone


def test_a_well_formed_call_succeeds_deterministically(env):
    a = env.execute("book_table", {"restaurant": "Nopa", "people": 4}, key="x")
    b = env.execute("book_table", {"restaurant": "Nopa", "people": 4}, key="x")
    assert a.ok and a == b and error_category(a.content) is None
    assert json.loads(a.content)["status"] == "ok"
    other = ToolEnvironment([TABLE], seed=1).execute(
        "book_table", {"restaurant": "Nopa", "people": 4}
    )
    assert json.loads(other.content)["reference"] != json.loads(a.content)["reference"]


def test_transient_failures_are_seeded_and_recognised():
    flaky = ToolEnvironment([TAXI], seed=3, transient_rate=0.5)
    results = [flaky.execute("book_taxi", {"pickup": "here"}, key=str(k)) for k in range(200)]
    failed = [r for r in results if not r.ok]
    assert 70 <= len(failed) <= 130  # about half
    assert {r.category for r in failed} == {"tool_instability"}
    assert all(error_category(r.content) == "tool_instability" for r in failed)
    again = [flaky.execute("book_taxi", {"pickup": "here"}, key=str(k)) for k in range(200)]
    assert again == results
    assert set(CATEGORIES) == {
        "tool_hallucination",
        "parameter_hallucination",
        "parameter_missing",
        "tool_call_failure",
        "tool_instability",
    }


def test_call_turns_and_function_specs_round_trip():
    text = format_call("book_table", {"restaurant": "Nopa", "people": 4})
    assert text == 'book_table\n{"restaurant": "Nopa", "people": 4}'
    assert parse_call(text) == ("book_table", {"restaurant": "Nopa", "people": 4})
    assert parse_call("I will book it.") is None and parse_call("book_table\n[1]") is None
    back = tool_from_spec(function_spec(TABLE))
    assert back == TABLE
    assert function_spec(TABLE)["function"]["parameters"]["required"] == ["restaurant", "people"]


def build(compose, out, *overrides):
    from asktoact.data.build import build as run_build

    cfg = compose("generate", "data=trajectories", f"cache_dir={out / 'cache'}", *overrides)
    return run_build(cfg, out)


def test_trajectories_rebuild_byte_for_byte_with_their_error_shares(compose, tmp_path):
    manifest = build(compose, tmp_path / "a", "data.n=300", "data.error_rate=0.3")
    build(compose, tmp_path / "b", "data.n=300", "data.error_rate=0.3")
    for name in ("train.jsonl", "test.jsonl", "manifest.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    rows = [
        json.loads(x)
        for s in ("train", "test")
        for x in (tmp_path / "a" / f"{s}.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 300 == manifest["counts"]["train"] + manifest["counts"]["test"]
    assert not {r["id"] for r in rows[: manifest["counts"]["train"]]} & {
        r["id"] for r in rows[manifest["counts"]["train"] :]
    }
    errors = [e for r in rows for e in json.loads(r["errors"])]
    wrong = [e for e in errors if e["kind"] != "transient"]
    calls = sum(r["n_calls"] for r in rows)
    assert 0.24 <= len(wrong) / calls <= 0.36  # each gold call made wrongly first with p 0.3
    assert {e["kind"] for e in wrong} == {
        "similar_tool",
        "hallucinated_parameter",
        "missing_parameter",
        "wrong_value",
    }
    kinds = sum(
        (manifest["splits"][s]["by_kind"].get("transient", 0) for s in ("train", "test")), 0
    )
    assert kinds == len(errors) - len(wrong)
    for row in rows:  # every recorded error turn is a call answered by an error the text shows
        for e in json.loads(row["errors"]):
            call, feedback = row["messages"][e["turn"]], row["messages"][e["turn"] + 1]
            assert call["role"] == "assistant" and parse_call(call["content"]) is not None
            assert (
                feedback["role"] == "function"
                and error_category(feedback["content"]) == e["category"]
            )
    clean = build(
        compose, tmp_path / "c", "data.n=100", "data.error_rate=0.0", "data.transient_rate=0.0"
    )
    assert all(clean["splits"][s]["error_turns"] == 0 for s in ("train", "test"))


def test_the_authors_format_loads_with_rejects_naming_the_field(fixtures_dir):
    from asktoact.data.sources import tl_format
    from asktoact.data.sources.base import Rejects

    rejects = Rejects()
    rows = tl_format.load(str(fixtures_dir / "tl_format_sample.jsonl"), rejects=rejects)
    assert [r["id"] for r in rows] == ["tl-1", "tl-2", "tl-3"]
    assert json.loads(rows[0]["calls"]) == [
        {"name": "book_table", "arguments": {"restaurant": "Nopa", "people": 4}}
    ]
    assert json.loads(rows[0]["errors"]) == [
        {"turn": 2, "kind": "from_feedback", "category": "tool_hallucination"}
    ]
    assert [e["category"] for e in json.loads(rows[2]["errors"])] == ["parameter_missing"]
    assert rows[2]["n_calls"] == 2 and rows[0]["messages"][3]["role"] == "function"
    fields = {r["row"]: r["field"] for r in rejects.rows}
    assert fields == {
        2: "conversations[0]",
        3: "line",
        5: "conversations[2].content",
        6: "conversations[1].role",
    }


def test_a_user_trains_on_the_authors_format_unchanged(compose, tmp_path, fixtures_dir):
    from asktoact.train.run import run_training

    data = tmp_path / "data"
    path = fixtures_dir / "tl_format_sample.jsonl"
    manifest = build(compose, data, "data=tl_format", f"data.path={path}", "test_size=0.0")
    assert manifest["counts"] == {
        "loaded": 7,
        "rejected": 4,
        "train": 3,
        "test": 0,
        "splits_unused": 0,
    }
    assert len((data / "rejects.jsonl").read_text().splitlines()) == 4
    cfg = compose(
        "train",
        f"data.path={data}",
        "+debug=fast",
        "masking=mae_pkt",
        "data.val_split=null",
        f"cache_dir={tmp_path / 'c'}",
    )
    summary = run_training(cfg, tmp_path / "run")
    assert summary["encoding"]["train_examples"] == 3 and summary["global_step"] > 0


def trained_text(tok, enc) -> str:
    return tok.decode(
        [i for i, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != IGNORE_INDEX]
    )


def test_mae_masks_the_call_its_feedback_reports_and_trains_its_correction(
    tokenizers, masking, fixtures_dir
):
    from asktoact.data.sources import tl_format
    from asktoact.train.encode import encode, tool_names_of

    row = tl_format.load(str(fixtures_dir / "tl_format_sample.jsonl"))[0]
    from asktoact.train.families import family

    tok, eot = tokenizers["qwen2"], family("qwen2").eot
    wrong, right = row["messages"][2]["content"], row["messages"][4]["content"]
    standard = trained_text(tok, encode(row["messages"], tok, masking("standard"), eot))
    mae = trained_text(tok, encode(row["messages"], tok, masking("mae"), eot))
    assert wrong in standard and right in standard
    assert wrong not in mae and right in mae and "Booked: a table for 4" in mae
    # PKT: the key tokens of a call turn are where the tool's name is chosen
    enc = encode(row["messages"], tok, masking("pkt"), eot, tool_names_of(row["tools"]))
    heavy = [
        tok.decode([i]) for i, w in zip(enc["input_ids"], enc["loss_weights"], strict=True) if w > 1
    ]
    assert heavy and all(piece.strip() and piece.strip() in "book_tables" for piece in heavy)


def test_next_call_scores_are_hand_computed(compose):
    from asktoact.eval.tooluse import ToolUseTask, score, shares_prefix

    rewards = dict(compose("evaluate").reward.irm)
    case = {
        "id": "x:2",
        "gold": {"name": "book_table", "arguments": {"restaurant": "Nopa", "people": 4}},
        "tools": [TABLE.to_dict(), TAXI.to_dict()],
    }
    want = {
        'book_table\n{"restaurant": "Nopa", "people": 4}': (1, 1, 1, 1, "exact"),
        'book_table\n{"restaurant": "Nopa", "people": 5}': (1, 1, 0, 1, "wrong_values"),
        'book_table\n{"restaurant": "Nopa"}': (1, 0, 0, 0, "redundant|missing"),
        'book_tables\n{"restaurant": "Nopa", "people": 4}': (0, 0, 0, 0, "tool_hallucination"),
        'book_taxi\n{"pickup": "Nopa"}': (0, 0, 0, 1, "wrong_tool"),
        "I booked it for you.": (0, 0, 0, 0, "unparsable"),
    }
    for text, (ts, pi, cf, ex, category) in want.items():
        s = score(case, text, rewards)
        assert (s["TS"], s["PI"], s["CF"], s["EXEC"], s["irm_category"]) == (
            ts,
            pi,
            cf,
            ex,
            category,
        ), text
        assert s["IRM"] == rewards[category]
    # format apart from choice: two wrong picks among five parsable calls; book_taxi and the
    # hallucinated book_tables both start with the gold tool's first word "book"
    scored = [score(case, text, rewards) for text in want]
    assert [s["prefix"] for s in scored] == [0, 0, 0, 1, 1, 0]
    m = ToolUseTask().aggregate(scored)
    assert m["PARSE"] == pytest.approx(5 / 6)
    assert m["WT"] == pytest.approx(2 / 5) and m["PFX"] == 1.0
    other = {**case, "gold": {"name": "order_taxi", "arguments": {}}}
    assert score(other, 'book_taxi\n{"pickup": "Nopa"}', rewards)["prefix"] == 0.0
    assert shares_prefix("getWeather", "get_weather_forecast")
    assert not shares_prefix("weather", "get_weather")


def test_the_oracle_scores_every_next_call_and_rl_prompts_each_gold_call(compose, tmp_path):
    from asktoact.eval.run import run_evaluation
    from asktoact.eval.tooluse import cases
    from asktoact.rl.run import IRM, rl_prompts

    build(compose, tmp_path / "d", "data.n=120", "test_size=0.25")
    cfg = compose("evaluate", "agent=oracle", f"data.path={tmp_path / 'd'}")
    result = run_evaluation(cfg, tmp_path / "eval")
    assert result["task"] == "trajectories" and result["metrics"]["N"] > 30
    assert all(result["metrics"][m] == 1.0 for m in ("TS", "PI", "CF", "EXEC", "IRM"))
    assert result["intervals"]["CF"] == [1.0, 1.0]
    train = [json.loads(x) for x in (tmp_path / "d/train.jsonl").read_text().splitlines()]
    prompts = rl_prompts(tmp_path / "d", system_role=True, limit=None)
    assert len(prompts) == len(cases(train)) == sum(r["n_calls"] for r in train)
    first = prompts[0]
    assert first["prompt"][0]["role"] == "system" and first["kind"] == "call"
    gold = json.loads(first["gold"])
    reward = IRM(dict(compose("rl", "sft.path=x", "data.path=y").reward.irm))
    good, bad = format_call(gold["name"], gold["arguments"]), "no call"
    out = reward(
        [first["prompt"]] * 2, [good, bad], [first["gold"]] * 2, [first["tools"]] * 2, ["call"] * 2
    )
    assert out == [reward.rewards["exact"], reward.rewards["unparsable"]]


def test_tool_use_rows_make_the_tl_training_table_with_paired_differences(compose, tmp_path):
    from asktoact.eval.run import run_evaluation
    from asktoact.report import build_reports

    build(compose, tmp_path / "d", "data.n=80", "test_size=0.25")
    runs = tmp_path / "multirun"
    for masking, agent in (("standard", "oracle"), ("mae", "never_ask")):
        cfg = compose("evaluate", "agent=oracle", f"data.path={tmp_path / 'd'}")
        result = run_evaluation(cfg, tmp_path / masking)
        if agent == "never_ask":  # a row whose every next call is wrong: differences of -100
            for o in result["outcomes"]:
                o.update(TS=0.0, PI=0.0, CF=0.0, EXEC=0.0, IRM=-2.0)
        labels = {"experiment_name": "tl_training", "masking_name": masking, "irm": False}
        labels["adapter_name"] = "lora"  # a trained row: the Figure 3 plot must pass it by
        (runs / masking).mkdir(parents=True)
        (runs / masking / "metrics.json").write_text(json.dumps({**result, "labels": labels}))
    build_reports(runs, tmp_path / "reports")
    table = (tmp_path / "reports/tl_training.md").read_text()
    assert r"| standard\|False | Standard SFT (w/ None)" in table  # the key's "|" escaped
    assert r"| mae\|False − standard\|False |" in table and "-100.0 [-100.0, -100.0] *" in table
    # the oracle's calls all parse and pick the gold tool; the doctored row keeps those flags
    assert "## Format and behaviour" in table and "| row | N | PARSE | WT | PFX |" in table
    assert r"| standard\|False | " in table.split("## Format and behaviour")[1]


def test_any_agent_that_writes_turns_scores_next_calls_and_a_dialogue_policy_is_refused(
    compose, tmp_path
):
    """The next-call task asks the agent for a turn, not for its name: an API agent (here
    litellm's mock reply, the first case's gold call) is scored like a local model, and a
    dialogue policy with no next call to write stops the run naming the agent."""
    from asktoact.errors import ConfigError
    from asktoact.eval.run import run_evaluation
    from asktoact.eval.tooluse import cases

    build(compose, tmp_path / "d", "data.n=40", "test_size=0.25")
    test = [json.loads(x) for x in (tmp_path / "d/test.jsonl").read_text().splitlines()]
    first = cases(test)[0]
    cfg = compose("evaluate", "agent=litellm", f"data.path={tmp_path / 'd'}")
    cfg.agent.client.mock_response = format_call(first["gold"]["name"], first["gold"]["arguments"])
    cfg.agent.client.cache_path = str(tmp_path / "llm.sqlite")
    result = run_evaluation(cfg, tmp_path / "api")
    scored = {o["id"]: o for o in result["outcomes"]}
    assert result["agent"] == "litellm" and len(scored) == len(cases(test))
    assert scored[first["id"]]["CF"] == 1.0 and scored[first["id"]]["IRM"] == 1.0
    assert 0 < result["metrics"]["CF"] < 1.0  # the other cases want other calls
    policy = compose("evaluate", "agent=never_ask", f"data.path={tmp_path / 'd'}")
    with pytest.raises(ConfigError, match="agent=never_ask: plays dialogues only"):
        run_evaluation(policy, tmp_path / "policy")


@pytest.mark.slow
def test_constrained_decoding_writes_only_valid_calls_of_each_cases_tools(compose, tmp_path):
    """A random-init model writes no call of its own; decoded under the call grammar every next
    call parses, names a tool of its case and passes that tool's schema (EXEC 100 %)."""
    from asktoact.errors import ConfigError
    from asktoact.eval.run import run_evaluation
    from asktoact.eval.tooluse import cases
    from asktoact.train.models import load_model, load_tokenizer

    build(compose, tmp_path / "d", "data.n=40", "test_size=0.25")
    tcfg = compose("train", "model=tiny-qwen2", f"cache_dir={tmp_path / 'cache'}")
    tok = load_tokenizer(tcfg.model, tcfg.cache_dir)
    load_model(tcfg.model, tok, 0).save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    common = ("agent=local", f"agent.path={tmp_path / 'm'}", f"data.path={tmp_path / 'd'}")
    common += ("data.limit=2", "agent.max_new_tokens=400", "agent.reuse_cache=false")
    free = run_evaluation(compose("evaluate", *common), tmp_path / "free")
    forced = run_evaluation(compose("evaluate", *common, "constrained=true"), tmp_path / "forced")
    assert not free["constrained"] and free["metrics"]["PARSE"] == 0.0
    assert forced["constrained"] and forced["metrics"]["N"] == free["metrics"]["N"] > 0
    assert forced["metrics"]["PARSE"] == 1.0 and forced["metrics"]["EXEC"] == 1.0
    test = [json.loads(x) for x in (tmp_path / "d/test.jsonl").read_text().splitlines()]
    tools = {c["id"]: {t["name"]: t for t in c["tools"]} for c in cases(test)}
    for line in (tmp_path / "forced/predictions.jsonl").read_text().splitlines():
        p = json.loads(line)
        name, args = parse_call(p["prediction"])  # a call of one of the case's tools ...
        assert set(args) <= set(tools[p["id"]][name]["parameters"])  # ... and its parameters
    with pytest.raises(ConfigError, match="agent=oracle cannot decode under a grammar"):
        run_evaluation(
            compose("evaluate", "agent=oracle", *common[2:3], "constrained=true"), tmp_path / "o"
        )
