"""A deterministic offline litellm provider for model ids ``asktoact/<anything>``.

It is not a language model. Every stage that asks an LLM registers, next to its own prompt, a
*responder* that answers that prompt by rule (:func:`register_responder`); the client sends the
stage's task name in litellm's ``metadata`` and the provider dispatches on it. Its purpose is to
run the real LLM code path (litellm call, cache, concurrency, retries, repair, resume) with no key
and no network, in tests, benchmarks and ``llm=offline`` runs. A task with no responder, or a
payload its responder cannot handle, gets an ``{"error": ...}`` reply, which the caller's
validator rejects like any bad model output. Adding an LLM stage touches only that stage.

**Fault mode** (reliability tests): a client with ``fault_rate=r`` (``fault_seed``,
``fault_kinds``) makes a share ``r`` of calls fail the way real providers do — ``rate_limit`` (429), ``server``
(500), ``timeout``, ``invalid_json`` (a reply that is not JSON; an empty reply to a free-text
request) or ``auth`` (a refused key: 401). ``auth`` is only drawn when named in ``fault_kinds``. Whether a call fails depends only on the seed, the request and the attempt number, so
retries can succeed and reruns repeat.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import litellm
from litellm import CustomLLM

from asktoact.llm.responders import respond

PROVIDER = "asktoact"
FAULT_KINDS = ("rate_limit", "server", "timeout", "invalid_json", "auth")
INVALID_JSON_REPLY = "Sorry, the service is busy (offline fault: not JSON)."


def fault_for(messages: list[dict[str, str]], attempt: int, faults: dict | None) -> str | None:
    """The fault this attempt suffers, or None; a pure function of seed, request and attempt."""
    if not faults or not faults.get("rate"):
        return None
    blob = json.dumps([faults.get("seed", 0), messages, attempt], sort_keys=True)
    digest = hashlib.sha256(blob.encode()).digest()
    if int.from_bytes(digest[:8], "big") / 2**64 >= float(faults["rate"]):
        return None
    kinds = list(faults.get("kinds") or [k for k in FAULT_KINDS if k != "auth"])
    unknown = set(kinds) - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"fault_kinds has unknown kinds {sorted(unknown)}; use {FAULT_KINDS}")
    return kinds[int.from_bytes(digest[8:12], "big") % len(kinds)]


def _raise(kind: str, model: str) -> None:
    where = {"llm_provider": PROVIDER, "model": model}
    if kind == "rate_limit":
        raise litellm.RateLimitError(message="offline fault: rate limited (429)", **where)
    if kind == "server":
        raise litellm.InternalServerError(message="offline fault: server error (500)", **where)
    if kind == "auth":
        raise litellm.AuthenticationError(message="offline fault: invalid API key (401)", **where)
    raise litellm.Timeout(message="offline fault: request timed out", **where)


class OfflineRulesLLM(CustomLLM):
    def completion(self, model: str, messages: list, *args: Any, **kwargs: Any):
        meta = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        fault = fault_for(
            messages, int(meta.get("asktoact_attempt", 1)), meta.get("asktoact_faults")
        )
        if fault in ("rate_limit", "server", "timeout", "auth"):
            _raise(fault, model)
        if fault == "invalid_json":  # the malformed reply of its kind: unparsable, or empty
            content = INVALID_JSON_REPLY if meta.get("asktoact_json", True) else ""
        else:
            content = respond(messages, str(meta.get("asktoact_task", "")))
        return litellm.ModelResponse(
            model=model, choices=[{"message": {"role": "assistant", "content": content}}]
        )

    async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any):
        return self.completion(model, messages, *args, **kwargs)


def register() -> None:
    """Make ``asktoact/<anything>`` model ids resolve to the offline provider (idempotent)."""
    if not any(item.get("provider") == PROVIDER for item in litellm.custom_provider_map):
        litellm.custom_provider_map = [
            *litellm.custom_provider_map,
            {"provider": PROVIDER, "custom_handler": OfflineRulesLLM()},
        ]
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
