"""Key characters of an assistant turn for PKT (TL-Training §3.2), defined for our format.

Key tokens are the tokens covering these characters:

* **API names where they diverge**: in the solution JSON of a ``[SUMMARY]``, for each
  ``"task": "<api>"`` the character at which the name first differs from every other candidate
  tool name (the longest common prefix with any other candidate, plus one). Tokens before it are
  shared with a wrong tool and decide nothing; the diverging token is the choice of tool.
* **Parameter values**: every ``"value": <v>`` of the solution JSON (string contents without the
  quotes, numbers, booleans, lists as written).

Returned ranges are relative to the turn's content. A summary whose JSON cannot be parsed yields
no key ranges rather than an error: the turn is then trained with uniform weights.
"""

from __future__ import annotations

import json

from asktoact.constants import TAG_SUMMARY


def _divergence(name: str, others: list[str]) -> int:
    def common(a: str, b: str) -> int:
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    longest = max((common(name, o) for o in others if o != name), default=0)
    return min(longest, len(name) - 1)


def key_ranges(content: str, tool_names: list[str]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    pos = content.find(TAG_SUMMARY)
    while pos >= 0:
        start = content.find("[", pos + len(TAG_SUMMARY))
        if start < 0:
            break
        try:
            calls, length = json.JSONDecoder().raw_decode(content[start:])
        except json.JSONDecodeError:
            pos = content.find(TAG_SUMMARY, start)
            continue
        ranges += _ranges_in_solution(content, start, start + length, calls, tool_names)
        pos = content.find(TAG_SUMMARY, start + length)
    return ranges


def _ranges_in_solution(content, start, end, calls, tool_names) -> list[tuple[int, int]]:
    out, cursor = [], start
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict) or "task" not in call:
            continue
        needle = '"task": ' + json.dumps(call["task"], ensure_ascii=False)
        at = content.find(needle, cursor, end)
        if at < 0:
            continue
        name_at = at + len('"task": "')
        d = _divergence(str(call["task"]), tool_names)
        out.append((name_at + d, name_at + d + 1))
        cursor = at + len(needle)
        for arg in call.get("arguments", []):
            text = json.dumps(arg.get("value"), ensure_ascii=False)
            at = content.find('"value": ' + text, cursor, end)
            if at < 0:
                continue
            v0 = at + len('"value": ')
            quoted = text.startswith('"')
            out.append((v0 + quoted, v0 + len(text) - quoted))
            cursor = v0 + len(text)
    return [(a, b) for a, b in out if b > a]
