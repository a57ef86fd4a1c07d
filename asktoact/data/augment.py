"""Error-correction augmentation (AskToAct §2.2.1, appendix D).

``ratio`` of the training records (0.0–0.5, paper: 0.3) get exactly one injected error; the error
is annotated on one argument of the record (``error`` + ``error_detail``) and rendered by
``assemble`` between ``<SOE>``/``<EOE>`` with the type's correction. Action *slots* are the places
the assistant acts: slot ``s < G`` is asking missing-value group ``s``, slot ``G`` is the summary.

* clearly_stated (type 1): ask for a value the request states; any slot; needs a kept argument.
* imprecise (type 2): a vague version of group ``s``'s question; slot ``s < G``.
* irrelevant (type 3): a question that changes no call; any slot.
* redundant (type 4, Algorithm 2): at slot ``s ≥ 1`` re-ask an earlier group's question.
* incomplete (type 5, Algorithm 3): at slot ``s < G`` give a premature summary whose unknown
  values are ``<unknown_param>`` placeholders.

Types 1–3 have ``rules`` and ``llm`` backends (an LLM failure falls back to rules and is counted);
types 4–5 are rule algorithms. Which records and which types is seeded.
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from typing import Any

from asktoact.constants import ERROR_TYPES, TAG_QUESTION, UNKNOWN_VALUE
from asktoact.data import templates as T
from asktoact.data.assemble import summary
from asktoact.data.clarify import groups
from asktoact.data.phrasing import humanise
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder
from asktoact.schema import ArgRecord, TransformationRecord


def eligible_types(record: TransformationRecord) -> list[str]:
    g = len(groups(record))
    has_kept = any(not a.removed for _, _, a in record.params())
    ok = {
        "clearly_stated": has_kept,
        "imprecise": g >= 1,
        "irrelevant": bool(record.params()),
        "redundant": g >= 1,
        "incomplete": g >= 1,
    }
    return [t for t in ERROR_TYPES if ok[t]]


def _slot_range(kind: str, g: int) -> range:
    return {
        "clearly_stated": range(0, g + 1),
        "irrelevant": range(0, g + 1),
        "imprecise": range(0, g),
        "incomplete": range(0, g),
        "redundant": range(1, g + 1),
    }[kind]


def _anchor(record: TransformationRecord, slot: int) -> ArgRecord:
    """The argument an error at ``slot`` is annotated on: the group asked there, else the last."""
    gs = groups(record)
    return gs[slot][0][2] if slot < len(gs) else record.params()[-1][2]


def _fill(record: TransformationRecord, call: int, name: str, arg: ArgRecord) -> dict[str, str]:
    return {"api": record.key_info[call].name, "param": name, "value": json.dumps(arg.value)}


def _premature_solution(record: TransformationRecord, slot: int) -> list[dict[str, Any]]:
    """Algorithm 3: values known before ``slot`` are filled in, the rest are placeholders."""
    pending = {(i, n) for g in groups(record)[slot:] for i, n, _ in g}
    return [
        {
            "task": c.name,
            "arguments": [
                {"name": n, "value": UNKNOWN_VALUE.format(name=n) if (i, n) in pending else a.value}
                for n, a in c.arguments.items()
            ],
        }
        for i, c in enumerate(record.key_info)
    ]


def inject(record: TransformationRecord, kind: str, rng: random.Random) -> TransformationRecord:
    """A copy of ``record`` with one ``kind`` error annotated; semantic text from rules."""
    rec = copy.deepcopy(record)
    gs = groups(rec)
    slot = rng.choice(list(_slot_range(kind, len(gs))))
    anchor = _anchor(rec, slot)
    detail: dict[str, Any] = {"slot": slot, "fill": {}}
    if kind == "clearly_stated":
        i, name, kept = rng.choice([p for p in rec.params() if not p[2].removed])
        q = rng.choice(T.CLEARLY_STATED_QUESTIONS).format(
            param_words=humanise(name), api=rec.key_info[i].name
        )
        detail.update(
            content=f"{TAG_QUESTION} {q}", fill=_fill(rec, i, name, kept), target=[i, name]
        )
        anchor = kept
    elif kind == "imprecise":
        api_words = humanise(rec.key_info[gs[slot][0][0]].name)
        detail["content"] = f"{TAG_QUESTION} " + rng.choice(T.IMPRECISE_QUESTIONS).format(
            api_words=api_words
        )
    elif kind == "irrelevant":
        api = rec.key_info[rng.randrange(len(rec.key_info))].name
        detail["content"] = f"{TAG_QUESTION} " + rng.choice(T.IRRELEVANT_QUESTIONS).format(api=api)
    elif kind == "redundant":
        prev = gs[rng.randrange(slot)]
        i, name, arg = prev[0]
        detail.update(content=f"{TAG_QUESTION} {arg.question}", fill=_fill(rec, i, name, arg))
    elif kind == "incomplete":
        detail["content"] = summary(rec, _premature_solution(rec, slot))
    else:
        raise ValueError(f"unknown error type {kind!r}; expected one of {ERROR_TYPES}")
    anchor.error, anchor.error_detail = kind, detail
    return rec


SYSTEM_PROMPTS = {
    "clearly_stated": (
        "Write one clarification question that asks the user for the value of argument "
        "`param` of API `api`, even though the request already states it. Make it sound natural."
    ),
    "imprecise": (
        "Write one clarification question about the missing argument `param` of API `api` that "
        "sounds related to the task but is too vague for the user to know which value to give. "
        "It must be less precise than `good_question`."
    ),
    "irrelevant": (
        "Write one question that sounds related to the user's request but whose answer would not "
        "change any argument of the API calls in `calls`."
    ),
}
_REPLY_SHAPE = ' Reply with one JSON object: {"question": "..."}.'


def llm_request(rec: TransformationRecord, kind: str) -> JsonRequest:
    """Ask the model for the erroneous question of an already-annotated record."""
    detail = next(a.error_detail for _, _, a in rec.params() if a.error)
    slot = detail["slot"]
    gs = groups(rec)
    payload: dict[str, Any] = {
        "request": rec.unspecified_query,
        "calls": [c.name for c in rec.key_info],
    }
    if kind == "clearly_stated":
        payload.update(api=detail["fill"]["api"], param=detail["fill"]["param"])
    elif kind == "imprecise":
        i, name, arg = gs[slot][0]
        payload.update(api=rec.key_info[i].name, param=name, good_question=arg.question)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPTS[kind] + _REPLY_SHAPE},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False, default=str)},
    ]
    return JsonRequest(rec.id, messages, _question, f"augment.{kind}")


def _question(obj: Any) -> str:
    q = obj.get("question") if isinstance(obj, dict) else None
    if not isinstance(q, str) or not q.strip():
        raise ValueError("expected an object with a non-empty string 'question'")
    return q.strip()


def quotas(total: int, mix: dict[str, float]) -> dict[str, int]:
    """``total`` split over the types in proportion to ``mix`` (largest remainder, ties by name)."""
    weight = sum(mix.values())
    exact = {t: total * w / weight for t, w in mix.items()}
    counts = {t: int(x) for t, x in exact.items()}
    for t in sorted(exact, key=lambda t: (counts[t] - exact[t], t))[: total - sum(counts.values())]:
        counts[t] += 1
    return counts


def assign_types(
    records: list[TransformationRecord], total: int, mix: dict[str, float], rng: random.Random
) -> dict[int, str]:
    """Which records host which error type, so that the realised mix is the configured one.

    Each type's quota is drawn among the records that can host it, the most constrained type
    first (a fully specified dialogue can host only clearly-stated and irrelevant errors; drawing
    those last would leave the other types short and tilt the mix).
    """
    wanted = quotas(total, {t: w for t, w in mix.items() if w > 0})
    hosts = {t: [k for k, r in enumerate(records) if t in eligible_types(r)] for t in wanted}
    chosen: dict[int, str] = {}
    for kind in sorted(wanted, key=lambda t: (len(hosts[t]), t)):
        free = [k for k in hosts[kind] if k not in chosen]
        chosen.update(dict.fromkeys(rng.sample(free, min(wanted[kind], len(free))), kind))
    return chosen


def run(
    records: list[TransformationRecord],
    ratio: float,
    seed: int,
    mix: dict[str, float],
    llm: LLMClient | None = None,
) -> tuple[list[TransformationRecord], dict[str, Any]]:
    """Records with ``round(ratio * len(records))`` of them replaced by augmented copies."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"augmentation.ratio must be in [0, 1], got {ratio}")
    mix = {k: float(v) for k, v in mix.items()}
    unknown = set(mix) - set(ERROR_TYPES)
    if unknown:
        raise ValueError(
            f"augmentation.mix has unknown error types {sorted(unknown)}; use {ERROR_TYPES}"
        )
    target = round(ratio * len(records))
    chosen = assign_types(records, target, mix, random.Random(f"augment:{seed}"))
    out = list(records)
    for k, kind in sorted(chosen.items()):
        out[k] = inject(records[k], kind, random.Random(f"inject:{seed}:{records[k].id}"))
    fallbacks = _llm_semantic(out, sorted(chosen), llm) if llm is not None else 0
    types = Counter(chosen.values())
    weight = sum(mix.values())
    stats = {
        "ratio": ratio,
        "target": target,
        "augmented": len(chosen),
        "shortfall": target - len(chosen),
        "per_type": {t: types.get(t, 0) for t in ERROR_TYPES},
        "mix_configured": {t: round(mix.get(t, 0.0) / weight, 4) for t in ERROR_TYPES},
        "mix_realised": {t: round(types.get(t, 0) / max(len(chosen), 1), 4) for t in ERROR_TYPES},
        "llm_fallbacks": fallbacks,
    }
    return out, stats


