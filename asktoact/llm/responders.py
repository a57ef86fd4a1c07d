"""The registry of offline responders: how each LLM stage's prompt is answered by rule.

A stage registers ``fn(messages, rng)`` under its task name next to its prompt; the offline
provider (:mod:`asktoact.llm.offline`) looks it up. Kept apart from the provider so that
registering imports nothing heavy (litellm is only imported when an offline call is made).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from asktoact.llm.repair import without_repairs

Responder = Callable[[list[dict[str, str]], random.Random], Any]
_RESPONDERS: dict[str, Responder] = {}


def register_responder(task: str, fn: Responder) -> Responder:
    """Answer requests of ``task`` with ``fn(messages, rng)`` (a JSON-able value or a string)."""
    _RESPONDERS[task] = fn
    return fn


def json_payload(messages: list[dict[str, str]]) -> dict[str, Any]:
    """The JSON object of the first user message: how the project's JSON stages send their input
    (the first one, so that a repair conversation is answered from the original request)."""
    return json.loads(next(m["content"] for m in messages if m["role"] == "user"))


def respond(messages: list[dict[str, str]], task: str) -> str:
    """The reply for one request; seeded by the request text (repair rounds left out), so
    identical requests agree and a repaired request gets the answer the original would have."""
    fn = _RESPONDERS.get(task)
    if fn is None:
        known = ", ".join(sorted(_RESPONDERS)) or "none registered"
        reply: Any = {"error": f"no offline responder for task {task!r} (known: {known})"}
    else:
        messages = without_repairs(messages)
        rng = random.Random(json.dumps(messages, sort_keys=True))
        try:
            reply = fn(messages, rng)
        except (ValueError, KeyError, TypeError, StopIteration) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
    return reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False, default=str)


register_responder("probe", lambda messages, rng: "OK")  # LLMClient.probe: is the model there?
