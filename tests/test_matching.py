"""What counts as a question, and how the rules simulator matches questions to what the user knows.

The labelled matching set: for every unspecified intent of the demo test dialogues, questions in
four phrasing families — the training templates (``data/clarify.py``), the dataset's own
questions, independent paraphrases written for this test (three sets: ``fixtures/paraphrases.json``
tuned on, ``paraphrases_heldout.json`` whose misses were read while the matcher last changed,
``paraphrases_fresh.json`` written after that change and never tuned on) — and non-questions
(statements and JSON echoes of the APIs), plus off-topic and vague questions.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hydra.utils import instantiate

from asktoact.data.clarify import QUESTION_TEMPLATES, _call_label, groups
from asktoact.data.phrasing import noun_for
from asktoact.errors import UserError
from asktoact.eval.parse import parse_turn
from asktoact.eval.personas import PERSONAS
from asktoact.eval.run import run_evaluation
from asktoact.schema import ToolSpec, TransformationRecord


def rows_of(dataset, split="test"):
    return [json.loads(x) for x in (dataset / f"{split}.jsonl").read_text().splitlines()]


def record_and_tools(row):
    rec = TransformationRecord.from_dict(json.loads(row["record"]))
    return rec, [ToolSpec.from_dict(t) for t in json.loads(row["tools"])]


# -- what a turn is -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "question"),
    [
        ("[PARAMETER EVALUATION] city: missing. [QUESTION] Which city?", "question", "Which city?"),
        # untagged: its sentences that end with "?", nothing else
        (
            "I will use get_forecast. Which city do you mean? And for which day?",
            "question",
            "Which city do you mean? And for which day?",
        ),
        ("Sure! The forecast API needs a city (is it Paris?) first.", "no_question", ""),
        ("The API get_forecast performs the task.", "no_question", ""),
        ('[{"name": "get_forecast", "parameters": {"city": "?"}}]', "no_question", ""),
        # code is not speech: the base model's `url = f".../{city_name}?"` asks nothing
        ('Here is code:\n```python\nurl = f"https://x.org/{city}?"\n```\nDone.', "no_question", ""),
        ("Call `get_forecast(city=?)` then. Which day?", "question", "Which day?"),
        (
            "[TASK DECOMPOSITION] 1. get_forecast [PARAMETER EVALUATION] city: missing",
            "no_question",
            "",
        ),
        ("[QUESTION]", "no_question", ""),
        ('[SUMMARY] [{"task": "a", "arguments": []}] Anything else?', "summary", ""),
    ],
)
def test_a_round_needs_a_question_tagged_or_ending_in_a_question_mark(text, kind, question):
    turn = parse_turn(text)
    assert (turn.kind, turn.question) == (kind, question)


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=1000")


def replay_file(tmp_path, rows, turns):
    path = tmp_path / "turns.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "turns": turns(r)}) + "\n" for r in rows))
    return path


def test_a_turn_that_asks_nothing_is_a_wasted_round(tmp_path, compose, dataset):
    """Two statements, then the recorded turns run out: two rounds counted, nothing clarified,
    every reply the persona's "I do not follow", NQ = 1."""
    statements = ["I will call the right API for this.", "The tools listed can do it."]
    path = replay_file(tmp_path, rows_of(dataset), lambda r: statements)
    cfg = compose(
        "evaluate",
        f"data.path={dataset}",
        f"cache_dir={tmp_path}",
        "agent=replay",
        f"agent.path={path}",
        "simulator.persona=skeptic",
        "data.limit=10",
    )
    result = run_evaluation(cfg, tmp_path / "run")
    outcomes = result["outcomes"]
    assert len(outcomes) == 10 and any(o["intents"] for o in outcomes)
    assert all(o["rounds"] == o["no_question"] == 2 and o["clarified"] == 0 for o in outcomes)
    assert not any(o["valid"] for o in outcomes)
    m = result["metrics"]
    assert m["NQ"] == 1.0 and m["IR"] == 2.0 and m["ICR"] == 0.0 and m["CE"] == 0.0
    # format and behaviour: no question, no solution, so no precision either
    assert (m["ASK"], m["PARSE"], m["QP"], m["PRS@P"]) == (0.0, 0.0, 0.0, 0.0)
    assert all(o["precise"] == 0 and o["parsed"] is False for o in outcomes)
    lines = (tmp_path / "run/transcripts.jsonl").read_text().splitlines()
    t = json.loads(lines[0])
    replies = [m["content"] for m in t["messages"] if m["role"] == "user"][1:]
    assert replies == [PERSONAS["skeptic"].confused[0]] * 2
    assert all(j["no_question"] and j["category"] is None for j in t["judgements"])
    assert t["solution_error"] == "the agent's turns ran out"


