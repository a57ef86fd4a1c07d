"""The evaluation protocol (AskToAct §3.2–3.3, appendix F): one prompt for every model, a user
simulator that knows only the user's request, personas as Table 11 describes them, complete error
statistics, results tied to the settings that made them, and uncertainty on every number."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pytest
from hydra.utils import instantiate

from asktoact.data.clarify import QUESTION_TEMPLATES, groups
from asktoact.data.templates import SYSTEM_PROMPT
from asktoact.data.turns import with_system_prompt
from asktoact.eval.dialogues import DialogueTask
from asktoact.eval.intents import facts
from asktoact.eval.metrics import Outcome
from asktoact.eval.personas import PERSONAS
from asktoact.eval.run import run_evaluation
from asktoact.schema import ToolSpec, TransformationRecord


@pytest.fixture(scope="module")
def dataset(build_dataset):
    return build_dataset("data.n=400")


def split_rows(dataset, split="test"):
    return [json.loads(x) for x in (dataset / f"{split}.jsonl").read_text().splitlines()]


# -- 1. one prompt for every model, and the training data that matches it ----------------------
CHAT = [
    {"role": "user", "content": "Book a table in a certain city."},
    {"role": "assistant", "content": "[QUESTION] Which city?"},
    {"role": "user", "content": "Lisbon."},
]


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("qwen2", "<|im_start|>system\n{p}<|im_end|>\n<|im_start|>user\n{u}<|im_end|>"),
        ("llama", "<|start_header_id|>system<|end_header_id|>\n\n{p}<|eot_id|><|start_header_id|>"),
        (
            "mistral",
            "<s>[INST] {p}\n\n{u} [/INST] [QUESTION] Which city?</s>[INST] Lisbon. [/INST]",
        ),
    ],
)
def test_the_system_prompt_goes_where_each_family_template_expects_it(
    tokenizers, compose, family, expected
):
    model = compose("train", f"model=tiny-{family}").model
    chat = with_system_prompt(CHAT, model.system_role)
    text = tokenizers[family].apply_chat_template(chat, tokenize=False)
    assert expected.format(p=SYSTEM_PROMPT, u=CHAT[0]["content"]) in text
    assert text.count(SYSTEM_PROMPT) == 1


def test_training_dialogues_carry_the_evaluation_prompt_untrained(tokenizers, compose, masking):
    from asktoact.constants import IGNORE_INDEX
    from asktoact.train.encode import encode
    from asktoact.train.run import chat_preparation

    cfg = compose("train", "model=tiny-qwen2")
    prepared = chat_preparation(cfg)(CHAT + [{"role": "assistant", "content": "[SUMMARY] []"}])
    enc = encode(prepared, tokenizers["qwen2"], masking("standard"), "<|im_end|>")
    tok = tokenizers["qwen2"]
    assert SYSTEM_PROMPT in tok.decode(enc["input_ids"])
    trained = tok.decode(
        [i for i, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != IGNORE_INDEX]
    )
    assert "Never invent" not in trained and "[QUESTION] Which city?" in trained
    assert chat_preparation(compose("train", "data.system_prompt=false")) is None


def test_api_and_local_agents_send_the_same_prompt(compose):
    from asktoact.eval.agents import LiteLLMAgent

    seen = []

    class Client:
        def run_text(self, chats, desc, task=""):
            seen.extend(chats)
            return []

    class Ep:
        messages = CHAT[:1]

    LiteLLMAgent("api", Client()).respond([Ep()])
    assert seen[0][0] == {"role": "system", "content": SYSTEM_PROMPT}
    local = compose("evaluate", "agent=local", "agent.path=x").agent
    assert local.system_role is True and "system_prompt" not in local


# -- 2. a simulator that knows only what the user knows -----------------------------------------
def test_the_simulator_never_sees_the_dataset_questions(dataset):
    for row in split_rows(dataset):
        rec = TransformationRecord.from_dict(json.loads(row["record"]))
        tools = [ToolSpec.from_dict(t) for t in json.loads(row["tools"])]
        intents, stated = facts(rec, tools)
        questions = {a.question for _, _, a in rec.removed()}
        known = json.dumps([dataclasses.asdict(f) for f in intents + stated], default=sorted)
        assert not any(q and q in known for q in questions)
        assert "question" not in known
        # nor the training templates' wording (data/clarify.py): only names and descriptions
        fixed = [p for t in QUESTION_TEMPLATES for p in re.split(r"\{\w+\}", t) if len(p) > 6]
        assert fixed and not any(p.strip() in known for p in fixed)


def context(compose, dataset, persona: str, index: int = 0, min_intents: int = 1):
    sim = instantiate(compose("evaluate", f"simulator.persona={persona}", "seed=3").simulator)
    rows = [r for r in split_rows(dataset) if r["n_removed"] >= min_intents]
    row = rows[index]
    rec = TransformationRecord.from_dict(json.loads(row["record"]))
    tools = [ToolSpec.from_dict(t) for t in json.loads(row["tools"])]
    return sim, sim.start(rec, tools), rec


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_each_persona_answers_in_its_own_way(compose, dataset, persona):
    from asktoact.eval.simulator import persona_reply

    _, ctx, _ = context(compose, dataset, persona)
    fact = ctx.intents[0]
    # The reply a question about an open intent gets when the persona does not dodge it.
    ctx.asked[fact.key] = 1  # a second ask: no persona avoids it
    reply = persona_reply(ctx, fact.key, seed=3)
    value = fact.value_text
    assert value in reply
    if persona == "cold_fish":
        assert reply in (value, f"{value}.")
    if persona == "skeptic":
        assert reply.rstrip().endswith("?")
    if persona == "jokester":
        wrong = re.search(r"Banana|the moon", reply)
        assert wrong and wrong.start() < reply.index(value)
    if persona == "enthusiastic_supporter":
        assert "!" in reply


def avoided(seed: int, dialogue: str, intent: str, attempt: int, what: str, p: float) -> bool:
    """The documented rule, written out again: sha256 of 'seed|dialogue|intent|attempt|what'."""
    blob = f"{seed}|{dialogue}|{intent}|{attempt}|{what}".encode()
    return int(hashlib.sha256(blob).hexdigest()[:8], 16) / 16**8 < p


@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_the_oracle_against_each_persona_by_hand(tmp_path, compose, dataset, persona):
    """Full marks on ICR/SCR/TSS/PRS against every persona; CE = U / (U + dodged first asks)."""
    cfg = compose(
        "evaluate",
        f"data.path={dataset}",
        f"cache_dir={tmp_path}",
        "agent=oracle",
        f"simulator.persona={persona}",
        "seed=3",
        "max_rounds=30",
        "data.limit=30",
    )
    m = run_evaluation(cfg, tmp_path / "run")["metrics"]
    for key in ("ICR", "SCR", "TSS", "PRS"):
        assert m[key] == pytest.approx(1.0), key
    p = PERSONAS[persona].avoid_first
    u = dodged = 0
    for row in split_rows(dataset)[:30]:
        rec = TransformationRecord.from_dict(json.loads(row["record"]))
        for k in range(len(groups(rec))):
            u += 1
            dodged += avoided(3, row["id"], f"I{k}", 0, "first", p)
    assert (dodged > 0) == (p > 0)
    assert m["CE"] == pytest.approx(u / (u + dodged))
    assert m["err_incomplete"] == 0.0


def test_a_repeated_question_is_dodged_as_the_persona_says(compose, dataset):
    from asktoact.eval.simulator import persona_reply

    _, ctx, _ = context(compose, dataset, "easily_irritated")
    fact = ctx.intents[0]
    ctx.clarified.add(fact.key)
    outcomes = []
    for attempt in range(1, 40):
        ctx.asked[fact.key] = attempt
        reply = persona_reply(ctx, fact.key, seed=3)
        assert (fact.value_text not in reply) == avoided(3, ctx.id, fact.key, attempt, "again", 0.8)
        outcomes.append(fact.value_text in reply)
    assert 0 < sum(outcomes) < len(outcomes) / 2  # mostly refuses, sometimes repeats


def test_a_clarified_intent_is_one_whose_value_the_reply_revealed(compose, dataset):
    sim, ctx, rec = context(compose, dataset, "reluctant_collaborator", min_intents=1)
    question = groups(rec)[0][0][2].question
    judgements = [sim.reply_batch([(ctx, question)])[0] for _ in range(2)]
    first, second = judgements
    dodged = avoided(3, ctx.id, "I0", 0, "first", 0.30)
    assert first.withheld == dodged and first.new_intent == (not dodged)
    assert second.new_intent == dodged  # asked again, the reluctant user gives in
    assert ctx.clarified == {"I0"} and ctx.rounds == 2


# -- 3. complete error statistics ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("agent", "reason"),
    [
        (["agent=never_ask"], "a summary with intents never clarified"),
        (["agent=litellm", "agent.client.mock_response='[SUMMARY] no calls here'"], "unreadable"),
        (["agent=litellm", "agent.client.mock_response='[QUESTION] Dark mode?'"], "out of rounds"),
    ],
)
def test_incomplete_clarification_is_counted_however_the_episode_ends(
    tmp_path, compose, dataset, agent, reason
):
    cfg = compose(
        "evaluate",
        f"data.path={dataset}",
        f"cache_dir={tmp_path}",
        *agent,
        "max_rounds=2",
        "data.limit=20",
    )
    result = run_evaluation(cfg, tmp_path / "run")
    with_intents = sum(o["intents"] > 0 for o in result["outcomes"])
    incomplete = sum(o["errors"].get("incomplete", 0) for o in result["outcomes"])
    assert 0 < with_intents < 20, reason  # some queries are fully specified: not counted
    # Every underspecified query ends with an intent never clarified; the rate is over those
    # queries (the paper's denominator), not over all 20.
    assert incomplete == with_intents, reason
    assert result["metrics"]["err_incomplete"] == pytest.approx(1.0), reason


def test_the_realised_error_mix_matches_the_configured_one(gen_cfg, tmp_path):
    from asktoact.data.build import build

    manifest = build(gen_cfg("data.n=2000", "augmentation.ratio=0.3"), tmp_path)
    aug = manifest["augmentation"]
    assert aug["shortfall"] == 0 and aug["augmented"] == aug["target"]
    for kind, share in aug["mix_configured"].items():
        assert abs(aug["mix_realised"][kind] - share) <= 0.02, kind
    counts = manifest["splits"]["train"]["error_types"]
    assert sum(counts.values()) == aug["augmented"]


# -- 4. results that come from the settings they claim -----------------------------------------
def test_dataset_and_evaluation_stores_are_keyed_by_the_resolved_config(tmp_path, compose):
    from asktoact.jobs import job

    def cfg(*extra):
        quick = ("generate.data.n=150", "generate.quality.enabled=false")
        return compose("job", *quick, f"data_root={tmp_path}", f"cache_dir={tmp_path}/c", *extra)

    a = job.dataset(cfg())
    stamp = (a / "manifest.json").stat().st_mtime_ns
    assert job.dataset(cfg()) == a and (a / "manifest.json").stat().st_mtime_ns == stamp
    b = job.dataset(cfg("generate.sampling.removal_prob=0.9"))
    assert b != a and (b / "manifest.json").exists()
    assert "removal_prob: 0.9" in (b / "config.yaml").read_text()


# Overrides that move a job's caches, logger and workers: no store key may change with them.
_PLACES = (
    "cache_dir=/elsewhere/cache",
    "generate.llm.cache_path=/elsewhere/llm.sqlite",
    "agent.client.cache_path=/elsewhere/agent.sqlite",
    "evaluate.simulator.client.cache_path=/elsewhere/simulator.sqlite",
    "logger@train.logger=wandb",
    "logger@evaluate.logger=csv",
    "train.data.num_workers=3",
)


def _leaves(data, path=""):
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, f"{path}.{key}" if path else str(key))
    else:
        yield path


def _source(root, path: str) -> str:
    """Where the leaf ``path`` is set: through a node that names another (``${agent}``), the
    named node's leaf (setting it under the reference would replace the whole node)."""
    import re

    parts, node = path.split("."), root
    for i, part in enumerate(parts[:-1]):
        node = node._get_node(part)
        named = re.fullmatch(r"\$\{(\w[\w.]*)\}", str(node._value()))
        if node._is_interpolation() and named:
            return _source(root, ".".join([named.group(1), *parts[i + 1 :]]))
    return path


