"""Task decomposition (``tool_steps``) and one clarification question per missing value
(AskToAct §2.1.2, appendix C.2.1).

Removed arguments that share one value (the same city for two calls) form one *group*: it is asked
once and the answer fills every member. Groups are in dialogue order (call order, then parameter
order). The ``rules`` backend writes steps and questions from templates; the ``llm`` backend asks
the model for both and validates that every step and every removed argument is covered.
"""

from __future__ import annotations

import json
import random
from typing import Any

from asktoact.data.phrasing import humanise, noun_for
from asktoact.data.underspecify import StageError
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder
from asktoact.schema import ArgRecord, Example, ToolSpec, TransformationRecord, render_value

Group = list[tuple[int, str, ArgRecord]]


def groups(record: TransformationRecord) -> list[Group]:
    """Removed arguments grouped by the value the user will have to give, in dialogue order."""
    by_key: dict[str, Group] = {}
    for i, name, arg in record.removed():
        key = f"partial:{i}:{name}" if arg.strategy == "partial" else render_value(arg.value)
        by_key.setdefault(key, []).append((i, name, arg))
    return list(by_key.values())


def step_text(k: int, api: str, description: str) -> str:
    what = description.strip().rstrip(".") or humanise(api)
    return f"{k}. {api} ({what[0].lower() + what[1:]})."


QUESTION_TEMPLATES = [
    "Which {noun} should I use for {api}?",
    "Could you tell me the {noun} for {api}?",
    "What {noun} do you have in mind for {api}?",
    "To run {api}, I need the {noun}. What should it be?",
]
_PARTIAL = "Apart from {known}, which other {noun} should {api} include?"


def rules_question(
    ex: Example, record: TransformationRecord, group: Group, rng: random.Random
) -> str:
    i, name, arg = group[0]
    api = record.key_info[i].name
    spec = ex.tool(api).param(name) if ex.tool(api) else None
    noun = noun_for(spec, name)
    if arg.strategy == "partial":
        known = [render_value(v) for v in arg.value if render_value(v) != arg.original_value]
        single = noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
        return _PARTIAL.format(known=" and ".join(known), noun=single, api=_call_label(record, i))
    apis = " and ".join(dict.fromkeys(_call_label(record, j) for j, _, _ in group))
    return rng.choice(QUESTION_TEMPLATES).format(noun=noun, api=apis)


def _call_label(record: TransformationRecord, call: int) -> str:
    """The API name, with its step when the API is called more than once (else questions collide)."""
    name = record.key_info[call].name
    repeated = sum(c.name == name for c in record.key_info) > 1
    return f"{name} (step {call + 1})" if repeated else name


def apply_rules(ex: Example, record: TransformationRecord, seed: int) -> TransformationRecord:
    rng = random.Random(f"clarify:{seed}:{record.id}")
    record.tool_steps = [
        step_text(k + 1, c.name, ex.tool(c.name).description if ex.tool(c.name) else "")
        for k, c in enumerate(record.key_info)
    ]
    for group in groups(record):
        question = rules_question(ex, record, group, rng)
        for _, _, arg in group:
            arg.question = question
    return record


SYSTEM_PROMPT = """You plan how an assistant will clarify a tool-use request.
You get the request with some details hidden (`unspecified_query`), the full original request,
the API documentation (`tools`) and `key_info`: the calls in the order they must run, each
argument marked removed=true when the hidden request no longer states it.
1. Split the task into steps, one per call, in the given order, each written as
   "<n>. <api name> (<what this step does>)."
2. For every removed argument write one short, specific question that the user could answer with
   exactly that value. When several calls need the same hidden value, ask one shared question and
   give it to each of those arguments. Ask nothing that the request or earlier steps already
   settle.
Reply with one JSON object: {"tool_steps": ["1. ...", ...],
"questions": [{"call": <0-based call index>, "param": "<name>", "question": "..."}, ...]}."""


TASK = "clarify"


def llm_request(ex: Example, record: TransformationRecord) -> JsonRequest:
    payload = {
        "original_query": record.original_query,
        "unspecified_query": record.unspecified_query,
        "tools": [t.to_dict() for t in ex.tools],
        "key_info": [
            {
                "name": c.name,
                "arguments": {
                    n: {"current_value": a.current_value, "removed": a.removed}
                    for n, a in c.arguments.items()
                },
            }
            for c in record.key_info
        ],
    }
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False, default=str)},
    ]
    return JsonRequest(record.id, messages, lambda obj: _validate(record, obj), TASK)


def _validate(record: TransformationRecord, obj: Any) -> dict[str, Any]:
    steps = obj.get("tool_steps") if isinstance(obj, dict) else None
    if not isinstance(steps, list) or len(steps) != len(record.key_info):
        raise ValueError(f"'tool_steps' must hold {len(record.key_info)} steps")
    asked = {}
    for q in obj.get("questions", []):
        if isinstance(q, dict) and isinstance(q.get("question"), str) and q["question"].strip():
            asked[(int(q.get("call", -1)), str(q.get("param")))] = q["question"].strip()
    missing = [f"{i}.{n}" for i, n, _ in record.removed() if (i, n) not in asked]
    if missing:
        raise ValueError(f"no question for removed arguments {', '.join(missing)}")
    return {"tool_steps": [str(s) for s in steps], "questions": asked}


def run(
    examples: dict[str, Example],
    records: list[TransformationRecord],
    seed: int,
    llm: LLMClient | None = None,
) -> tuple[list[TransformationRecord], list[tuple[str, str]]]:
    if llm is None:
        return [apply_rules(examples[r.id], r, seed) for r in records], []
    results = llm.run_json([llm_request(examples[r.id], r) for r in records], "clarify")
    kept, failed = [], []
    for rec, res in zip(records, results, strict=True):
        try:
            if not res.ok:
                raise StageError(res.error)
            rec.tool_steps = res.value["tool_steps"]
            for group in groups(rec):  # one shared question per group: the first one written
                question = res.value["questions"][(group[0][0], group[0][1])]
                for _, _, arg in group:
                    arg.question = question
            kept.append(rec)
        except StageError as err:
            failed.append((rec.id, str(err)))
    return kept, failed


def _offline_reply(messages: list[dict[str, str]], rng: random.Random) -> dict[str, Any]:
    """The offline provider's answer to :data:`SYSTEM_PROMPT`: template steps and questions."""
    payload = json_payload(messages)
    tools = {t["name"]: ToolSpec.from_dict(t) for t in payload.get("tools", [])}
    steps, questions = [], []
    for i, call in enumerate(payload["key_info"]):
        tool = tools.get(call["name"])
        steps.append(step_text(i + 1, call["name"], tool.description if tool else ""))
        for name, arg in call["arguments"].items():
            if arg.get("removed"):
                noun = noun_for(tool.param(name) if tool else None, name)
                q = rng.choice(QUESTION_TEMPLATES).format(noun=noun, api=call["name"])
                questions.append({"call": i, "param": name, "question": q})
    return {"tool_steps": steps, "questions": questions}


register_responder(TASK, _offline_reply)