def test_replay_refuses_a_malformed_file_or_missing_dialogues(tmp_path, compose, dataset):
    from asktoact.eval.agents import ReplayAgent, load_replay

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": ["a"]}\n{"id": "y", "turns": "not a list"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl, line 2: expected"):
        load_replay(bad)
    with pytest.raises(UserError, match="no such file"):
        load_replay(tmp_path / "absent.jsonl")
    some = replay_file(tmp_path, rows_of(dataset)[:1], lambda r: ["Which city?"])
    cfg = compose(
        "evaluate",
        f"data.path={dataset}",
        f"cache_dir={tmp_path}",
        "agent=replay",
        f"agent.path={some}",
        "data.limit=3",
    )
    with pytest.raises(UserError, match=r"no turns for 2 evaluated dialogue"):
        run_evaluation(cfg, tmp_path / "run")
    assert isinstance(instantiate(cfg.agent), ReplayAgent)


# -- matching ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def simulator(compose):
    return instantiate(compose("evaluate", "simulator.persona=cold_fish").simulator)


def test_from_currency_is_told_apart_from_to_currency(build_dataset, compose, tmp_path):
    """The issue's case: generate seed=5 n=1200; in demo-000342 the oracle asks for the currency
    converted *from* and was answered the stated *to* currency nine times (ICR 0.98)."""
    data = build_dataset("seed=5", "data.n=1200", "augmentation.ratio=0.3")
    row = next(r for r in rows_of(data) if r["id"] == "demo-000342")
    rec, tools = record_and_tools(row)
    (group,) = [g for g in groups(rec) if g[0][1] == "from_currency"]
    sim = instantiate(compose("evaluate", "simulator.persona=jokester").simulator)
    ctx = sim.start(rec, tools)
    ((target, _),) = sim.judge([(ctx, group[0][2].question)])
    assert ctx.fact(target).params == [("convert_currency", "from_currency")]
    for q, want in (
        ("Which currency are you converting out of?", "from_currency"),
        ("And which currency should it end up in?", "to_currency"),
    ):
        ((target, _),) = sim.judge([(ctx, q)])
        assert target and ctx.fact(target).params[0][1] in (want,), q
    cfg = compose(
        "evaluate",
        f"data.path={data}",
        f"cache_dir={tmp_path}",
        "agent=oracle",
        "simulator.persona=jokester",
        "data.limit=40",
    )
    assert run_evaluation(cfg, tmp_path / "run")["metrics"]["ICR"] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_the_oracle_clarifies_every_intent_against_every_persona(
    build_dataset, compose, tmp_path, persona
):
    data = build_dataset("data.n=200")
    cfg = compose(
        "evaluate",
        f"data.path={data}",
        f"cache_dir={tmp_path}",
        "agent=oracle",
        f"simulator.persona={persona}",
    )
    m = run_evaluation(cfg, tmp_path / "run")["metrics"]
    assert m["ICR"] == 1.0 and m["SCR"] == 1.0 and m["PRS"] == 1.0 and m["NQ"] == 0.0
    # every question aims at a value still open (a dodged one is asked again, still open)
    assert (m["ASK"], m["PARSE"], m["QP"], m["ICR@P"], m["PRS@P"]) == (1.0,) * 5
    # Only the personas that dodge a first question need a round more than there are intents.
    dodges = PERSONAS[persona].avoid_first > 0
    assert (m["CE"] < 1.0) is dodges


def families(rec, tools, group, paraphrases, heldout, fresh):
    i, name, arg = group[0]
    api = rec.key_info[i].name
    noun = noun_for(next(t for t in tools if t.name == api).param(name), name)
    label = " and ".join(dict.fromkeys(_call_label(rec, j) for j, _, _ in group))
    yield "templates", [t.format(noun=noun, api=label) for t in QUESTION_TEMPLATES]
    yield "dataset", [arg.question]
    yield "paraphrases", paraphrases.get(api, {}).get(name, [])
    yield "held-out paraphrases", heldout.get(api, {}).get(name, [])
    yield "fresh paraphrases", fresh.get(api, {}).get(name, [])


def ambiguous(ctx, key: str) -> bool:
    """Another fact of the dialogue has the intent's parameter name or description: a question
    that names no API (a paraphrase) cannot say which one it means."""
    me = ctx.fact(key)
    what = me.descriptors[0].split(": ", 1)[-1]
    return any(
        f.key != key and (f.params[0][1] == me.params[0][1] or f.descriptors[0].endswith(what))
        for f in ctx.intents + ctx.stated
    )


