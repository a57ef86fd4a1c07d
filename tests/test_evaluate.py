"""Interactive evaluation end to end: reference policies, simulator judgements, agents, resume."""

from __future__ import annotations

import json
import random

import pytest
from hydra.utils import instantiate

from asktoact.data.clarify import groups
from asktoact.eval.personas import PERSONAS
from asktoact.eval.run import run_evaluation
from asktoact.schema import TransformationRecord


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=400")


@pytest.fixture(scope="module")
def simulator(compose):
    return instantiate(compose("evaluate", "seed=0").simulator)


@pytest.fixture
def eval_cfg(compose):
    """``eval_cfg(tmp_path, dataset, *overrides, name=...)``: an evaluate (or chat) config."""

    def make(tmp_path, dataset, *overrides, name="evaluate"):
        base = [f"data.path={dataset}", f"cache_dir={tmp_path / 'cache'}"]
        return compose(name, *base, *overrides)

    return make


def test_oracle_scores_full_marks_and_ir_equals_mean_intents(tmp_path, dataset, eval_cfg):
    # A persona that always answers: every question is one clarified intent (see test_protocol
    # for the personas that sometimes withhold).
    cfg = eval_cfg(tmp_path, dataset, "agent=oracle", "simulator.persona=cold_fish")
    result = run_evaluation(cfg, tmp_path / "run")
    m = result["metrics"]
    for key in ("ICR", "CE", "CPS", "SCR", "TSS", "PRS"):
        assert m[key] == pytest.approx(1.0), key
    records = [
        json.loads(t)["outcome"]
        for t in (tmp_path / "run/transcripts.jsonl").read_text().splitlines()
    ]
    assert m["IR"] == pytest.approx(sum(r["intents"] for r in records) / len(records))
    assert m["IR"] > 0.8 and all(
        m[f"err_{k}"] == 0 for k in ("clearly_stated", "irrelevant", "redundant", "incomplete")
    )
    assert (tmp_path / "run/breakdown.csv").read_text().startswith("dimension,value,N,ICR")


def test_never_ask_clarifies_nothing_and_ask_all_is_inefficient(tmp_path, dataset, eval_cfg):
    never = run_evaluation(eval_cfg(tmp_path, dataset, "agent=never_ask"), tmp_path / "never")[
        "metrics"
    ]
    assert (
        never["ICR"] == 0.0
        and never["IR"] == 0.0
        and never["PRS"] < 1.0
        and never["err_incomplete"] > 0.3
    )
    ask_all = run_evaluation(eval_cfg(tmp_path, dataset, "agent=ask_all"), tmp_path / "all")[
        "metrics"
    ]
    assert (
        ask_all["CE"] < 0.6 and ask_all["IR"] > never["IR"] and ask_all["err_clearly_stated"] > 0.3
    )


def test_evaluation_resumes_from_its_transcripts(tmp_path, dataset, eval_cfg):
    run_evaluation(eval_cfg(tmp_path, dataset, "agent=oracle", "data.limit=5"), tmp_path / "run")
    first = (tmp_path / "run/transcripts.jsonl").read_text().splitlines()
    result = run_evaluation(
        eval_cfg(tmp_path, dataset, "agent=oracle", "data.limit=12"), tmp_path / "run"
    )
    lines = (tmp_path / "run/transcripts.jsonl").read_text().splitlines()
    assert lines[:5] == first and len(lines) == 12 == result["metrics"]["N"]
    fresh = run_evaluation(
        eval_cfg(tmp_path, dataset, "agent=oracle", "data.limit=3", "resume=false"),
        tmp_path / "run",
    )
    assert fresh["metrics"]["N"] == 3


def record_with(simulator, dataset):
    """A test dialogue with at least one missing value and one stated value, and its user."""
    from asktoact.schema import ToolSpec

    rows = [json.loads(line) for line in (dataset / "test.jsonl").read_text().splitlines()]
    row = next(r for r in rows if 1 <= r["n_removed"] < r["n_params"])
    rec = TransformationRecord.from_dict(json.loads(row["record"]))
    return rec, simulator.start(rec, [ToolSpec.from_dict(t) for t in json.loads(row["tools"])])


