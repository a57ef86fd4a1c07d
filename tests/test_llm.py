"""The LLM client through litellm's mock_response: cache, repair, failures, concurrency, cost."""

from __future__ import annotations

import asyncio

import pytest

from asktoact.llm import JsonRequest, LLMClient, extract_json


@pytest.fixture(autouse=True)
def _close_clients(monkeypatch):
    """Close every client a test makes (its event loop holds litellm's logging task)."""
    made = []
    init = LLMClient.__post_init__

    def tracked(self):
        init(self)
        made.append(self)

    monkeypatch.setattr(LLMClient, "__post_init__", tracked)
    yield
    for client in made:
        client.close()


def question(obj):
    if not isinstance(obj, dict) or "question" not in obj:
        raise ValueError("expected an object with 'question'")
    return obj["question"]


def requests(n: int) -> list[JsonRequest]:
    return [
        JsonRequest(f"r{i}", [{"role": "user", "content": f"ask {i}"}], question) for i in range(n)
    ]


def test_cache_makes_a_rerun_call_nothing(tmp_path):
    client = LLMClient("gpt-4o", tmp_path / "c.sqlite", mock_response='{"question": "Which city?"}')
    first = client.run_json(requests(5))
    assert [r.value for r in first] == ["Which city?"] * 5
    assert client.stats.calls == 5 and client.stats.cost_usd > 0  # litellm prices gpt-4o tokens
    again = LLMClient("gpt-4o", tmp_path / "c.sqlite", mock_response='{"question": "Which city?"}')
    assert [r.value for r in again.run_json(requests(5))] == ["Which city?"] * 5
    assert again.stats.calls == 0 and again.stats.cache_hits == 5


def test_cache_key_depends_on_model_messages_and_params(tmp_path):
    a = LLMClient("gpt-4o", tmp_path / "c.sqlite")
    msgs = [{"role": "user", "content": "x"}]
    assert a.cache_key(msgs) != a.cache_key([{"role": "user", "content": "y"}])
    assert a.cache_key(msgs) != LLMClient("gpt-4o-mini", tmp_path / "d.sqlite").cache_key(msgs)
    assert a.cache_key(msgs) != LLMClient(
        "gpt-4o", tmp_path / "e.sqlite", temperature=0.7
    ).cache_key(msgs)


def test_invalid_reply_gets_one_repair_then_is_recorded_as_failed(tmp_path):
    client = LLMClient("gpt-4o", tmp_path / "c.sqlite", mock_response="Sorry, I cannot do that.")
    (result,) = client.run_json(requests(1))
    assert not result.ok and result.error.startswith("invalid JSON reply after one repair")
    assert client.stats.calls == 2 and client.stats.repairs == 1 and client.stats.failures == 1


def test_provider_errors_fail_the_row_not_the_run(tmp_path):
    client = LLMClient(
        "gpt-4o", tmp_path / "c.sqlite", num_retries=1, mock_response="litellm.RateLimitError"
    )
    (result,) = client.run_json(requests(1))
    assert not result.ok and "RateLimitError" in result.error


def test_concurrency_is_bounded(tmp_path, monkeypatch):
    client = LLMClient("gpt-4o", tmp_path / "c.sqlite", max_concurrency=3)
    active = peak = 0

    async def fake_call(messages, task, json_mode):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1
        return '{"question": "q"}'

    monkeypatch.setattr(client, "_call", fake_call)
    assert all(r.ok for r in client.run_json(requests(20)))
    assert peak == 3


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Here you go: {"a": [1, 2]} hope it helps', {"a": [1, 2]}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_extract_json_tolerates_wrapping(text, value):
    assert extract_json(text) == value


def test_extract_json_rejects_prose():
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("no json here")
