"""BFCL's own evaluator over our models: the OpenAI-compatible server, the protocol translation,
the entry sample and BFCL's verdicts, and the whole chain against BFCL's real code (its own
environment, made by ``make bfcl-env``; those tests skip, saying why, only if it cannot be made)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from asktoact.bfcl import entries, scores
from asktoact.report.bfcl_rows import job_rows
from asktoact.serve import protocol
from asktoact.serve.app import ModelServer, build_app
from asktoact.serve.batcher import Batcher

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "book_hotel",
            "description": "Book a hotel room.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "Where."},
                    "nights": {"type": "integer", "description": "How long."},
                },
                "required": ["city", "nights"],
            },
        },
    }
]
SUMMARY = '[SUMMARY] Calls: [{"task":"book_hotel","arguments":[{"name":"city","value":"Oslo"},{"name":"nights","value":2}]}]'


def test_a_request_with_tools_becomes_our_dialogue_and_a_summary_becomes_tool_calls():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Book me a hotel."},
        {"role": "assistant", "content": "[QUESTION] Which city?"},
        {"role": "user", "content": "Oslo, two nights."},
    ]
    chat = protocol.dialogue(messages, TOOLS)
    assert [m["role"] for m in chat] == ["user", "assistant", "user"]
    first = chat[0]["content"]
    assert first.startswith("My request: Be brief.\nBook me a hotel.\nAPIs:\n")
    listed = json.loads(first.split("APIs:\n", 1)[1])
    assert listed[0]["name"] == "book_hotel" and set(listed[0]["parameters"]) == {"city", "nights"}

    reply = protocol.reply_message(SUMMARY, "c")
    (call,) = reply["tool_calls"]
    assert call["function"]["name"] == "book_hotel"
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo", "nights": 2}
    assert protocol.reply_message("[QUESTION] Which city?", "c")["tool_calls"] is None
    assert protocol.reply_message("[SUMMARY] no json here", "c")["tool_calls"] is None

    # a turn that made its calls is shown as the summary that made them; results are not read
    called = [*messages, {"role": "assistant", "content": None, "tool_calls": reply["tool_calls"]}]
    done = [*called, {"role": "tool", "content": "ok", "tool_call_id": "c-0"}]
    assert protocol.turn_is_done(done) and not protocol.turn_is_done(called)
    again = protocol.dialogue([*done, {"role": "user", "content": "And a taxi."}], TOOLS)
    assert again[-2]["content"].startswith("[SUMMARY]") and '"Oslo"' in again[-2]["content"]
    assert again[-1] == {"role": "user", "content": "And a taxi."}


def test_a_request_becomes_a_trajectory_and_a_written_call_becomes_one_tool_call():
    from asktoact.serve.trajectory import TrajectoryProtocol, trajectory
    from asktoact.tools.calls import format_call

    calls = [
        {"id": f"c{k}", "type": "function", "function": {"name": "book_hotel", "arguments": a}}
        for k, a in enumerate(['{"city": "Oslo", "nights": 2}', '{"city": "Bergen", "nights": 1}'])
    ]
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Book Oslo and Bergen."},
        {"role": "assistant", "content": None, "tool_calls": calls},
        # results out of order: each is matched to its call by tool_call_id
        {"role": "tool", "tool_call_id": "c1", "content": "booked B"},
        {"role": "tool", "tool_call_id": "c0", "content": "booked O"},
    ]
    chat = trajectory(messages, TOOLS)
    assert [m["role"] for m in chat] == [
        "system", "user", "assistant", "function", "assistant", "function"
    ]  # fmt: skip
    (spec,) = json.loads(chat[0]["content"])  # the tools as the trajectories list them
    assert spec["function"]["name"] == "book_hotel"
    assert spec["function"]["parameters"]["required"] == ["city", "nights"]
    assert chat[1]["content"] == "Be brief.\nBook Oslo and Bergen."
    assert chat[2]["content"] == format_call("book_hotel", {"city": "Bergen", "nights": 1})
    assert [chat[3]["content"], chat[5]["content"]] == ["booked B", "booked O"]

    proto = TrajectoryProtocol()
    assert not proto.done(messages)  # the model reads the results and decides what comes next
    reply = proto.reply('book_hotel\n{"city": "Oslo", "nights": 2}', "r")
    (call,) = reply["tool_calls"]
    assert call["function"]["name"] == "book_hotel"
    assert json.loads(call["function"]["arguments"]) == {"city": "Oslo", "nights": 2}
    assert proto.reply("All booked.", "r")["tool_calls"] is None


def test_the_server_asks_in_the_protocol_it_is_given_and_names_the_valid_ones():
    from fastapi.testclient import TestClient

    from asktoact.errors import ConfigError

    agent = _Agent('book_hotel\n{"city": "Oslo", "nights": 2}')
    client = TestClient(build_app(ModelServer(agent, "m", batch_wait_s=0, protocol="trajectory")))
    messages = [{"role": "user", "content": "Book a hotel in Oslo for 2 nights."}]
    chat = client.post("/v1/chat/completions", json={"messages": messages, "tools": TOOLS}).json()
    assert chat["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "book_hotel"
    assert agent.prompts[-1].startswith("system: [{")  # the trajectory's own system turn
    messages += [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": chat["choices"][0]["message"]["tool_calls"],
        },
        {"role": "tool", "content": "booked", "tool_call_id": "x"},
    ]
    client.post("/v1/chat/completions", json={"messages": messages, "tools": TOOLS})
    assert agent.prompts[-1].endswith("function: booked")  # a result is read, not the turn's end

    with pytest.raises(ConfigError, match="protocol='chat'.*dialogue, trajectory"):
        ModelServer(agent, "m", protocol="chat")


def test_a_bad_request_names_what_is_wrong():
    from asktoact.errors import ConfigError

    with pytest.raises(ConfigError, match=r"tools\[0\]"):
        protocol.dialogue(
            [{"role": "user", "content": "x"}], [{"type": "function", "function": {}}]
        )
    with pytest.raises(ConfigError, match="no user message"):
        protocol.dialogue([{"role": "system", "content": "x"}], TOOLS)


def test_the_batcher_generates_what_waits_together_and_routes_each_answer():
    release, calls = threading.Event(), []

    def run(key, items):
        calls.append((key, list(items)))
        if items == ["first"]:
            release.wait(30)
        return [f"{key}:{i}" for i in items]

    batcher = Batcher(run, max_batch=8, wait_s=0)
    answers = {}

    def ask(key, item):
        answers[item] = batcher.submit(key, item)

    first = threading.Thread(target=ask, args=(1, "first"))
    first.start()
    while not calls:  # the worker is inside the first batch, holding it
        threading.Event().wait(0.01)
    later = [threading.Thread(target=ask, args=(k % 2, f"r{k}")) for k in range(4)]
    for t in later:
        t.start()
    while batcher._queue.qsize() < 4:
        threading.Event().wait(0.01)
    release.set()
    for t in [first, *later]:
        t.join(30)
    assert calls[0] == (1, ["first"])
    assert sorted(len(items) for _, items in calls[1:]) == [2, 2]  # one call per key
    assert {k: v for k, v in answers.items() if k != "first"} == {
        f"r{k}": f"{k % 2}:r{k}" for k in range(4)
    }


class _Agent:
    """What the server needs of an agent: prompt(), chat_text(), generate(), tok,
    generate_kwargs, system_role."""

    system_role = True

    def __init__(self, reply: str):
        self.reply, self.budgets, self.prompts = reply, [], []
        self.generate_kwargs = {"max_new_tokens": 32}
        self.tok = lambda text, add_special_tokens=False: {"input_ids": text.split()}

    def prompt(self, messages):
        return "\n".join(m["content"] for m in messages)

    def chat_text(self, chat):
        return "\n".join(f"{m['role']}: {m['content']}" for m in chat)

    def generate(self, prompts, max_new_tokens=None):
        self.budgets.append(max_new_tokens)
        self.prompts += prompts
        return [self.reply for _ in prompts]


def test_the_server_speaks_openai_caps_replies_and_refuses_streaming():
    from fastapi.testclient import TestClient

    agent = _Agent(SUMMARY)
    client = TestClient(build_app(ModelServer(agent, "m", batch_wait_s=0)))
    assert client.get("/v1/models").json()["data"][0]["id"] == "m"

    text = client.post("/v1/completions", json={"prompt": "hi", "max_tokens": 4096}).json()
    assert text["choices"][0]["text"] == SUMMARY and agent.budgets[-1] == 32  # the cap wins
    client.post("/v1/completions", json={"prompt": "hi", "max_tokens": 5})
    assert agent.budgets[-1] == 5

    messages = [{"role": "user", "content": "Book a hotel in Oslo for 2 nights."}]
    chat = client.post("/v1/chat/completions", json={"messages": messages, "tools": TOOLS}).json()
    choice = chat["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["function"]["name"] == "book_hotel"
    assert agent.prompts[-1].startswith("My request: Book a hotel in Oslo")

    n = len(agent.prompts)
    done = [
        *messages,
        {"role": "assistant", "content": "", "tool_calls": choice["message"]["tool_calls"]},
    ]
    done.append({"role": "tool", "content": "booked", "tool_call_id": "x"})
    after = client.post("/v1/chat/completions", json={"messages": done, "tools": TOOLS}).json()
    assert (
        after["choices"][0]["message"]["content"] == protocol.TURN_DONE and len(agent.prompts) == n
    )

    refused = client.post("/v1/chat/completions", json={"messages": messages, "stream": True})
    assert refused.status_code == 400 and "stream" in refused.json()["detail"]
    bad = client.post("/v1/completions", json={"prompt": 3})
    assert bad.status_code == 400 and "prompt" in bad.json()["detail"]


def test_only_a_local_model_can_be_served():
    from asktoact.errors import ConfigError
    from asktoact.eval.agents import OracleAgent

    with pytest.raises(ConfigError, match="only a local model can be served"):
        ModelServer(OracleAgent("oracle"), "m")


def _write_category(folder: Path, category: str, n: int) -> None:
    rows = [{"id": f"{category}_{k}", "question": [], "function": []} for k in range(n)]
    (folder / f"BFCL_v4_{category}.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_entry_sample_is_seeded_leaves_out_trained_entries_and_names_a_wrong_category(tmp_path):
    _write_category(tmp_path, "simple_python", 50)
    a = entries.choose(tmp_path, ["simple_python"], 5, seed=0)
    assert a == entries.choose(tmp_path, ["simple_python"], 5, seed=0)
    assert a != entries.choose(tmp_path, ["simple_python"], 5, seed=1)
    trained = set(a["simple_python"][:2])
    b = entries.choose(tmp_path, ["simple_python"], 5, seed=0, exclude=trained)
    assert not trained & set(b["simple_python"]) and len(b["simple_python"]) == 5
    assert len(entries.choose(tmp_path, ["simple_python"], None, 0)["simple_python"]) == 50
    with pytest.raises(FileNotFoundError, match="no category 'simple' .*known: simple_python"):
        entries.choose(tmp_path, ["simple"], 5, 0)


def test_verdicts_come_from_bfcls_files_and_a_line_cut_by_a_kill_is_generated_again(tmp_path):
    ids = ["simple_python_0", "simple_python_1", "simple_python_2"]
    result = tmp_path / "result" / "m" / "non_live" / "BFCL_v4_simple_python_result.json"
    score = tmp_path / "score" / "m" / "non_live" / "BFCL_v4_simple_python_score.json"
    result.parent.mkdir(parents=True)
    score.parent.mkdir(parents=True)
    lines = [json.dumps({"id": i, "result": "x"}) for i in ids]
    result.write_text("\n".join(lines) + '\n{"id": "simple_python_3", "res')
    assert entries.repair_results(tmp_path, "m") == 1
    assert result.read_text().splitlines() == lines
    summary = {"accuracy": 2 / 3, "correct_count": 2, "total_count": 3}
    failed = {"id": ids[1], "valid": False, "error_type": "ast_decoder:decoder_failed"}
    score.write_text(json.dumps(summary) + "\n" + json.dumps(failed) + "\n")
    out = entries.outcomes(tmp_path, "m", "simple_python", ids)
    assert [o["correct"] for o in out] == [True, False, True]
    assert out[1]["error_type"] == "ast_decoder:decoder_failed"
    with pytest.raises(RuntimeError, match="no reply for 1 simple_python"):
        entries.outcomes(tmp_path, "m", "simple_python", [*ids, "simple_python_9"])


def _result(correct: dict[str, list[bool]]) -> dict:
    outcomes = {
        c: [{"id": f"{c}_{k}", "correct": v} for k, v in enumerate(vs)] for c, vs in correct.items()
    }
    return {
        "bfcl_version": "test",
        "entries": {c: [o["id"] for o in os] for c, os in outcomes.items()},
        "outcomes": {"fc": outcomes},
        "scores": {"fc": scores.summary(outcomes)},
    }


def test_the_report_pairs_each_row_with_its_experiments_reference(tmp_path):
    labels = {"experiment_name": "main", "scale": "small", "model_name": "smol", "variant": None}
    tl = {**labels, "experiment_name": "tl_training", "adapter_name": "lora", "irm": False}
    runs = [
        {
            "labels": {**labels, "adapter_name": "none"},
            "bfcl": _result({"irrelevance": [False] * 40, "multi_turn_miss_param": [False] * 5}),
        },
        {
            "labels": {**labels, "adapter_name": "lora"},
            "bfcl": _result({"irrelevance": [True] * 40, "multi_turn_miss_param": [True] * 5}),
        },
        {"labels": {**labels, "adapter_name": "full"}},  # ran without the BFCL step
        # TL-Training rows differ by masking: named by its table's row key, PKT against standard
        {"labels": {**tl, "masking_name": "standard"}, "bfcl": _result({"irrelevance": [True] * 40})},
        {"labels": {**tl, "masking_name": "pkt"}, "bfcl": _result({"irrelevance": [True] * 40})},
        # an experiment without a table: the untrained row of the same model
        {"labels": {**labels, "experiment_name": "mine", "adapter_name": "dora"}, "bfcl": _result({"irrelevance": [True] * 40})},
    ]  # fmt: skip
    rows = job_rows(runs)
    assert [(r["label"], r["base"]) for r in rows] == [
        ("main/small: smol none", None),
        ("main/small: smol lora", "main/small: smol none"),
        ("tl_training/small: smol standard|False", None),
        ("tl_training/small: smol pkt|False", "tl_training/small: smol standard|False"),
        ("mine/small: smol dora", "mine/small: smol none"),
    ]
    scores.write_report(rows, tmp_path)
    md = (tmp_path / "bfcl.md").read_text()
    assert (
        "| main/small: smol lora | our protocol, read as tool calls | 100.0 [100.0, 100.0]; Δ +100.0* |"
        in md
    )
    assert (
        "| tl_training/small: smol pkt\\|False | our protocol, read as tool calls | 100.0 [100.0, 100.0]; Δ +0.0 | – |"
        in md
    )  # tl_training scores no multi-turn category: its cell is empty, not an error
    assert (
        "irrelevance (N=40)" in md
        and "multi_turn_miss_param (N=5)" in md
        and "bfcl-eval test" in md
    )
    csv_rows = (tmp_path / "bfcl.csv").read_text().splitlines()
    assert csv_rows[3].startswith("main/small: smol lora,fc,irrelevance,40,100.0,100.0,100.0,100.0")


def test_training_on_bfcl_rows_keeps_them_out_of_the_bfcl_step(tmp_path):
    from asktoact.jobs.job import trained_bfcl_ids

    rows = [{"id": "bfcl-simple_python_7"}, {"id": "demo-000001"}, {"id": "bfcl-multiple_3"}]
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "dataset_dict.json").write_text("{}")
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert trained_bfcl_ids(tmp_path) == {"simple_python_7", "multiple_3"}


def test_bfcl_data_comes_from_the_package_without_shared_data(tmp_path):
    from asktoact.data.sources.bfcl import data_folder, load

    folder = data_folder(str(tmp_path / "absent"))
    assert folder.endswith("bfcl_eval/data"), "make install puts bfcl-eval's data in .venv"
    examples = load(folder, categories=["simple_python"])
    assert len(examples) > 300 and examples[0].id.startswith("bfcl-simple_python_")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "BFCL_v4_multiple.json").write_text("")
    assert data_folder(str(shared)) == str(shared)  # a folder of one's own comes first


def test_one_bfcl_version_for_our_data_and_bfcls_environment(repo_root, compose):
    pinned = re.search(r"^BFCL_VERSION \?= (\S+)$", (repo_root / "Makefile").read_text(), re.M)
    assert pinned and compose("bfcl", "agent.path=x").bfcl.bfcl_version == pinned.group(1)


def test_modes_and_bounds_are_checked_before_any_work(compose):
    from asktoact.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"bfcl.modes='leaderboard': must be one of 'prompt', 'fc'"
    ):
        compose("bfcl", "agent.path=x", "bfcl.modes=[prompt,leaderboard]")
    with pytest.raises(ConfigError, match=r"bfcl.limit=0"):
        compose("bfcl", "agent.path=x", "bfcl.limit=0")


# -- the whole chain, BFCL's own code --------------------------------------------------------
@pytest.fixture(scope="module")
def bfcl_python(compose):
    from asktoact.bfcl import env

    node = compose("bfcl", "agent.path=x").bfcl
    try:
        return env.ensure_env(node.venv, node.bfcl_version, list(node.extras))
    except env.BfclEnvError as err:
        pytest.skip(f"BFCL's environment cannot be made (registry unreachable?): {err}")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, compose):
    from asktoact.train.models import load_model, load_tokenizer

    out = tmp_path_factory.mktemp("tiny")
    cfg = compose("train", "model=tiny-qwen2", f"cache_dir={out / 'cache'}")
    tok = load_tokenizer(cfg.model, cfg.cache_dir)
    load_model(cfg.model, tok, 0).save_pretrained(out / "model")
    tok.save_pretrained(out / "model")
    return out / "model"


def _node(compose, model: Path, *overrides: str):
    return compose(
        "bfcl", f"agent.path={model}", "bfcl.max_new_tokens=8", "bfcl.concurrency=3", *overrides
    ).bfcl


SETTINGS = ("bfcl.limit=3", "bfcl.categories=[simple_python]")


@pytest.mark.slow
def test_bfcl_scores_the_tiny_model_in_both_modes_and_resumes(
    bfcl_python, tiny_model, compose, tmp_path
):
    from asktoact.bfcl.run import run_bfcl

    first = run_bfcl(_node(compose, tiny_model, *SETTINGS), tmp_path)
    for mode in ("prompt", "fc"):
        (ids,) = first["entries"].values()
        assert [o["id"] for o in first["outcomes"][mode]["simple_python"]] == ids and len(ids) == 3
        score = next((tmp_path / mode / "score").rglob("BFCL_v4_simple_python_score.json"))
        bfcl_own = json.loads(score.read_text().splitlines()[0])
        assert first["scores"][mode]["simple_python"]["N"] == bfcl_own["total_count"] == 3
        ours = first["scores"][mode]["simple_python"]["accuracy"]
        assert ours == pytest.approx(100 * bfcl_own["accuracy"])
    # BFCL asked through our protocol: the server saw the request as our first user turn
    fc_result = next((tmp_path / "fc" / "result").rglob("*_result.json"))
    assert len(fc_result.read_text().splitlines()) == 3

    # a kill mid-write: the last entry is cut short; a rerun writes it again, keeps the others
    prompt_result = next((tmp_path / "prompt" / "result").rglob("*_result.json"))
    kept = prompt_result.read_text().splitlines()
    prompt_result.write_text("\n".join(kept[:2]) + "\n" + kept[2][:20])
    # (the rerun in the damaged mode only: fc's files are not touched, its rerun would add time)
    again = run_bfcl(_node(compose, tiny_model, *SETTINGS, "bfcl.modes=[prompt]"), tmp_path)
    now = prompt_result.read_text().splitlines()
    assert now[:2] == kept[:2] and len(now) == 3
    assert again["entries"] == first["entries"]


@pytest.mark.slow
@pytest.mark.heavy
def test_bfcl_multi_turn_miss_param_runs_through_our_protocol(
    bfcl_python, tiny_model, compose, tmp_path
):
    from asktoact.bfcl.run import run_bfcl

    node = _node(
        compose,
        tiny_model,
        "bfcl.limit=1",
        "bfcl.categories=[multi_turn_miss_param]",
        "bfcl.modes=[fc]",
    )
    out = run_bfcl(node, tmp_path)
    (outcome,) = out["outcomes"]["fc"]["multi_turn_miss_param"]
    assert outcome["id"].startswith("multi_turn_miss_param_")
    result = json.loads(next((tmp_path / "fc" / "result").rglob("*_result.json")).read_text())
    assert len(result["result"]) >= 2  # one list of steps per user turn: BFCL played the turns
    assert (tmp_path / "bfcl.json").exists()


@pytest.mark.slow
@pytest.mark.heavy
def test_bfcl_scores_a_tool_use_row_asked_in_its_trajectory_protocol(
    bfcl_python, tiny_model, compose, tmp_path
):
    from asktoact.bfcl.run import run_bfcl

    node = _node(
        compose,
        tiny_model,
        "bfcl.limit=2",
        "bfcl.categories=[simple_python]",
        "bfcl.modes=[fc]",
        "bfcl.protocol=trajectory",
    )
    out = run_bfcl(node, tmp_path)
    assert json.loads((tmp_path / "bfcl.json").read_text())["protocol"] == "trajectory"
    score = next((tmp_path / "fc" / "score").rglob("BFCL_v4_simple_python_score.json"))
    bfcl_own = json.loads(score.read_text().splitlines()[0])
    assert out["scores"]["fc"]["simple_python"]["N"] == bfcl_own["total_count"] == 2
    assert out["scores"]["fc"]["simple_python"]["accuracy"] == pytest.approx(
        100 * bfcl_own["accuracy"]
    )


def test_a_job_stores_its_bfcl_run_by_model_and_settings_and_reuses_it(
    tmp_path, compose, monkeypatch
):
    import asktoact.bfcl.run as bfcl_run
    from asktoact.jobs.job import bfcl_scores

    calls, protocols = [], []

    def fake_run(node, out, exclude=frozenset()):
        calls.append((node.limit, node.agent.path, set(exclude)))
        protocols.append(node.protocol)
        result = {"entries": {}, "limit": node.limit, "outcomes": {m: {} for m in node.modes}}
        (Path(out) / "bfcl.json").write_text(json.dumps(result))
        return result

    monkeypatch.setattr(bfcl_run, "run_bfcl", fake_run)
    data = tmp_path / "data"
    (data / "dataset").mkdir(parents=True)
    (data / "dataset" / "dataset_dict.json").write_text("{}")
    (data / "train.jsonl").write_text(json.dumps({"id": "bfcl-irrelevance_4"}) + "\n")
    model = tmp_path / "models" / "row-abc" / "merged"
    model.mkdir(parents=True)

    def job(*overrides):
        return compose("job", "bfcl.enabled=true", f"eval_root={tmp_path / 'evals'}", *overrides)

    assert bfcl_scores(job(), str(model), data)["limit"] == 20
    assert bfcl_scores(job(), str(model), data)["limit"] == 20  # stored: not run again
    assert calls == [(20, str(model), {"irrelevance_4"})]
    bfcl_scores(job("bfcl.limit=5"), str(model), data)  # another setting: another run
    bfcl_scores(job("bfcl.venv=/elsewhere"), str(model), data)  # where BFCL lives: the same run
    bfcl_scores(job("bfcl.modes=[fc]"), str(model), data)  # a mode it has: the same run
    assert [c[0] for c in calls] == [20, 5]
    bfcl_scores(job("bfcl.limit=7", "bfcl.modes=[fc]"), str(model), data)
    bfcl_scores(job("bfcl.limit=7"), str(model), data)  # a mode it lacks: the run goes on
    assert [c[0] for c in calls] == [20, 5, 7, 7]
    assert set(protocols) == {"dialogue"}  # the task of a dataset without a manifest: dialogues
    # a model trained on trajectories is asked in their format, in a store entry of its own
    (data / "manifest.json").write_text(json.dumps({"kind": "trajectories"}))
    bfcl_scores(job("bfcl.limit=7"), str(model), data)
    assert protocols[-1] == "trajectory" and len(calls) == 5
    stores = {p.parent.name: p.read_text() for p in (tmp_path / "evals").rglob("config.yaml")}
    assert sum("protocol: trajectory" in text for text in stores.values()) == 1
    assert sum("protocol" not in text for text in stores.values()) == 3  # dialogue: keys kept


def test_bfcls_environment_gets_an_absolute_root_and_no_provider_key(tmp_path, monkeypatch):
    from asktoact.bfcl.run import child_env

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    child = child_env(Path("outputs/evals/x/prompt"), "http://127.0.0.1:4321/v1")
    # a relative root made BFCL write its results under root/root (seen in a real run)
    assert child["BFCL_PROJECT_ROOT"] == str(tmp_path / "outputs/evals/x/prompt")
    assert (child["LOCAL_SERVER_ENDPOINT"], child["LOCAL_SERVER_PORT"]) == ("127.0.0.1", "4321")
    assert child["OPENAI_BASE_URL"] == "http://127.0.0.1:4321/v1"
    assert child["OPENAI_API_KEY"] == "EMPTY"
    assert "sk-secret" not in child.values() and "hf-secret" not in child.values()


def test_a_run_keeps_the_modes_an_earlier_run_of_the_same_entries_scored(tmp_path):
    from asktoact.bfcl.run import _stored

    chosen = {"irrelevance": ["irrelevance_1"]}
    earlier = {
        "entries": chosen,
        "outcomes": {"prompt": {"irrelevance": []}},
        "seconds": {"prompt": 9.0},
    }
    (tmp_path / "bfcl.json").write_text(json.dumps(earlier))
    assert _stored(tmp_path, chosen) == ({"prompt": {"irrelevance": []}}, {"prompt": 9.0})
    assert _stored(tmp_path, {"irrelevance": ["irrelevance_2"]}) == ({}, {})  # other entries