OFF_TOPIC = ["Do you like jazz?", "How old is your dog?", "What did you have for breakfast?"]
VAGUE = ["Can you tell me more?", "Could you give me more details?", "What do you mean?"]


@pytest.fixture(scope="module")
def matching_rates(dataset, simulator, fixtures_dir):
    paraphrases, heldout, fresh = (
        json.loads((fixtures_dir / f"{name}.json").read_text())
        for name in ("paraphrases", "paraphrases_heldout", "paraphrases_fresh")
    )
    hits, n = Counter(), Counter()
    for row in rows_of(dataset):
        rec, tools = record_and_tools(row)
        ctx = simulator.start(rec, tools)
        for k, group in enumerate(groups(rec)):
            if group[0][2].strategy == "partial":
                continue
            for family, questions in families(rec, tools, group, paraphrases, heldout, fresh):
                if family.endswith("paraphrases") and ambiguous(ctx, f"I{k}"):
                    n["ambiguous"] += len(questions)
                    continue
                for (target, _), _q in zip(
                    simulator.judge([(ctx, q) for q in questions]), questions, strict=True
                ):
                    hits[family] += target == f"I{k}"
                    n[family] += 1
        apis = [c.name for c in rec.key_info]
        echo = row["messages"][0]["content"].splitlines()[-1]  # the candidate APIs as JSON
        for text in (f"I will use {' and '.join(apis)} for this.", f"Calling {apis[0]}.", echo):
            turn = parse_turn(text)
            answered = turn.kind == "question" and simulator.judge([(ctx, turn.question)])[0][0]
            hits["non-questions answered"] += bool(answered and answered.startswith("I"))
            n["non-questions answered"] += 1
        for family, questions in (("off-topic matched", OFF_TOPIC), ("vague matched", VAGUE)):
            for target, _ in simulator.judge([(ctx, q) for q in questions]):
                hits[family] += target is not None
                n[family] += 1
    return {f: (hits[f] / n[f], n[f]) for f in n}


@pytest.mark.slow
def test_the_simulator_names_the_intent_a_question_asks_for(matching_rates):
    """Measured floors (figures in docs/evaluation.md): every family >= 95 % and all of them within
    3 points of each other (100, 100, 98.7, 97.4 and 100 % when last measured), the fresh
    paraphrases (written after the matcher's last change, never tuned on) included."""
    rate = {f: r for f, (r, _) in matching_rates.items()}
    phrasings = ["templates", "dataset", *(f"{s}paraphrases" for s in ("", "held-out ", "fresh "))]
    assert min(rate[f] for f in phrasings) >= 0.95
    assert max(rate[f] for f in phrasings) - min(rate[f] for f in phrasings) <= 0.03
    assert rate["non-questions answered"] <= 0.01
    assert rate["off-topic matched"] <= 0.02 and rate["vague matched"] == 0.0
    assert matching_rates["paraphrases"][1] >= 200 and matching_rates["templates"][1] >= 400
    assert matching_rates["held-out paraphrases"][1] >= 200
    assert matching_rates["fresh paraphrases"][1] >= 100


# -- the signals, one by one ---------------------------------------------------------------------
def test_the_focus_is_the_noun_the_question_word_governs():
    from asktoact.eval.matching import read_question

    assert read_question("What number should I text?").focus == {"number"}
    assert read_question("How many rooms to sleep in?").focus == {"room"}
    assert read_question("What kind of product do you want?").focus == {"product"}
    # a verb or pronoun after the question word is not the thing asked for
    assert read_question("What should go in the cart?").focus == set()
    assert read_question("Which do you mean?").focus == set()


def _profiles():
    from asktoact.eval.matching import profile

    tools = {
        t.name: t
        for t in [
            ToolSpec.from_dict(
                {
                    "name": "send_sms",
                    "description": "Send a text message to a phone number.",
                    "parameters": {
                        "phone": {"type": "string", "description": "Phone number."},
                        "text": {"type": "string", "description": "Text to send."},
                    },
                }
            )
        ]
    }
    return tools, [profile(k, [(0, "send_sms", k)], tools) for k in ("phone", "text")]


def test_a_focus_on_one_parameter_outweighs_a_word_of_another():
    """ "What number should I text?": the word "text" names the other parameter, but the focus
    "number" is the phone's: +0.3 for phone, -0.3 for text, on equal similarities."""
    from asktoact.eval.matching import read_question, scores
    from asktoact.eval.simulator import RulesSimulator

    _, (phone, text) = _profiles()
    signals = read_question("What number should I text?")
    got = scores(signals, [phone, text], [0.5, 0.5], RulesSimulator.default_weights())
    unfocused = scores(
        signals, [phone, text], [0.5, 0.5], RulesSimulator.default_weights(focus=0.0)
    )
    assert got[0] > got[1]
    assert [g - u for g, u in zip(got, unfocused, strict=True)] == pytest.approx([0.3, -0.3])
    # "to" before a verb in a description is no direction ("Text to send.")
    assert text.direction is None