def test_rules_simulator_judges_each_kind_of_question(dataset, simulator):
    rec, ctx = record_with(simulator, dataset)
    group = groups(rec)[0]
    (i, name, arg) = group[0]
    good = simulator.reply_batch([(ctx, arg.question)])[0]
    assert (
        good.new_intent
        and good.category is None
        and (arg.original_value or str(arg.value)) in good.reply
    )
    again = simulator.reply_batch([(ctx, arg.question)])[0]
    assert again.category == "redundant" and not again.new_intent
    si, sname, sarg = next(p for p in rec.params() if not p[2].removed)
    stated = simulator.reply_batch(
        [(ctx, f"What is the {sname.replace('_', ' ')} for {rec.key_info[si].name}?")]
    )[0]
    assert stated.category == "clearly_stated" and stated.target.startswith("S")
    off = simulator.reply_batch([(ctx, "Do you prefer dark mode or light mode?")])[0]
    assert off.category == "irrelevant" and off.target is None
    assert len(ctx.clarified) == 1


def test_personas_word_answers_with_the_value():
    rng = random.Random(0)
    assert len(PERSONAS) == 6
    for p in PERSONAS.values():
        assert all("{value}" in t for t in p.answer + p.repeat)
        assert "Lisbon" in rng.choice(p.answer).format(value="Lisbon")


def test_litellm_agent_and_simulator_through_mocks(tmp_path, dataset, eval_cfg):
    solution = '[SUMMARY] [{"task": "x", "arguments": []}]'
    m = run_evaluation(
        eval_cfg(
            tmp_path,
            dataset,
            "agent=litellm",
            f"agent.client.mock_response='{solution}'",
            "data.limit=6",
        ),
        tmp_path / "a",
    )["metrics"]
    assert m["SCR"] == 1.0 and m["IR"] == 0.0 and m["TSS"] == 0.0
    # The LLM simulator makes two calls a round: the persona's reply and, separately, the
    # judgement of what the question asked for. An invalid judgement falls back to the rules
    # judgement (counted); the reply ("not json", a valid text) is kept and reveals no value.
    # Every judgement falls back here on purpose, so the share check is lifted.
    sim = ("agent=oracle", "simulator=litellm", "data.limit=4", "max_rounds=2")
    sim += ("max_fallback_share=1.0",)
    result = run_evaluation(
        eval_cfg(tmp_path, dataset, *sim, "simulator.client.mock_response='not json'"),
        tmp_path / "s",
    )
    rounds = result["metrics"]["IR"] * 4
    assert result["simulator_fallbacks"] == rounds > 0
    usage = result["llm_usage_simulator"]  # identical requests are answered from the cache
    assert usage["calls"] + usage["cache_hits"] >= 2 * rounds and usage["repairs"] > 0
    assert result["metrics"]["ICR"] == 0.0
    valid = '{"target": "none", "kind": "irrelevant"}'
    result = run_evaluation(
        eval_cfg(tmp_path, dataset, *sim, f"simulator.client.mock_response='{valid}'"),
        tmp_path / "v",
    )
    assert result["simulator_fallbacks"] == 0 and result["metrics"]["ICR"] == 0.0
    assert result["metrics"]["err_irrelevant"] == 1.0


def test_chat_records_a_scripted_session(tmp_path, dataset, eval_cfg):
    from asktoact.eval.chat import chat

    row = [json.loads(x) for x in (dataset / "test.jsonl").read_text().splitlines()][2]
    rec = TransformationRecord.from_dict(json.loads(row["record"]))
    values = [g[0][2].original_value for g in groups(rec)]
    # The person answers each question, then: an invalid completion answer (asked again), "y",
    # an out-of-range score (asked again), 4.
    answers = iter([*values, "maybe", "y", "9", "4"])
    shown = []
    result = chat(
        eval_cfg(tmp_path, dataset, "agent=oracle", "index=2", name="chat"),
        tmp_path,
        ask=lambda _: next(answers),
        say=shown.append,
    )
    assert result["valid"] and result["prs"] == 1.0
    assert result["completed"] is True and result["satisfaction"] == 4
    assert result["rounds"] == len(values) == result["intents"] == result["clarified"]
    assert any("Values you know" in s for s in shown)
    assert sum("Please answer one of" in s for s in shown) == 2
    assert json.loads((tmp_path / "chat_transcripts.jsonl").read_text())["id"] == result["id"]