def _changed(root, path: str):
    """A copy of the config ``root`` with the leaf ``path`` set to another value its type
    accepts."""
    import copy
    import dataclasses
    import typing

    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    path = _source(root, path)
    old = OmegaConf.select(root, path)
    candidates = [not old] if isinstance(old, bool) else []
    if OmegaConf.is_list(old):
        old = OmegaConf.to_container(old, resolve=True)
        candidates += [old[:-1], old + old[:1]]
    if isinstance(old, int | float) and not isinstance(old, bool):
        candidates.append(old + 1)
    candidates += [f"{old}-changed", 7, 0.25, True, ["changed"], [7], {"changed": 1}, None]
    parent, _, leaf = path.rpartition(".")
    schema = OmegaConf.select(root, parent)._get_node(leaf)._metadata.ref_type
    schema = next((t for t in (schema, *typing.get_args(schema)) if dataclasses.is_dataclass(t)), 0)
    if schema:  # a null node of a schema (train.generate): one of that schema
        candidates.append(OmegaConf.structured(schema))
    for value in candidates:
        if value == old and type(value) is type(old):
            continue
        other = copy.deepcopy(root)
        try:
            OmegaConf.update(other, path, value, merge=False)
        except (OmegaConfBaseException, ValueError, TypeError):
            continue
        return other
    raise AssertionError(f"no other value for {path} (was {old!r})")


