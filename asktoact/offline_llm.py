"""A deterministic offline litellm provider, ``asktoact/rules``, for the project's own JSON tasks.

It is not a language model: it recognises the project's prompts by their system message and
answers from the JSON payload with the rules backends. Its purpose is to run the real LLM code
path (litellm call, cache, concurrency, repair round, resume) with no key and no network, in tests,
benchmarks and ``llm=offline`` runs. A payload it cannot handle gets an ``{"error": ...}`` reply,
which the caller's validator rejects like any bad model output.
"""

from __future__ import annotations

import json
import random
from typing import Any

import litellm
from litellm import CustomLLM

from asktoact.data import augment, clarify, underspecify
from asktoact.data.clarify import step_text
from asktoact.data.phrasing import noun_for
from asktoact.data.sampling import Sample
from asktoact.schema import Example, ToolCall, ToolSpec

PROVIDER = "asktoact"


def _tools(payload: dict[str, Any]) -> tuple[ToolSpec, ...]:
    return tuple(ToolSpec.from_dict(t) for t in payload.get("tools", []))


def _underspecify(payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    calls = tuple(
        ToolCall(a["name"], tuple((n, v["value"]) for n, v in a["arguments"].items()))
        for a in payload["answers"]
    )
    removed = tuple(
        (i, n)
        for i, a in enumerate(payload["answers"])
        for n, v in a["arguments"].items()
        if v["removed"]
    )
    ex = Example("offline", "offline", payload["original_query"], _tools(payload), calls)
    rec = underspecify.rules_record(ex, Sample(1 if removed else 0, removed), rng)
    key_info = [
        {
            "name": c.name,
            "arguments": {
                n: {
                    "original_value": a.original_value,
                    "current_value": a.current_value,
                    "removed": a.removed,
                }
                for n, a in c.arguments.items()
            },
        }
        for c in rec.key_info
    ]
    return {"unspecified_query": rec.unspecified_query, "key_info": key_info}


def _clarify(payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    tools = {t.name: t for t in _tools(payload)}
    steps, questions = [], []
    for i, call in enumerate(payload["key_info"]):
        tool = tools.get(call["name"])
        steps.append(step_text(i + 1, call["name"], tool.description if tool else ""))
        for name, arg in call["arguments"].items():
            if arg.get("removed"):
                noun = noun_for(tool.param(name) if tool else None, name)
                q = rng.choice(clarify.QUESTION_TEMPLATES).format(noun=noun, api=call["name"])
                questions.append({"call": i, "param": name, "question": q})
    return {"tool_steps": steps, "questions": questions}


def _augment(system: str, payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    kind = next(k for k, p in augment.SYSTEM_PROMPTS.items() if system.startswith(p))
    api = payload.get("api") or payload["calls"][0]
    text = {
        "clearly_stated": f"What value should {payload.get('param')} have for {api}?",
        "imprecise": "Could you say a little more about that part?",
        "irrelevant": f"Would you like a short explanation of how {api} works?",
    }[kind]
    return {"question": text}


def respond(messages: list[dict[str, str]]) -> str:
    """The reply for a project prompt; seeded by the request text, so identical requests agree."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    rng = random.Random(json.dumps(messages, sort_keys=True))
    try:
        payload = json.loads(next(m["content"] for m in messages if m["role"] == "user"))
        if system == underspecify.SYSTEM_PROMPT:
            reply = _underspecify(payload, rng)
        elif system == clarify.SYSTEM_PROMPT:
            reply = _clarify(payload, rng)
        elif any(system.startswith(p) for p in augment.SYSTEM_PROMPTS.values()):
            reply = _augment(system, payload, rng)
        else:
            reply = {"error": "the offline provider only answers asktoact's own prompts"}
    except (ValueError, KeyError, StopIteration) as exc:
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    return json.dumps(reply, ensure_ascii=False, default=str)


class OfflineRulesLLM(CustomLLM):
    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any):
        content = respond(messages)
        return litellm.ModelResponse(
            model=model, choices=[{"message": {"role": "assistant", "content": content}}]
        )

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any):
        return self.completion(model, messages)


def register() -> None:
    """Make ``asktoact/<anything>`` model ids resolve to the offline provider (idempotent)."""
    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": PROVIDER, "custom_handler": OfflineRulesLLM()},
        ]
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