def test_the_request_gives_a_direction_the_description_does_not():
    """ "Order pad thai from Spice Route": the restaurant is where the order comes *from*; an API
    description that names a direction wins over the request ("Arrival day")."""
    from asktoact.eval.intents import said_after
    from asktoact.eval.matching import profile

    request = "Order pad thai from Spice Route to 12 Elm Road."
    assert said_after(request, "Spice Route") == "from"
    assert said_after(request, "12 Elm Road") == "to"
    assert said_after(request, "sushi") == ""
    tools, _ = _profiles()
    assert profile("S0", [(0, "send_sms", "phone")], tools, "Bob", "from").direction == "from"
    assert profile("S0", [(0, "send_sms", "phone")], tools, "Bob", "at").direction is None


def test_a_clear_lead_is_understood_below_the_match_threshold(simulator, monkeypatch):
    """Best 0.45 (>= near_match 0.4) leading by 0.25 (>= lead 0.2) is understood; best 0.45
    leading by 0.1, or 0.39 leading by 0.3, is not (0.39 is still vague, >= 0.3)."""
    from asktoact.eval.simulator import UserContext

    ctx = UserContext("x", "", [], [], PERSONAS["cold_fish"])
    for (score, lead), want in {(0.45, 0.25): "I0", (0.45, 0.1): None, (0.39, 0.3): None}.items():
        monkeypatch.setattr(simulator, "score", lambda *a, s=score, d=lead: ("I0", s, d))
        assert simulator.judge([(ctx, "How warm should it be?")]) == [(want, True)]


def test_a_question_word_that_asks_for_a_kind_counts_against_the_other_kinds():
    """A "how many" question asks for a count: +0.3 for the integer parameter, -0.15 (half the kind
    weight) for the room, on equal similarities and no other signal."""
    from asktoact.eval.matching import profile, read_question, scores
    from asktoact.eval.simulator import RulesSimulator

    spec = {
        "name": "rent",
        "description": "Find a flat.",
        "parameters": {
            "bedrooms": {"type": "integer", "description": "Bedrooms."},
            "room": {"type": "string", "description": "Room name."},
        },
    }
    tools = {"rent": ToolSpec.from_dict(spec)}
    count, place = (profile(k, [(0, "rent", k)], tools) for k in ("bedrooms", "room"))
    assert count.kinds == {"count"} and place.kinds == {"place"}
    got = scores(
        read_question("How many?"), [count, place], [0.5, 0.5], RulesSimulator.default_weights()
    )
    assert got == pytest.approx([0.8, 0.35])


def test_a_bare_what_asks_for_a_thing_not_a_place():
    """ "What should I order for you?" governs no noun and asks for a thing: the dish keeps its
    score, the restaurant and the address (places) lose half the kind weight (0.15); "what is
    the ..." and "what do you mean" with a focus or a kind are not bare."""
    from asktoact.eval.matching import profile, read_question, scores
    from asktoact.eval.simulator import RulesSimulator

    spec = {
        "name": "food_delivery",
        "description": "Bring a meal.",
        "parameters": {
            "dish": {"type": "string", "description": "Dish."},
            "address": {"type": "string", "description": "Delivery address."},
        },
    }
    tools = {"food_delivery": ToolSpec.from_dict(spec)}
    dish, address = (profile(k, [(0, "food_delivery", k)], tools) for k in ("dish", "address"))
    signals = read_question("What should I order for you?")
    assert signals.thing and not signals.kinds and not signals.focus
    assert scores(
        signals, [dish, address], [0.5, 0.5], RulesSimulator.default_weights()
    ) == pytest.approx([0.5, 0.35])
    assert not read_question("What is the destination?").thing
    assert not read_question("What time would you like?").thing  # a moment, not a thing


def test_what_a_thing_is_also_called_counts_as_its_word():
    """The dish is also food, a meal, what one eats; the query is what one looks for: "what would
    you like to eat?" holds a word of the dish (stemmed "eat") and none of the address."""
    from asktoact.eval.matching import read_question, vocabulary_of

    assert {"food", "meal", "eat"} <= vocabulary_of("dish")
    assert {"look", "search", "find"} <= vocabulary_of("query")
    assert "eat" in read_question("What would you like to eat?").vocabulary
    assert not vocabulary_of("Delivery address.") & {"food", "meal", "eat"}