def test_where_things_go_changes_no_store_key_and_every_other_field_does(compose):
    """Run identity is said once, by the schemas' ``identity`` marks. Moving the cache folder,
    the LLM caches, the loggers or the worker count (composed as a user would) changes no step's
    store key; setting any other leaf of a step node to another value changes that step's key,
    and setting a marked one changes none."""
    from omegaconf import OmegaConf

    from asktoact.identity import config_hash, marked_keys
    from asktoact.jobs import job

    base = ("llm@generate.llm=offline", "agent=litellm", "simulator@evaluate.simulator=litellm")
    keys = {}
    for extra in ((), _PLACES):
        cfg = compose("job", *base, *extra)
        keys[extra] = {s: config_hash(job.step_identity(s, cfg[s])) for s in job.STEPS}
    assert keys[()] == keys[_PLACES]
    for step in ("generate", "train", "evaluate", "rl"):
        key = config_hash(job.step_identity(step, cfg[step]))
        free = (*marked_keys(cfg[step]), *job.STEPS[step])
        leaves = list(_leaves(OmegaConf.to_container(cfg[step], resolve=True)))
        assert len(leaves) > 20 and len(free) >= 3, (step, free)
        for leaf in leaves:
            is_free = any(leaf == k or leaf.startswith(k + ".") for k in free)
            other = config_hash(job.step_identity(step, _changed(cfg, f"{step}.{leaf}")[step]))
            assert (other == key) == is_free, f"{step}.{leaf} (free: {is_free})"