def _offline_reply(kind: str):
    """The offline provider's answer to ``SYSTEM_PROMPTS[kind]``: one fixed question per type."""

    def reply(messages: list[dict[str, str]], rng: random.Random) -> dict[str, str]:
        payload = json_payload(messages)
        api = payload.get("api") or payload["calls"][0]
        text = {
            "clearly_stated": f"What value should {payload.get('param')} have for {api}?",
            "imprecise": "Could you say a little more about that part?",
            "irrelevant": f"Would you like a short explanation of how {api} works?",
        }[kind]
        return {"question": text}

    return reply


for _kind in SYSTEM_PROMPTS:
    register_responder(f"augment.{_kind}", _offline_reply(_kind))


def _llm_semantic(records: list[TransformationRecord], chosen: list[int], llm: LLMClient) -> int:
    """Replace the rules text of semantic errors by the model's; keep rules text on failure."""
    todo = []
    for k in chosen:
        kind = next(a.error for _, _, a in records[k].params() if a.error)
        if kind in SYSTEM_PROMPTS:
            todo.append((k, kind))
    results = llm.run_json([llm_request(records[k], kind) for k, kind in todo], "augment")
    fallbacks = 0
    for (k, _), res in zip(todo, results, strict=True):
        if not res.ok:
            fallbacks += 1
            continue
        detail = next(a.error_detail for _, _, a in records[k].params() if a.error)
        detail["content"] = f"{TAG_QUESTION} {res.value}"
    return fallbacks