@pytest.mark.parametrize("answered", ["none", "one", "all"])
def test_chat_ends_cleanly_when_input_closes_and_keeps_what_was_played(
    tmp_path, dataset, eval_cfg, answered
):
    """Input closes at the first question, after the first answer, or after every answer (at the
    rating): the session is saved as played, unrated."""
    from asktoact.eval.chat import chat

    row = [json.loads(x) for x in (dataset / "test.jsonl").read_text().splitlines()][2]
    values = [g[0][2].original_value for g in groups(json_record(row))]
    assert len(values) >= 2  # so that "one" stops in the middle of the clarification
    values = {"none": [], "one": values[:1], "all": values}[answered]
    answers = iter(values)

    def ask(_prompt: str) -> str:
        value = next(answers, None)
        if value is None:
            raise EOFError  # what input() raises on a closed or exhausted stdin
        return value

    shown = []
    cfg = eval_cfg(tmp_path, dataset, "agent=oracle", "index=2", name="chat")
    result = chat(cfg, tmp_path, ask=ask, say=shown.append)
    saved = json.loads((tmp_path / "chat_transcripts.jsonl").read_text())
    assert saved == result and result["ended"] == "input closed"
    assert result["completed"] is None and result["satisfaction"] is None
    assert result["rounds"] == result["clarified"] == len(values)
    assert result["valid"] is (answered == "all")  # the summary comes after the last answer
    assert [m["content"] for m in result["messages"] if m["role"] == "user"][1:] == values
    assert any("input closed" in s for s in shown)


def json_record(row: dict) -> TransformationRecord:
    return TransformationRecord.from_dict(json.loads(row["record"]))


@pytest.fixture
def train_tiny(compose):
    """``train_tiny(tmp_path, dataset, *extra)``: a few LoRA steps of the default tiny model on
    the test dataset: (config, summary)."""
    from asktoact.train.run import run_training

    def train(tmp_path, dataset, *extra):
        overrides = [
            f"data.path={dataset}",
            f"cache_dir={tmp_path / 'cache'}",
            "logger=none",
            "+debug=fast",
            "adapter=lora",
            *extra,
        ]
        tcfg = compose("train", *overrides)
        return tcfg, run_training(tcfg, tmp_path / "train")

    return train


@pytest.mark.slow
def test_a_tiny_model_trained_here_evaluates_end_to_end(tmp_path, dataset, eval_cfg, train_tiny):
    trained = train_tiny(tmp_path, dataset)[1]
    cfg = eval_cfg(
        tmp_path,
        dataset,
        "agent=local",
        f"agent.path={trained['outputs']['merged']}",
        "agent.max_new_tokens=24",
        "agent.batch_size=4",
        "data.limit=6",
        "max_rounds=2",
    )
    result = run_evaluation(cfg, tmp_path / "eval")
    transcripts = [
        json.loads(x) for x in (tmp_path / "eval/transcripts.jsonl").read_text().splitlines()
    ]
    assert len(transcripts) == 6 == result["metrics"]["N"]
    # An untrained-for-long model rarely finishes: every episode still ends, scored, within budget.
    assert all(
        len([m for m in t["messages"] if m["role"] == "assistant"]) <= 3 for t in transcripts
    )
    # Each episode's score follows from what it recorded: valid iff a solution was parsed.
    assert all(t["outcome"]["valid"] == bool(t["solution"]) for t in transcripts)
    assert result["metrics"]["SCR"] == sum(bool(t["solution"]) for t in transcripts) / 6


def test_llm_judge_reclassifies_untargeted_questions(tmp_path, dataset, eval_cfg):
    never_targets = "[QUESTION] Would you like the results as a table?"
    common = (
        "agent=litellm",
        f"agent.client.mock_response='{never_targets}'",
        "data.limit=3",
        "max_rounds=2",
    )
    rules = run_evaluation(eval_cfg(tmp_path, dataset, *common), tmp_path / "r")["metrics"]
    assert rules["err_irrelevant"] == 1.0  # the similarity rule calls it irrelevant
    judged = run_evaluation(
        eval_cfg(
            tmp_path,
            dataset,
            *common,
            "judge=litellm",
            'judge.client.mock_response=\'{"category": "imprecise"}\'',
        ),
        tmp_path / "j",
    )
    assert judged["metrics"]["err_imprecise"] == 1.0 and judged["metrics"]["err_irrelevant"] == 0.0
    assert judged["judge_failures"] == 0 and judged["llm_usage_judge"]["calls"] == 6