def test_evaluation_stores_are_keyed_by_personas_simulator_and_reward_table(
    tmp_path, compose, dataset, monkeypatch
):
    """A new persona, another simulator setting or another reward table never reuses a stored
    evaluation: each gives another store entry."""
    import dataclasses

    from asktoact.eval import personas
    from asktoact.jobs import job

    def store(*evaluate: str) -> str:
        over = [f"evaluate.{o}" for o in evaluate]
        cfg = compose("job", f"eval_root={tmp_path}", f"cache_dir={tmp_path}", *over)
        return job.evaluation_store(cfg, "/models/m/merged", dataset)[1].name

    base = store()
    assert store() == base  # the same settings: the same entry
    assert store("simulator.match_threshold=0.6") != base
    assert store("reward.irm.exact=2.0") != base
    cold = personas.PERSONAS["cold_fish"]
    extra = dataclasses.replace(cold, key="stoic", name="Stoic")
    monkeypatch.setitem(personas.PERSONAS, "stoic", extra)  # one persona more
    assert store() != base


def test_a_change_to_the_scoring_code_never_reuses_a_stored_evaluation(
    tmp_path, compose, dataset, monkeypatch
):
    """Code that counts or matches questions differently (here: a stand-in module whose source
    changes) gives another protocol fingerprint, hence another store entry and no resume."""
    import types

    from asktoact.eval import protocol
    from asktoact.jobs import job

    def store() -> str:
        cfg = compose("job", f"eval_root={tmp_path}", f"cache_dir={tmp_path}")
        return job.evaluation_store(cfg, "/models/m/merged", dataset)[1].name

    source = tmp_path / "matcher.py"
    source.write_text("THRESHOLD = 0.5\n")
    stand_in = types.SimpleNamespace(__file__=str(source))
    monkeypatch.setattr(protocol, "_PROTOCOL_MODULES", (*protocol._PROTOCOL_MODULES, stand_in))
    protocol.source_digest.cache_clear()
    before, entry = protocol.fingerprint(), store()
    source.write_text("THRESHOLD = 0.4\n")
    protocol.source_digest.cache_clear()
    assert protocol.fingerprint() != before and store() != entry
    protocol.source_digest.cache_clear()


