"""Underspecified query + transformation record (AskToAct §2.1.1, appendix C.1.2–C.1.3).

Two backends with one contract: given an example and its sampled removals, return a
:class:`TransformationRecord` whose ``unspecified_query`` no longer states the removed values.

* ``rules``: finds each removed value in the query (:mod:`asktoact.data.locate`) and either
  deletes it with its leading preposition (*complete removal*; only for required parameters of an
  API called once), replaces it by a typed vague phrase (*semantic abstraction*: "a certain city"),
  or, for a list whose elements are written separately, abstracts one element (*partial
  obfuscation*). A value it cannot find fails the row with that reason.
* ``llm``: asks the model (prompt below, our wording) and validates its JSON against the sample.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from asktoact.data.locate import find_value
from asktoact.data.phrasing import abstraction_for, element_abstraction
from asktoact.data.sampling import Sample
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder
from asktoact.schema import (
    ArgRecord,
    CallRecord,
    Example,
    ToolCall,
    ToolSpec,
    TransformationRecord,
    render_value,
)

_PREPOSITIONS = (
    "in|on|at|for|to|from|with|of|by|into|near|under|over|about|called|named|titled|using|via|as"
)
_LEADING_PREP = re.compile(rf"(?:\b(?:{_PREPOSITIONS})\s+)?$", re.I)
_LEADING_ARTICLE = re.compile(r"(?:\b(?:the|a|an)\s+)?$", re.I)


class StageError(ValueError):
    """A row a stage cannot process; the message is the reason written to dropped.jsonl."""


@dataclass
class _Edit:
    start: int
    end: int
    replacement: str


def _with_quotes(query: str, start: int, end: int) -> tuple[int, int]:
    if start > 0 and end < len(query) and query[start - 1] == query[end] and query[end] in "'\"":
        return start - 1, end + 1
    return start, end


def _apply(query: str, edits: list[_Edit]) -> str:
    spans = sorted({(e.start, e.end, e.replacement) for e in edits}, reverse=True)
    for (s1, _, _), (_, e2, _) in zip(spans, spans[1:], strict=False):
        if e2 > s1:
            raise StageError("removed values overlap in the query")
    for start, end, rep in spans:
        query = query[:start] + rep + query[end:]
    query = re.sub(r"\s{2,}", " ", query)
    query = re.sub(r"\s+([?.!,;:])", r"\1", query)
    return re.sub(r"^([,;:]\s*)", "", query).strip()


# The chance a lone required value is removed outright rather than made vague: the pipeline's
# default (conf/pipeline/default.yaml, sampling.removal_prob, says it to a generate run).
REMOVAL_PROB = 0.35


def _plan_edits(ex: Example, call_idx: int, name: str, rng: random.Random, removal_prob: float):
    """Edits for one removed argument and its record fields (strategy, original, current)."""
    query, value = ex.query, ex.solution[call_idx].args[name]
    spec = ex.tool(ex.solution[call_idx].task).param(name)
    if isinstance(value, list) and len(value) >= 2:
        located = [find_value(query, v) for v in value]
        if all(located):
            k = rng.randrange(len(value))
            hits = located[k]
            phrase = element_abstraction(name)
            edits = [_Edit(*_with_quotes(query, h.start(), h.end()), phrase) for h in hits]
            return edits, "partial", hits[0].group(0), phrase
    hits = find_value(query, value)
    if not hits:
        raise StageError(f"value of {ex.solution[call_idx].task}.{name} not found in the query")
    task = ex.solution[call_idx].task
    called_once = sum(c.task == task for c in ex.solution) == 1
    required = spec is None or spec.required
    if called_once and required and len(hits) == 1 and rng.random() < removal_prob:
        start, end = _with_quotes(query, hits[0].start(), hits[0].end())
        start = _LEADING_PREP.search(query[:start]).start()
        return [_Edit(start, end, "")], "removal", hits[0].group(0), ""
    edits = []
    for h in hits:
        start, end = _with_quotes(query, h.start(), h.end())
        start = _LEADING_ARTICLE.search(query[:start]).start()  # "the dryer" -> "a certain …"
        hyphen = bool(re.match(r"-[a-zA-Z]", query[end:]))  # "2-bedroom" -> "… of bedroom"
        followed = hyphen or bool(re.match(r"\s+[a-zA-Z]", query[end:]))
        phrase = abstraction_for(spec, name, followed)
        edits.append(_Edit(start, end + hyphen, phrase + (" " if hyphen else "")))
    return edits, "abstraction", hits[0].group(0), edits[0].replacement


def rules_record(
    ex: Example, sample: Sample, rng: random.Random, removal_prob: float = REMOVAL_PROB
) -> TransformationRecord:
    removed = set(sample.removed)
    edits: list[_Edit] = []
    key_info = []
    for i, call in enumerate(ex.solution):
        args = {}
        for name, value in call.arguments:
            if (i, name) in removed:
                new, strategy, original, current = _plan_edits(ex, i, name, rng, removal_prob)
                edits += new
                args[name] = ArgRecord(value, original, current, True, strategy)
            else:
                hits = find_value(ex.query, value)
                original = hits[0].group(0) if hits else render_value(value)
                args[name] = ArgRecord(value, original, original, False)
        key_info.append(CallRecord(call.task, args))
    _check_kept_values(ex, key_info, edits)
    return TransformationRecord(
        ex.id, ex.query, _apply(ex.query, edits) if edits else ex.query, key_info, sample.level
    )


def _check_kept_values(ex: Example, key_info: list[CallRecord], edits: list[_Edit]) -> None:
    """A removal must not erase a value that a kept parameter still needs from the query."""
    for call in key_info:
        for name, arg in call.arguments.items():
            if arg.removed:
                continue
            for h in find_value(ex.query, arg.value):
                if any(e.start <= h.start() < e.end for e in edits):
                    raise StageError(f"removing a value also erases kept {call.name}.{name}")


# -- LLM backend -------------------------------------------------------------------------------

SYSTEM_PROMPT = """You rewrite tool-use requests so that some details are missing.
You get a user's request (`original_query`), the API calls that fulfil it (`answers`, where every
argument has a `value` and a `removed` flag) and the API documentation (`tools`).
Rewrite the request so that each argument with removed=true can no longer be read from it:
- delete the detail when the sentence still reads naturally without it and the argument is
  required and its API is called only once;
