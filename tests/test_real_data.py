"""Real data at the paper's shape: BFCL folders as they come, values located the way real requests
write them, and no selection bias from rows the rules backend cannot transform."""

from __future__ import annotations

import json

import pytest

from asktoact.data import locate
from asktoact.data.build import build
from asktoact.data.sources import bfcl
from asktoact.data.sources.base import Rejects
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("drive 15,000 miles a year", 15000),
        ("a home loan of $700,000 from", 700000),
        ("Order three bottles of olive oil", 3),
        ("for twenty-one nights", 21),
        ("at an annual interest rate of 5%", 0.05),
        ("the land area is 8.5 million square kilometers", 8500000),
        ("starting from 10th December 2022.", "2022-12-10"),
        ("on the 10th of January, 2023. In order", "2023-01-10"),
        ("book a flight on September 1, 2022?", "2022-09-01"),
        ("for 2 nights starting from 15th October,2023.", "15-10-2023"),
        ("Find an all vegan restaurant in San Francisco CA", "San Francisco, CA"),
        ("the function f(x) = 3x^2 from 1 to 2", "3x**2"),
        ("variables including 'Age', 'Income', 'Education', 'Gender'", ["Age", "Income"]),
    ],
)
def test_values_are_found_as_real_requests_write_them(text, value):
    assert locate.locatable(text, value), (text, value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("due on 2026-03-02", 2),  # a number inside a date is not the number
        ("exchange rate from British Pounds to Yen", "GBP"),  # no rule turns a name into a code
        ("avoiding highways and toll roads", ["highways", "tolls"]),  # not every element
        ("Include dissent information.", True),  # a rule cannot tell where a boolean is said
    ],
)
def test_what_a_rule_cannot_find_stays_unlocated(text, value):
    assert not locate.locatable(text, value)


def test_a_value_sharing_text_with_another_is_not_removable_unless_it_is_the_same():
    tool = ToolSpec("t", "", (ParamSpec("a"), ParamSpec("b"), ParamSpec("c")))
    ex = Example(
        "x",
        "demo",
        "Compare cards 10 and 9 with A and 10 in Lisbon.",
        (tool,),
        (ToolCall("t", (("a", ["10", "9"]), ("b", ["A", "10"]), ("c", "Lisbon"))),),
    )
    assert locate.removable_params(ex) == {(0, "c")}
    two = ToolSpec("u", "", (ParamSpec("city"),))
    shared = Example(
        "y",
        "demo",
        "Weather and hotels in Lisbon.",
        (tool, two),
        (ToolCall("t", (("c", "Lisbon"),)), ToolCall("u", (("city", "Lisbon"),))),
    )
    assert locate.removable_params(shared) == {
        (0, "c"),
        (1, "city"),
    }  # one intent, removed together


def _write_category(folder, name, rows, answers=None):
    (folder / f"BFCL_v4_{name}.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if answers is not None:
        (folder / "possible_answer").mkdir(exist_ok=True)
        path = folder / "possible_answer" / f"BFCL_v4_{name}.json"
        path.write_text("".join(json.dumps(a) + "\n" for a in answers))


def test_the_bfcl_loader_reads_the_categories_a_folder_has(tmp_path):
    func = {
        "name": "get_weather",
        "description": "Weather for a city.",
        "parameters": {"type": "dict", "properties": {"city": {"type": "string"}}},
    }
    rows = [
        {
            "id": f"live_multiple_{k}",
            "question": [[{"role": "user", "content": f"Weather in {c}?"}]],
            "function": [func],
        }
        for k, c in enumerate(["Lisbon", "Osaka", "Quito"])
    ]
    answers = [
        {"id": r["id"], "ground_truth": [{"get_weather": {"city": [c]}}]}
        for r, c in zip(rows, ["Lisbon", "Osaka", "Quito"], strict=True)
    ]
    _write_category(tmp_path, "live_multiple", rows, answers)
    multi = [
        {
            "id": "multi_turn_base_0",
            "question": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]],
            "initial_config": {},
            "function": [func],
        }
        for _ in range(4)
    ]
    _write_category(
        tmp_path, "multi_turn_base", multi, [{"id": "multi_turn_base_0", "ground_truth": [["f()"]]}]
    )
    _write_category(tmp_path, "irrelevance", rows[:2])  # no possible_answer file

    rejects = Rejects()
    examples = bfcl.load(str(tmp_path), rejects=rejects)
    assert [e.id for e in examples] == [f"bfcl-live_multiple_{k}" for k in range(3)]
    assert [e.domain for e in examples] == ["live_multiple"] * 3
    by_file = {r["row"]: r["reason"] for r in rejects.rows}
    assert len(rejects.rows) == 2  # once per unreadable file, not once per row
    assert "multi-turn" in by_file["BFCL_v4_multi_turn_base.json"]
    assert "no possible_answer" in by_file["BFCL_v4_irrelevance.json"]
    only = bfcl.load(str(tmp_path), categories=["live_multiple"], rejects=Rejects())
    assert len(only) == 3
    with pytest.raises(FileNotFoundError, match="BFCL_v4_simple_python.json"):
        bfcl.load(str(tmp_path), categories=["simple_python"])


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [
        ("bfcl", "bfcl"),
        ("taskbench", "taskbench_dailylifeapis"),
        ("taskbench", "taskbench_dailylifeapis_more"),
    ],
)
def test_real_sources_lose_few_rows_and_keep_the_drawn_levels(gen_cfg, tmp_path, shared, source):
    kind, folder = source
    cfg = gen_cfg(f"data={kind}", f"data.path={shared(folder)}", "quality.enabled=true")
    manifest = build(cfg, tmp_path)
    loaded = manifest["counts"]["loaded"]
    dropped = [json.loads(x) for x in (tmp_path / "dropped.jsonl").read_text().splitlines()]
    unlocatable = [d for d in dropped if "not found in the query" in d["reason"]]
    assert len(unlocatable) <= 0.05 * loaded
    assert len(dropped) <= 0.05 * loaded  # every stage together, too
    levels = manifest["sampling"]["levels"]
    assert set(levels) == {"drawn", "underspecify", "quality", "clarify"}
    drawn, kept = levels["drawn"], levels["clarify"]
    for level in drawn:
        share = drawn[level] / sum(drawn.values()) - kept[level] / sum(kept.values())
        assert abs(share) <= 0.05, (level, drawn, kept)
    assert manifest["sampling"]["restricted_to_locatable"]
    assert 0 <= manifest["sampling"]["rows_with_no_locatable_parameter"] < loaded


def test_the_dataset_report_shows_table_1_and_drawn_against_kept_levels(gen_cfg, tmp_path):
    from asktoact.report.dataset import render

    manifest = build(gen_cfg("data.n=150"), tmp_path)
    text = render({"demo": manifest})
    assert "| avg unspecified intents |" in text and "1.32" in text and "1.3" in text
    assert "| level | drawn | underspecify | quality | clarify |" in text
    assert "Rows with no value a rule can locate" in text