@pytest.mark.slow
def test_a_changed_setting_never_resumes_an_old_checkpoint(tmp_path, compose, build_dataset):
    from asktoact.config import ConfigError
    from asktoact.train.run import run_training

    data = build_dataset("data.n=120")
    base = [f"data.path={data}", f"cache_dir={tmp_path}", "logger=none", "+debug=fast"]
    run_training(compose("train", *base, "trainer.max_steps=2"), tmp_path / "run")
    again = run_training(compose("train", *base, "trainer.max_steps=3"), tmp_path / "run")
    assert again["resumed_from"].endswith("last.ckpt")  # extending a run is resuming it
    with pytest.raises(ConfigError, match=r"changed: adapter\.lr.*resume=false"):
        run_training(compose("train", *base, "adapter.lr=0.5"), tmp_path / "run")
    fresh = run_training(
        compose("train", *base, "adapter.lr=0.5", "resume=false"), tmp_path / "run"
    )
    assert fresh["resumed_from"] is None


# -- 5. uncertainty on every number --------------------------------------------------------------
def outcome(i: int, clarified: int, prs: float) -> Outcome:
    return Outcome(f"q{i}", 2, clarified, 2, True, 1.0, prs, 1, {})


def test_paired_bootstrap_separates_a_real_difference_from_noise():
    better = [outcome(i, 2, 0.9) for i in range(60)]
    worse = [outcome(i, 1 + (i % 2), 0.5) for i in range(60)]
    real = DialogueTask().paired_difference(better, worse, seed=1)
    assert real["n"] == 60
    assert real["metrics"]["PRS"]["significant"] and real["metrics"]["PRS"][
        "diff"
    ] == pytest.approx(0.4)
    assert real["metrics"]["ICR"]["low"] > 0
    same = DialogueTask().paired_difference(better, list(better), seed=1)
    assert not any(v["significant"] for v in same["metrics"].values())


def test_holm_adjusts_by_rank_and_keeps_the_order():
    from asktoact.eval.metrics import holm

    # hand-computed: sorted 0.01, 0.02, 0.03, 0.5 times 4, 3, 2, 1 -> 0.04, 0.06, 0.06 (running
    # maximum over 0.06), 0.5; returned in the input's order
    assert holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []


def test_bootstrap_p_is_twice_the_far_tail():
    import numpy as np

    from asktoact.eval.metrics import difference

    samples = np.array([-1.0] * 3 + [1.0] * 97)  # 3 % of the resamples at or below 0
    assert difference(1.0, samples)["p"] == pytest.approx(0.06)
    assert difference(0.0, np.zeros(50))["p"] == 1.0  # no difference at all


def test_a_table_marks_only_the_effects_that_survive_holm(tmp_path):
    """27 tests, one clear effect and 26 borderline ones: the clear one survives the
    adjustment (†), the borderline ones are marked * at most."""
    from asktoact.report.tables import _holm_adjust

    entries = [{"comparison": "a − b", "X p": 0.0001}] + [
        {"comparison": f"c{i} − b", "X p": 0.04} for i in range(26)
    ]
    _holm_adjust(entries, ["X"])
    assert entries[0]["X holds"] and entries[0]["X holm"] == pytest.approx(0.0027)
    assert not any(e["X holds"] for e in entries[1:])
    assert all(e["X holm"] == pytest.approx(1.0) for e in entries[1:])


