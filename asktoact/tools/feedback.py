"""Which tool feedback reports an error — how MAE (TL-Training §3.1) finds erroneous turns.

TL-Training identifies an erroneous tool call from the feedback the tool returns, whose error
reports follow a few patterns (its Table 14). The rules, by category:

=========================== =====================================================================
category                    the feedback ...
=========================== =====================================================================
``tool_instability``        is a connection or HTTP failure: ``HTTPSConnectionPool(...)``, "Max
                            retries exceeded", "4xx/5xx Client|Server Error", "Connection
                            refused/reset", a time-out; or a rejected call ("Invalid API call")
``tool_call_failure``       is a Python runtime error: a traceback, "Xxx(Error|Exception): …",
                            "not supported between instances of", "is not JSON serializable"
``tool_hallucination``      says the called name does not exist: "name 'f' is not defined",
                            "no such tool/function", "unknown tool"
``parameter_hallucination`` says an argument is not accepted: "got an unexpected keyword
                            argument 'x'", "unknown parameter"
``parameter_missing``       says an argument is missing: "missing 1 required positional
                            argument", "missing required parameter"
``error_payload``           is JSON whose top level reports failure: a non-empty ``error`` or
                            ``errors`` key, ``"status": "error"|"fail(ed)"``, ``"success": false``,
                            or an HTTP ``status_code`` / ``code`` of 400 or more
=========================== =====================================================================

A normal result that merely mentions errors ("No errors found", a title about error handling, a
field ``"error_rate": 0.02``) matches none: text patterns need the shape of an error report, and
in JSON only the top-level keys above count, not words inside values.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TEXT_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "tool_hallucination",
        re.compile(
            r"\bname '?[\w.]+'? (?:is|if) not defined\b|\bno such (?:tool|function|api)\b"
            r"|\bunknown (?:tool|function|api)\b",
            re.I,
        ),
    ),
    (
        "parameter_hallucination",
        re.compile(
            r"got an unexpected keyword argument\b|\bunknown (?:parameter|argument)\b"
            r"|\bunexpected (?:parameter|argument)\b",
            re.I,
        ),
    ),
    (
        "parameter_missing",
        re.compile(
            r"missing \d+ required (?:positional|keyword(?:-only)?) arguments?\b"
            r"|\bmissing required (?:parameter|argument|field)\b",
            re.I,
        ),
    ),
    (
        "tool_instability",
        re.compile(
            r"HTTPS?ConnectionPool\(|Max retries exceeded|\b[45]\d\d (?:Client|Server) Error\b"
            r"|\bConnection (?:refused|reset|aborted)\b|\b(?:Read|Connect)Timeout\b"
            r"|\bTimeoutError\b|\brequest timed out\b|^\s*Invalid API call\b",
            re.I | re.M,
        ),
    ),
    (
        "tool_call_failure",
        re.compile(
            r"Traceback \(most recent call last\)|^\s*[A-Z]\w*(?:Error|Exception)\s*:"
            r"|not supported between instances of\b|is not JSON serializable\b",
            re.M,
        ),
    ),
]
_FAILED_STATUS = {"error", "fail", "failed", "failure"}


def error_category(feedback: str) -> str | None:
    """The Table 14 category the feedback reports, or None for a normal result."""
    payload = _json(feedback)
    if isinstance(payload, dict):
        if _payload_failed(payload):
            return "error_payload"
        return None  # a structured result: only its top-level fields can report failure
    for category, pattern in _TEXT_RULES:
        if pattern.search(feedback):
            return category
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _payload_failed(payload: dict[str, Any]) -> bool:
    lowered = {str(k).lower(): v for k, v in payload.items()}
    if any(lowered.get(k) not in (None, "", [], {}, False) for k in ("error", "errors")):
        return True
    status = lowered.get("status")
    if isinstance(status, str) and status.lower() in _FAILED_STATUS:
        return True
    if lowered.get("success") is False:
        return True
    code = lowered.get("status_code", lowered.get("code"))
    return isinstance(code, int) and not isinstance(code, bool) and code >= 400
