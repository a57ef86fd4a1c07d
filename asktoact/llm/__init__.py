"""The LLM layer: one client (litellm, cache, retries, repair, cost) and an offline provider.

It depends on nothing else in the project but the shared base modules; stages above it own their
prompts and register their
offline responders with :func:`asktoact.llm.offline.register_responder`.
"""

from asktoact.llm.cache import ResponseCache
from asktoact.llm.client import (
    JsonRequest,
    JsonResult,
    LLMClient,
    LLMStats,
    ProviderUnavailable,
    extract_json,
    rules_backend,
)
from asktoact.llm.responders import json_payload, register_responder

__all__ = [
    "JsonRequest",
    "JsonResult",
    "LLMClient",
    "LLMStats",
    "ProviderUnavailable",
    "ResponseCache",
    "extract_json",
    "json_payload",
    "register_responder",
    "rules_backend",
]