def test_tables_show_n_intervals_and_differences(tmp_path):
    dialogues = DialogueTask()
    from asktoact.report.tables import write_tables

    runs = []
    for adapter, quality in (("none", 0.3), ("lora", 0.8)):
        outs = [outcome(i, 1 + (i % 2), quality) for i in range(40)]
        labels = {"experiment_name": "main", "adapter_name": adapter, "pretrained": True}
        trained = (
            {"global_step": 25, "encoding": {"train_examples": 200, "augmented": 60}}
            if adapter != "none"
            else {}
        )
        runs.append(
            {
                "labels": {
                    **labels,
                    "scale": "small",
                    "eval_source": "demo (in-domain test split)",
                },
                "metrics": dialogues.aggregate(outs),
                "intervals": dialogues.intervals(outs),
                "outcomes": [o.to_dict() for o in outs],
                "training": trained,
            }
        )
    written = {p.name: p for p in write_tables(runs, tmp_path)}
    md = written["main.md"].read_text()
    assert "Scale: small. Evaluated on: demo (in-domain test split)." in md
    # N queries, the 200 dialogues (60 with an error-correction pair) and 25 steps it trained
    # on (– for the untrained base)
    assert re.search(
        r"\| lora \| ASKToACT-LoRA-SFT-7B \| .* \| 40 \| 200 \| 60 \| 25 \| 75\.0 \[\d+\.\d, \d+\.\d\] \(57\.7\)",
        md,
    )
    assert re.search(r"\| none \| .* \| 40 \| – \| – \| – \| ", md)
    assert re.search(r"\| lora − none \| 40 \|.*\| \+50\.0 \[\+\d+\.\d, \+\d+\.\d\] \*", md)
    header = md.splitlines()[6]
    # row, paper row, model, kind, N, train N, aug, steps and 7 metrics: 15 columns
    assert header.count("|") == 16
    # the format/behaviour table: outcomes written before its columns show "–", not a number
    assert (
        "## Format and behaviour" in md and "| row | N | ASK | PARSE | QP | ICR@P | PRS@P |" in md
    )
    assert "| lora | 40 | – | – | – | – | – |" in md
    csv_head = written["main.csv"].read_text().splitlines()[0]
    assert "PRS low" in csv_head and "PRS paper" in csv_head
    diffs_csv = written["main_differences.csv"].read_text()
    assert "PRS significant" in diffs_csv and "PRS holm" in diffs_csv and "PRS holds" in diffs_csv
    assert re.search(r"\| lora − none \| 40 \|.*\| \+50\.0 \[\+\d+\.\d, \+\d+\.\d\] \*†", md)
    assert r"\begin{tabular}" in written["main.tex"].read_text()


# -- 6. Table 4 and the API baselines of Table 3 -------------------------------------------------
def test_table4_is_built_from_recorded_chat_sessions(tmp_path):
    from asktoact.report.human import write_table4

    sessions = [
        {
            "agent": "base",
            "completed": True,
            "intents": 2,
            "clarified": 1,
            "rounds": 3,
            "satisfaction": 3,
        },
        {
            "agent": "base",
            "completed": False,
            "intents": 2,
            "clarified": 2,
            "rounds": 4,
            "satisfaction": 4,
        },
        {
            "agent": "lora",
            "completed": True,
            "intents": 1,
            "clarified": 1,
            "rounds": 1,
            "satisfaction": 5,
        },
        {  # input closed before rating: counts for intent coverage and rounds only
            "agent": "lora",
            "completed": None,
            "intents": 1,
            "clarified": 0,
            "rounds": 3,
            "satisfaction": None,
        },
    ]
    (tmp_path / "chat" / "a").mkdir(parents=True)
    (tmp_path / "chat" / "a" / "chat_transcripts.jsonl").write_text(
        "".join(json.dumps(s) + "\n" for s in sessions)
    )
    md, _ = write_table4([tmp_path / "chat"], tmp_path / "reports")
    text = md.read_text()
    assert "| base | 2 (2) | 50.0 | 75.0 | 3.50 | 3.50 |" in text
    assert "| lora | 2 (1) | 100.0 | 50.0 | 2.00 | 5.00 |" in text
    assert "86.67" in text  # the paper's row beside ours


def test_main_takes_api_model_rows(tmp_path, compose):
    from asktoact.jobs import job

    reply = '[SUMMARY] [{"task": "x", "arguments": []}]'
    cfg = compose(
        "job",
        "experiment=main",
        "agent=litellm",
        "agent.client.model=gpt-4o",
        "generate.data.n=150",
        "generate.quality.enabled=false",
        "evaluate.data.limit=3",
        "evaluate.max_rounds=1",
        f"data_root={tmp_path}/d",
        f"model_root={tmp_path}/m",
        f"eval_root={tmp_path}/e",
        f"cache_dir={tmp_path}/c",
    )
    cfg.agent.client.mock_response = reply  # JSON quotes: set here
    out = job.run_job(cfg, tmp_path / "run")
    assert out["labels"]["adapter_name"] == "api:gpt-4o" and out["metrics"]["SCR"] == 1.0
    assert not (tmp_path / "m").exists()  # nothing was trained
    from asktoact.report.tables import load_spec, rows_for

    (row,) = rows_for("main", [out], load_spec("main"))
    assert row["paper_row"] == "GPT-4o" and row["kind"] == "API model"