@pytest.mark.slow  # W&B starts its service process
def test_wandb_logs_metrics_and_transcripts_offline(tmp_path, dataset, monkeypatch, eval_cfg):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = eval_cfg(tmp_path, dataset, "agent=oracle", "data.limit=3", "logger=wandb")
    run_evaluation(cfg, tmp_path / "w")
    (record,) = (tmp_path / "w" / "wandb").glob("offline-run-*/*.wandb")
    data = record.read_bytes()
    assert b"eval/ICR" in data and b"eval/transcripts" in data


@pytest.mark.slow
def test_local_agent_runs_a_base_model_with_a_peft_adapter(tmp_path, dataset, eval_cfg, train_tiny):
    from asktoact.train.models import load_model, load_tokenizer

    tcfg, trained = train_tiny(tmp_path, dataset, "trainer.max_steps=2")
    tok = load_tokenizer(tcfg.model, tcfg.cache_dir)
    load_model(tcfg.model, tok, tcfg.seed).save_pretrained(
        tmp_path / "base"
    )  # the same initial weights
    tok.save_pretrained(tmp_path / "base")
    cfg = eval_cfg(
        tmp_path,
        dataset,
        "agent=local",
        f"agent.path={tmp_path / 'base'}",
        f"agent.adapter={trained['outputs']['adapter']}",
        "agent.max_new_tokens=8",
        "data.limit=2",
        "max_rounds=1",
    )
    agent = instantiate(cfg.agent)
    assert type(agent.model).__name__.startswith("Peft")
    assert run_evaluation(cfg, tmp_path / "eval")["metrics"]["N"] == 2


def test_k_shot_demonstrations_come_from_training_dialogues_only(tmp_path, dataset, eval_cfg):
    """k = 2: two clean training dialogues with a question, drawn once (seeded), sent before
    every test dialogue as earlier turns of its chat; a test split or a policy is refused."""
    import datasets

    from asktoact.errors import ConfigError
    from asktoact.eval import agents, demos

    dd = datasets.load_from_disk(str(dataset / "dataset"))
    train_ids, test_ids = set(dd["train"]["id"]), set(dd["test"]["id"])
    sent = []

    def complete(self, chats):
        sent.extend(chats)
        return ["[QUESTION] Which one?"] * len(chats)

    common = ("agent=litellm", "agent.client.mock_response=x", "data.limit=3", "max_rounds=1")
    common += ("demonstrations.k=2",)
    cfg = eval_cfg(tmp_path, dataset, *common)
    original = agents.LiteLLMAgent.complete
    agents.LiteLLMAgent.complete = complete
    try:
        result = run_evaluation(cfg, tmp_path / "k")
    finally:
        agents.LiteLLMAgent.complete = original
    shown = result["demonstrations"]
    assert len(shown) == 2 and set(shown) <= train_ids and not set(shown) & test_ids
    rows = {r["id"]: r for r in dd["train"].to_list() if r["id"] in shown}
    assert all(not r["augmented"] and demos._asks(r) for r in rows.values())
    want = [dict(m) for i in shown for m in rows[i]["messages"]]
    assert sent and all(chat[1 : 1 + len(want)] == want for chat in sent)  # after the system turn
    assert all(chat[0]["role"] == "system" for chat in sent)
    assert demos.draw(dd["train"].to_list(), 2, cfg.seed) == demos.draw(
        dd["train"].to_list(), 2, cfg.seed
    )
    with pytest.raises(ConfigError, match=r"demonstrations.split='test'"):
        run_evaluation(eval_cfg(tmp_path, dataset, *common, "demonstrations.split=test"), tmp_path)
    with pytest.raises(ConfigError, match="agent=oracle writes no prompt"):
        run_evaluation(eval_cfg(tmp_path, dataset, "demonstrations.k=2"), tmp_path / "o")
