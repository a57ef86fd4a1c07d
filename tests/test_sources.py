"""Loaders: xlam fixture (good and malformed rows), BFCL and TaskBench on ../shared/data, demo."""

from __future__ import annotations

import json

import pytest

from asktoact.data.locate import value_in_text
from asktoact.data.sources import bfcl, demo, taskbench, xlam
from asktoact.data.sources.base import Rejects, normalise_type
from asktoact.errors import MissingInput


def test_xlam_fixture_loads_good_rows_and_rejects_each_bad_one(fixtures_dir):
    rejects = Rejects()
    examples = xlam.load(path=str(fixtures_dir / "xlam_sample.jsonl"), rejects=rejects)
    assert [e.id for e in examples] == ["xlam-1", "xlam-2", "xlam-3", "xlam-4", "xlam-5"]
    first = examples[0]
    assert first.solution[0].to_dict() == {
        "task": "get_weather",
        "arguments": [{"name": "city", "value": "Lisbon"}, {"name": "units", "value": "imperial"}],
    }
    units = first.tool("get_weather").param("units")
    assert (units.type, units.required) == ("string", False)  # "str, optional"
    by_row = {r["row"]: r for r in rejects.rows}
    assert by_row[6]["field"] == "query" and by_row[6]["reason"] == "missing field"
    assert by_row[7]["field"] == "tools" and "unparsable JSON" in by_row[7]["reason"]
    assert "unknown tool 'get_forecast'" in by_row[8]["reason"]
    assert by_row[9]["field"] == "solution[0].arguments.town"
    assert by_row["xlam_sample.jsonl:10"]["field"] == "line"
    assert len(rejects.rows) == 5
    assert all("raw" in r for r in rejects.rows)  # the rejected row is kept, not lost


def test_rejects_file_round_trips(tmp_path, fixtures_dir):
    rejects = Rejects()
    xlam.load(path=str(fixtures_dir / "xlam_sample.jsonl"), rejects=rejects)
    rejects.write(tmp_path / "rejects.jsonl")
    lines = (tmp_path / "rejects.jsonl").read_text().splitlines()
    assert [json.loads(line)["row"] for line in lines] == [r["row"] for r in rejects.rows]


def test_normalise_type_handles_source_spellings():
    assert normalise_type("str, optional") == ("string", True)
    assert normalise_type("List[int]") == ("array", False)
    assert normalise_type("dict") == ("object", False)
    assert normalise_type("float") == ("number", False)
    assert normalise_type(None) == ("string", False)


def test_bfcl_picks_first_value_and_skips_omittable_parameters(shared):
    rejects = Rejects()
    examples = {e.id: e for e in bfcl.load(str(shared("bfcl")), rejects=rejects)}
    assert len(examples) == 800 and not rejects.rows
    tri = examples["bfcl-multiple_0"]
    # ground truth: side1 [5], side2 [4], side3 [3], get_area ["", true] ... -> omittable skipped
    assert tri.solution[0].args == {"side1": 5, "side2": 4, "side3": 3}
    assert tri.domain == "multiple" and len(tri.tools) > 1
    assert (
        examples["bfcl-simple_python_0"].tool("calculate_triangle_area").param("unit").required
        is False
    )
    assert any(len(e.solution) > 1 for e in examples.values() if e.domain == "parallel")


def test_taskbench_loads_rows_and_rejects_misspelt_arguments(shared):
    rejects = Rejects()
    examples = taskbench.load(str(shared("taskbench_dailylifeapis")), rejects=rejects)
    assert len(examples) + len(rejects.rows) == 35
    assert examples[0].solution[0].to_dict() == {
        "task": "play_movie_by_title",
        "arguments": [{"name": "title", "value": "Inception"}],
    }
    reasons = {r["row"]: r["reason"] for r in rejects.rows}
    assert (
        reasons["38563456"] == "unknown parameter 'transfer_insstruction' for tool 'online_banking'"
    )


def test_demo_rows_are_seeded_prefix_stable_and_state_every_value():
    rows = demo.load(n=300, seed=3)
    assert [r.to_dict() for r in demo.load(n=50, seed=3)] == [r.to_dict() for r in rows[:50]]
    assert demo.load(n=5, seed=4)[0].to_dict() != rows[0].to_dict()
    assert {len(r.solution) for r in rows} == {1, 2, 3, 4}
    assert len({r.domain for r in rows}) >= 10
    for r in rows:
        names = {t.name for t in r.tools}
        assert {c.task for c in r.solution} < names  # distractor tools are listed too
        for call in r.solution:
            for name, value in call.arguments:
                assert r.tool(call.task).param(name) is not None
                items = value if isinstance(value, list) else [value]
                assert all(value_in_text(r.query, v) for v in items), (r.query, name, value)


