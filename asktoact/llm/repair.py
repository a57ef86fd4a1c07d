"""The repair round: what the client sends back after an unusable JSON reply, and how a
responder recognises those rounds so that a repaired request is answered like the original."""

from __future__ import annotations

REPAIR_PROMPT = (
    "Your last reply could not be used: {error}. Send the whole answer again as one JSON value "
    "that fixes this, with nothing before or after it."
)
_MARKER = REPAIR_PROMPT.split("{", 1)[0]


def repair_message(error: str) -> dict[str, str]:
    """The user turn that asks for a corrected reply, naming what was wrong."""
    return {"role": "user", "content": REPAIR_PROMPT.format(error=error)}


def without_repairs(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """The request as first sent: trailing repair rounds (a bad reply, then the repair prompt)
    removed."""
    while (
        len(messages) >= 2
        and messages[-2]["role"] == "assistant"
        and messages[-1]["role"] == "user"
        and messages[-1]["content"].startswith(_MARKER)
    ):
        messages = messages[:-2]
    return messages
