"""The TL-Training authors' released trajectory format, read as it is.

One JSON object per line: ``{"id", "conversations": [{"role", "content"}, ...]}`` with roles
``system`` / ``user`` / ``assistant`` / ``function``. The first turn is the system turn and its
content is a JSON list of OpenAI-style function specs; an assistant turn followed by a function
turn is a call, written ``name\\n{json arguments}``. The function turn's feedback says whether the
call failed (:mod:`asktoact.tools.feedback`); the calls whose feedback is a normal result are the
trajectory's gold calls. A row that breaks any of this goes to the rejects with the field
(``conversations[3].content``) and the reason; the others become trajectory rows exactly like
``data=trajectories`` makes (messages unchanged).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asktoact.configurable import configurable
from asktoact.data.sources.base import RowError
from asktoact.errors import MissingInput
from asktoact.tools.calls import parse_call, tool_from_spec
from asktoact.tools.feedback import error_category

ROLES = ("system", "user", "assistant", "function")


@configurable(exclude=("rejects",))
def load(path: str, name: str = "tl_format", rejects=None) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.is_file():
        raise MissingInput(f"data.path={path}: no such file (one JSON object per line)")
    rows = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            rows.append(row_of(raw, f"{file.stem}-{n:06d}"))
        except json.JSONDecodeError as err:
            _reject(rejects, name, n, RowError("line", f"not JSON: {err.msg}"), line)
        except RowError as err:
            _reject(rejects, name, n, err, line)
    return rows


load.produces = "trajectories"  # build() writes these rows as they are (data/trajectory_build.py)


def _reject(rejects, name: str, n: int, error: RowError, raw: str) -> None:
    if rejects is not None:
        rejects.add(name, n, error, raw)


def row_of(raw: Any, fallback_id: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("conversations"), list):
        raise RowError("conversations", "missing, or not a list of turns")
    turns = raw["conversations"]
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or turn.get("role") not in ROLES:
            raise RowError(f"conversations[{i}].role", f"must be one of {list(ROLES)}")
        if not isinstance(turn.get("content"), str):
            raise RowError(f"conversations[{i}].content", "must be a string")
    if not turns or turns[0]["role"] != "system":
        raise RowError("conversations[0]", "the first turn must be the system turn with the tools")
    tools = _tools(turns[0]["content"])
    calls, errors = _calls(turns)
    if not any(t["role"] == "assistant" for t in turns):
        raise RowError("conversations", "no assistant turn to train on")
    messages = [{"role": t["role"], "content": t["content"]} for t in turns]
    return {
        "id": str(raw.get("id") or fallback_id),
        "source": "tl_format",
        "domain": str(raw.get("domain", "unknown")),
        "messages": messages,
        "tools": json.dumps([t.to_dict() for t in tools], ensure_ascii=False),
        "calls": json.dumps(calls, ensure_ascii=False),
        "errors": json.dumps(errors),
        "n_calls": len(calls),
        "n_errors": len(errors),
    }


def _tools(content: str):
    try:
        specs = json.loads(content)
    except json.JSONDecodeError as err:
        raise RowError(
            "conversations[0].content", f"not a JSON list of functions: {err.msg}"
        ) from err
    if not isinstance(specs, list) or not specs:
        raise RowError("conversations[0].content", "not a non-empty JSON list of functions")
    try:
        return [tool_from_spec(s) for s in specs]
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise RowError("conversations[0].content", f"a function spec is malformed: {err}") from err


def _calls(turns: list[dict[str, str]]) -> tuple[list[dict], list[dict]]:
    calls, errors = [], []
    for i, turn in enumerate(turns[:-1]):
        if turn["role"] != "assistant" or turns[i + 1]["role"] != "function":
            continue
        call = parse_call(turn["content"])
        if call is None:
            raise RowError(f"conversations[{i}].content", "a call turn must be name\\n{json}")
        category = error_category(turns[i + 1]["content"])
        if category:
            errors.append({"turn": i, "kind": "from_feedback", "category": category})
        else:
            calls.append({"name": call[0], "arguments": call[1]})
    return calls, errors
