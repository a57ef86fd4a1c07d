"""Key characters of an assistant turn for PKT (TL-Training §2, §3.2); the encoder turns them into
key tokens (the tokens covering them).

TL-Training's finding: a model that picks the wrong tool usually picks one whose name shares a
prefix with the right one, and correcting the first wrong token fixes the call. So the key tokens
are where the *tool* is chosen (``masking.pkt_keys: tool``, the default), in each call of a
``[SUMMARY]`` solution:

* the first token of the tool's name;
* for every other candidate tool that shares a prefix with it, the token where the name departs
  from that candidate (the character right after their longest common prefix).

Worked example: candidates ``book_table``, ``book_taxi``, ``get_weather``; the call uses
``book_table``. Its first token is key; ``book_taxi`` shares ``book_ta``, so the token holding the
``b`` of ``…ble`` is key; ``get_weather`` shares no prefix and adds nothing. Two key tokens at most,
whatever the arguments.

``tool_and_values`` keeps this project's earlier definition as an option: the one character where
the name departs from the candidate it shares the longest prefix with, plus every argument value
(string contents, numbers, booleans, lists). It enlarges |K| and so lowers each key token's weight.

A tool-use trajectory's call turn (``name\n{json}``, :mod:`asktoact.tools.calls`) is one call
whose name starts the turn; the same rules apply to it.

Ranges are relative to the turn's content. A summary whose JSON cannot be parsed yields none: the
turn then keeps uniform weights.
"""

from __future__ import annotations

import json
import re

from asktoact.constants import TAG_SUMMARY
from asktoact.tools.calls import parse_call

KEY_DEFINITIONS = ("tool", "tool_and_values")


def common_prefix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def divergences(name: str, candidates: list[str]) -> list[int]:
    """Offsets in ``name`` where it departs from each candidate sharing a prefix with it."""
    points = {common_prefix(name, other) for other in candidates if other != name}
    return sorted(p for p in points if 0 < p < len(name))


def solutions(content: str) -> list[tuple[int, int, list]]:
    """(start, end, calls) of every parsable ``[SUMMARY]`` solution in the turn."""
    found, pos = [], content.find(TAG_SUMMARY)
    while pos >= 0:
        start = content.find("[", pos + len(TAG_SUMMARY))
        if start < 0:
            break
        try:
            calls, length = json.JSONDecoder().raw_decode(content[start:])
        except json.JSONDecodeError:
            pos = content.find(TAG_SUMMARY, start)
            continue
        found.append((start, start + length, calls if isinstance(calls, list) else []))
        pos = content.find(TAG_SUMMARY, start + length)
    return found


def key_ranges(content: str, tool_names: list[str], keys: str = "tool") -> list[tuple[int, int]]:
    if keys not in KEY_DEFINITIONS:
        raise ValueError(f"masking.pkt_keys must be one of {KEY_DEFINITIONS}, got {keys!r}")
    out: list[tuple[int, int]] = []
    call = parse_call(content)
    if call is not None:  # a trajectory's call turn: the name is the turn's first word
        name_at = len(content) - len(content.lstrip())
        out += [(name_at + o, name_at + o + 1) for o in _name_offsets(call[0], tool_names, keys)]
        if keys == "tool_and_values":
            out += _argument_spans(content, call[1], name_at)
        return [(a, b) for a, b in out if b > a]
    for start, end, calls in solutions(content):
        cursor = start
        for call in calls:
            if not isinstance(call, dict) or not isinstance(call.get("task"), str):
                continue
            name = call["task"]
            at = re.compile(r'"task"\s*:\s*' + re.escape(json.dumps(name, ensure_ascii=False)))
            hit = at.search(content, cursor, end)
            if hit is None:
                continue
            name_at = hit.end() - len(name) - 1  # the name's first character, inside the quotes
            cursor = hit.end()
            out += [(name_at + o, name_at + o + 1) for o in _name_offsets(name, tool_names, keys)]
            if keys == "tool_and_values":
                spans, cursor = _value_spans(content, call, cursor, end)
                out += spans
    return [(a, b) for a, b in out if b > a]


def _name_offsets(name: str, tool_names: list[str], keys: str) -> list[int]:
    if keys == "tool":
        return [0, *divergences(name, tool_names)]
    # tool_and_values: the one point past the longest prefix shared with another candidate
    longest = max((common_prefix(name, o) for o in tool_names if o != name), default=0)
    return [min(longest, len(name) - 1)]


def _argument_spans(content: str, arguments: dict, cursor: int) -> list[tuple[int, int]]:
    """The value of each argument of a call turn's JSON object (string contents unquoted)."""
    out = []
    for key, value in arguments.items():
        text = json.dumps(value, ensure_ascii=False)
        pattern = re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:\s*" + re.escape(text)
        hit = re.compile(pattern).search(content, cursor)
        if hit is None:
            continue
        v0, quoted = hit.end() - len(text), text.startswith('"')
        out.append((v0 + quoted, v0 + len(text) - quoted))
        cursor = hit.end()
    return out


def _value_spans(content: str, call: dict, cursor: int, end: int):
    out = []
    for arg in call.get("arguments", []):
        if not isinstance(arg, dict):
            continue
        text = json.dumps(arg.get("value"), ensure_ascii=False, separators=(",", ":"))
        hit = re.compile(r'"value"\s*:\s*' + re.escape(text)).search(content, cursor, end)
        if hit is None:
            continue
        v0 = hit.end() - len(text)
        quoted = text.startswith('"')
        out.append((v0 + quoted, v0 + len(text) - quoted))
        cursor = hit.end()
    return out, cursor
