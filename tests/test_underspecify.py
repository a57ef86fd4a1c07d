"""Removal strategies of the rules backend, its failure reasons, and the LLM backend's validation."""

from __future__ import annotations

import json
import random

import pytest

from asktoact.data import underspecify
from asktoact.data.sampling import Sample
from asktoact.data.underspecify import StageError, rules_record
from asktoact.schema import Example, ParamSpec, ToolCall, ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Weather for a city on a day.",
    (
        ParamSpec("city", "string", "City name."),
        ParamSpec("date", "string", "Day, YYYY-MM-DD."),
        ParamSpec("units", "string", "metric or imperial.", required=False),
    ),
)
GROUP = ToolSpec(
    "invite", "Add people to a chat.", (ParamSpec("members", "array", "People to add."),)
)


def ex(query: str, calls: list[ToolCall], tools=(WEATHER, GROUP)) -> Example:
    return Example("t-1", "test", query, tuple(tools), tuple(calls))


CALL = ToolCall("get_weather", (("city", "Lisbon"), ("date", "2026-05-01"), ("units", "metric")))
QUERY = "What is the metric weather in Lisbon on 2026-05-01?"


def test_complete_removal_deletes_value_and_its_preposition():
    rec = rules_record(
        ex(QUERY, [CALL]), Sample(1, ((0, "city"),)), random.Random(0), removal_prob=1.0
    )
    arg = rec.key_info[0].arguments["city"]
    assert rec.unspecified_query == "What is the metric weather on 2026-05-01?"
    assert (arg.strategy, arg.original_value, arg.current_value, arg.removed) == (
        "removal",
        "Lisbon",
        "",
        True,
    )
    kept = rec.key_info[0].arguments["date"]
    assert (kept.removed, kept.original_value, kept.current_value) == (
        False,
        "2026-05-01",
        "2026-05-01",
    )


def test_semantic_abstraction_uses_a_typed_phrase():
    rec = rules_record(
        ex(QUERY, [CALL]), Sample(2, ((0, "city"), (0, "date"))), random.Random(0), 0.0
    )
    assert (
        rec.unspecified_query == "What is the metric weather in a certain city on a specific date?"
    )
    assert rec.key_info[0].arguments["date"].current_value == "a specific date"


def test_optional_parameter_is_abstracted_never_deleted():
    rec = rules_record(
        ex(QUERY, [CALL]), Sample(1, ((0, "units"),)), random.Random(0), removal_prob=1.0
    )
    assert rec.key_info[0].arguments["units"].strategy == "abstraction"
    assert "metric" not in rec.unspecified_query


def test_repeated_api_is_abstracted_never_deleted():
    calls = [
        ToolCall("get_weather", (("city", "Oslo"),)),
        ToolCall("get_weather", (("city", "Quito"),)),
    ]
    rec = rules_record(
        ex("Weather in Oslo and in Quito?", calls), Sample(1, ((1, "city"),)), random.Random(0), 1.0
    )
    assert rec.unspecified_query == "Weather in Oslo and in a certain city?"


def test_partial_obfuscation_hides_one_list_element():
    call = ToolCall("invite", (("members", ["Ana", "Bo", "Cy"]),))
    rec = rules_record(
        ex("Invite Ana, Bo and Cy to the chat.", [call]),
        Sample(1, ((0, "members"),)),
        random.Random(1),
    )
    arg = rec.key_info[0].arguments["members"]
    assert arg.strategy == "partial" and arg.current_value == "one more member"
    hidden = arg.original_value
    assert hidden in ("Ana", "Bo", "Cy") and hidden not in rec.unspecified_query
    assert sum(name in rec.unspecified_query for name in ("Ana", "Bo", "Cy")) == 2
    assert arg.value == ["Ana", "Bo", "Cy"]  # the solution keeps the whole list


def test_value_matching_is_whole_token():
    call = ToolCall("get_weather", (("city", "Lisbon"), ("date", "2026-05-02"), ("units", "2")))
    q = "Lisbon on 2026-05-02 with 2 units"
    rec = rules_record(ex(q, [call]), Sample(1, ((0, "units"),)), random.Random(0), 0.0)
    assert "2026-05-02" in rec.unspecified_query and " 2 " not in rec.unspecified_query


def test_value_missing_from_query_fails_with_reason():
    with pytest.raises(StageError, match="get_weather.city not found"):
        rules_record(ex("Weather please.", [CALL]), Sample(1, ((0, "city"),)), random.Random(0))


def test_removal_that_would_erase_a_kept_value_fails():
    calls = [
        ToolCall("get_weather", (("city", "Oslo"),)),
        ToolCall("get_weather", (("city", "Oslo"),)),
    ]
    with pytest.raises(StageError, match="erases kept get_weather.city"):
        rules_record(
            ex("Weather in Oslo, twice: Oslo.", calls), Sample(1, ((0, "city"),)), random.Random(0)
        )


def test_llm_reply_is_validated_against_the_sample():
    e = ex(QUERY, [CALL])
    sample = Sample(1, ((0, "city"),))
    req = underspecify.llm_request(e, sample)
    payload = json.loads(req.messages[1]["content"])
    assert payload["answers"][0]["arguments"]["city"] == {"value": "Lisbon", "removed": True}
    good = {
        "unspecified_query": "What is the metric weather in some town on 2026-05-01?",
        "key_info": [
            {
                "name": "get_weather",
                "arguments": {
                    "city": {
                        "original_value": "Lisbon",
                        "current_value": "some town",
                        "removed": True,
                    },
                    "date": {
                        "original_value": "2026-05-01",
                        "current_value": "2026-05-01",
                        "removed": False,
                    },
                    "units": {
                        "original_value": "metric",
                        "current_value": "metric",
                        "removed": False,
                    },
                },
            }
        ],
    }
    rec = req.validate(good)
    assert rec.unspecified_query == good["unspecified_query"]
    assert rec.key_info[0].arguments["city"].strategy == "abstraction"
    assert rec.key_info[0].arguments["city"].value == "Lisbon"
    with pytest.raises(ValueError, match="lacks parameter 'units'"):
        del good["key_info"][0]["arguments"]["units"]
        req.validate(good)
    with pytest.raises(ValueError, match="must list 1 calls"):
        req.validate({"unspecified_query": "x", "key_info": []})