def _taskbench_files(folder):
    """A one-tool, one-row TaskBench folder in the hub's layout (``data_dailylifeapis/``)."""
    sub = folder / "data_dailylifeapis"
    sub.mkdir(parents=True)
    tool = {"id": "get_weather", "desc": "Weather of a city on a day", "parameters": []}
    tool["parameters"] = [{"name": "location", "type": "string", "desc": "The city"}]
    (sub / "tool_desc.json").write_text(json.dumps({"nodes": [tool]}))
    row = {"id": "1", "instruction": "What's the weather in Lisbon?"}
    row["task_nodes"] = [
        {"task": "get_weather", "arguments": [{"name": "location", "value": "Lisbon"}]}
    ]
    (sub / "data.json").write_text(json.dumps(row) + "\n")
    return sub


def test_taskbench_comes_from_the_hub_when_no_folder_is_given(tmp_path, monkeypatch):
    import huggingface_hub

    hub = tmp_path / "hub"
    _taskbench_files(hub)
    asked = []

    def download(repo_id, filename, repo_type):
        asked.append((repo_id, filename, repo_type))
        return str(hub / filename)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    (example,) = taskbench.load(str(tmp_path / "absent"))
    assert example.solution[0].to_dict()["arguments"] == [{"name": "location", "value": "Lisbon"}]
    assert asked == [
        ("microsoft/Taskbench", "data_dailylifeapis/tool_desc.json", "dataset"),
        ("microsoft/Taskbench", "data_dailylifeapis/data.json", "dataset"),
    ]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # offline and no folder: an error naming data.path
    with pytest.raises(MissingInput, match="data.path=.*absent: no TaskBench folder there"):
        taskbench.load(str(tmp_path / "absent"))
    assert len(asked) == 2  # offline: the hub was not asked again


def _resource_domain(folder, subset, rows):
    """A TaskBench folder of resource tools (Hugging Face / Multimedia layout): inputs by type,
    arguments by position."""
    sub = folder / subset
    sub.mkdir(parents=True)
    nodes = [
        {"id": "Image-to-Text", "desc": "Text in an image", "input-type": ["image"]},
        {"id": "Text Merger", "desc": "Joins two texts", "input-type": ["text", "text"]},
    ]
    (sub / "tool_desc.json").write_text(json.dumps({"nodes": nodes}))
    (sub / "data.json").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_taskbench_resource_domains_name_positional_arguments_by_input_type(tmp_path):
    """Hugging Face / Multimedia rows: parameters named by input type (text, text_2), each
    positional argument the input at its position; one too many is a reject naming it; a
    second domain loads beside the daily-life one with its own ids and domain."""
    ok = {"id": "7", "instruction": "Read the sign in sign.jpg and join it with 'hello'."}
    ok["task_nodes"] = [
        {"task": "Image-to-Text", "arguments": ["sign.jpg"]},
        {"task": "Text Merger", "arguments": ["<node-0>", "hello"]},
    ]
    extra = {"id": "8", "instruction": "Read a.jpg", "task_nodes": []}
    extra["task_nodes"] = [{"task": "Image-to-Text", "arguments": ["a.jpg", "b.jpg"]}]
    _resource_domain(tmp_path, "data_huggingface", [ok, extra])
    _taskbench_files(tmp_path)  # data_dailylifeapis/, its row id "1"
    rejects = Rejects()
    subsets = ["data_dailylifeapis", "data_huggingface"]
    examples = taskbench.load(str(tmp_path), subsets=subsets, rejects=rejects)
    assert [(e.id, e.domain) for e in examples] == [
        ("taskbench-1", "dailylifeapis"),
        ("taskbench-huggingface-7", "huggingface"),
    ]
    merge = examples[1].tool("Text Merger")
    assert [p.name for p in merge.parameters] == ["text", "text_2"]
    assert examples[1].solution[1].to_dict()["arguments"] == [
        {"name": "text", "value": "<node-0>"},
        {"name": "text_2", "value": "hello"},
    ]
    (reject,) = rejects.rows
    assert reject["row"] == "8" and "beyond 'Image-to-Text''s 1 inputs" in reject["reason"]
    assert reject["field"] == "task_nodes[0].arguments[1]"  # the field it names
    assert taskbench.domain_of(tmp_path / "taskbench_dailylifeapis_more") == "dailylifeapis"