- otherwise replace it with a vague expression of the same kind ("a certain hotel", "some date");
- when a list's elements are written out one by one, hide only one element and keep the others.
Keep everything else word for word. Do not write words like "unspecified", "unknown" or
"missing"; the gap should read naturally. Never leave a removed value anywhere in the text.
Reply with one JSON object:
{"unspecified_query": "...",
 "key_info": [{"name": "<api>", "arguments": {"<param>": {"original_value": "<text of the value
 as written in original_query>", "current_value": "<what replaced it, or the same text if kept>",
 "removed": true|false}}}]}
with one key_info entry per call, in the order of `answers`."""


TASK = "underspecify"


def llm_request(ex: Example, sample: Sample) -> JsonRequest:
    removed = set(sample.removed)
    answers = [
        {
            "name": c.task,
            "arguments": {n: {"value": v, "removed": (i, n) in removed} for n, v in c.arguments},
        }
        for i, c in enumerate(ex.solution)
    ]
    payload = {
        "original_query": ex.query,
        "answers": answers,
        "tools": [t.to_dict() for t in ex.tools],
    }
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False, default=str)},
    ]
    return JsonRequest(ex.id, messages, lambda obj: _record_from_llm(ex, sample, obj), TASK)


def _record_from_llm(ex: Example, sample: Sample, obj: Any) -> TransformationRecord:
    if not isinstance(obj, dict) or not isinstance(obj.get("unspecified_query"), str):
        raise ValueError("expected an object with a string 'unspecified_query'")
    info = obj.get("key_info")
    if not isinstance(info, list) or len(info) != len(ex.solution):
        raise ValueError(f"'key_info' must list {len(ex.solution)} calls in order")
    removed = set(sample.removed)
    key_info = []
    for i, (call, entry) in enumerate(zip(ex.solution, info, strict=True)):
        got = entry.get("arguments", {}) if isinstance(entry, dict) else {}
        args = {}
        for name, value in call.arguments:
            raw = got.get(name)
            if not isinstance(raw, dict):
                raise ValueError(f"key_info[{i}].arguments lacks parameter {name!r}")
            original = str(raw.get("original_value", render_value(value)))
            current = "" if raw.get("current_value") is None else str(raw["current_value"])
            is_removed = (i, name) in removed
            strategy = ("removal" if not current else "abstraction") if is_removed else None
            args[name] = ArgRecord(value, original, current, is_removed, strategy)
        key_info.append(CallRecord(call.task, args))
    query = obj["unspecified_query"].strip()
    if not query:
        raise ValueError("'unspecified_query' is empty")
    return TransformationRecord(ex.id, ex.query, query, key_info, sample.level)


def run(
    examples: list[Example],
    samples: list[Sample],
    seed: int,
    llm: LLMClient | None = None,
    removal_prob: float = REMOVAL_PROB,
) -> tuple[list[TransformationRecord], list[tuple[str, str]]]:
    """Records for every example that could be transformed, and (id, reason) for the rest."""
    records, failed = [], []
    if llm is not None:
        todo = [(ex, s) for ex, s in zip(examples, samples, strict=True) if s.removed]
        results = {
            r.key: r for r in llm.run_json([llm_request(e, s) for e, s in todo], "underspecify")
        }
    for ex, sample in zip(examples, samples, strict=True):
        try:
            if not sample.removed:  # level 0: the query stays as it is
                records.append(rules_record(ex, sample, random.Random(0)))
            elif llm is not None:
                res = results[ex.id]
                if not res.ok:
                    raise StageError(res.error)
                records.append(res.value)
            else:
                rng = random.Random(f"underspecify:{seed}:{ex.id}")
                records.append(rules_record(ex, sample, rng, removal_prob))
        except StageError as err:
            failed.append((ex.id, str(err)))
    return records, failed


def _offline_reply(messages: list[dict[str, str]], rng: random.Random) -> dict[str, Any]:
    """The offline provider's answer to :data:`SYSTEM_PROMPT`: the rules backend's rewrite."""
    payload = json_payload(messages)
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
    tools = tuple(ToolSpec.from_dict(t) for t in payload.get("tools", []))
    ex = Example("offline", "offline", payload["original_query"], tools, calls)
    rec = rules_record(ex, Sample(1 if removed else 0, removed), rng)
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


register_responder(TASK, _offline_reply)
