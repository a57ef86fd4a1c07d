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

Each type is one ``ERRORS`` entry: its eligibility, slot range, injection, correction, the user's
reaction where the user must answer the faulty question, and (types 1–3) the LLM backend's prompt
and offline answer; an LLM failure falls back to the rules text and is counted. Types 4–5 are rule
algorithms. Which records and which types is seeded.
"""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asktoact.configurable import UNIT
from asktoact.configurable import config_field as F
from asktoact.constants import TAG_QUESTION, UNKNOWN_VALUE
from asktoact.data import templates as T
from asktoact.data.clarify import Group, groups
from asktoact.data.phrasing import humanise
from asktoact.data.turns import summary
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder
from asktoact.schema import ArgRecord, TransformationRecord

# What an injection returns: the fields it adds to the error detail, and the argument the error
# is annotated on when it is not the slot's own anchor (``None``: the anchor).
Injected = tuple[dict[str, Any], ArgRecord | None]


@dataclass(frozen=True)
class ErrorType:
    """One of AskToAct's error types: where it may go, how it is written, how it is corrected."""

    eligible: Callable[[TransformationRecord, int], bool]  # (record, missing-value groups G)
    slots: Callable[[int], range]  # the action slots it may take, given G
    inject: Callable[[TransformationRecord, list[Group], int, random.Random], Injected]
    correction: str  # the assistant's correction that follows the <SOE>…<EOE> span
    # The user's reaction before the correction (a question the user cannot answer), by tone;
    # ``None``: the correction follows the error in the same turn.
    user_replies: dict[str, list[str]] | None = None
    # Semantic types only: the LLM backend's instruction, its payload and the offline answer.
    prompt: str | None = None
    payload: Callable[[TransformationRecord, dict[str, Any]], dict[str, Any]] | None = None
    offline: Callable[[dict[str, Any]], str] | None = None


def _fill(record: TransformationRecord, call: int, name: str, arg: ArgRecord) -> dict[str, str]:
    return {"api": record.key_info[call].name, "param": name, "value": json.dumps(arg.value)}


def _clearly_stated(rec: TransformationRecord, gs: list[Group], slot: int, rng) -> Injected:
    i, name, kept = rng.choice([p for p in rec.params() if not p[2].removed])
    q = rng.choice(T.CLEARLY_STATED_QUESTIONS).format(
        param_words=humanise(name), api=rec.key_info[i].name
    )
    return {
        "content": f"{TAG_QUESTION} {q}",
        "fill": _fill(rec, i, name, kept),
        "target": [i, name],
    }, kept


def _imprecise(rec: TransformationRecord, gs: list[Group], slot: int, rng) -> Injected:
    api_words = humanise(rec.key_info[gs[slot][0][0]].name)
    q = rng.choice(T.IMPRECISE_QUESTIONS).format(api_words=api_words)
    return {"content": f"{TAG_QUESTION} {q}"}, None


def _irrelevant(rec: TransformationRecord, gs: list[Group], slot: int, rng) -> Injected:
    api = rec.key_info[rng.randrange(len(rec.key_info))].name
    return {
        "content": f"{TAG_QUESTION} " + rng.choice(T.IRRELEVANT_QUESTIONS).format(api=api)
    }, None


def _redundant(rec: TransformationRecord, gs: list[Group], slot: int, rng) -> Injected:
    """Algorithm 2: at slot ``s`` re-ask the question of an earlier group."""
    i, name, arg = gs[rng.randrange(slot)][0]
    return {"content": f"{TAG_QUESTION} {arg.question}", "fill": _fill(rec, i, name, arg)}, None


def _incomplete(rec: TransformationRecord, gs: list[Group], slot: int, rng) -> Injected:
    """Algorithm 3: a summary at ``slot``; values known by then are filled in, the rest are
    ``<unknown_param>`` placeholders."""
    pending = {(i, n) for g in gs[slot:] for i, n, _ in g}
    premature = [
        {
            "task": c.name,
            "arguments": [
                {"name": n, "value": UNKNOWN_VALUE.format(name=n) if (i, n) in pending else a.value}
                for n, a in c.arguments.items()
            ],
        }
        for i, c in enumerate(rec.key_info)
    ]
    return {"content": summary(rec, premature)}, None


def _asked_param(rec: TransformationRecord, detail: dict[str, Any]) -> dict[str, Any]:
    return {"api": detail["fill"]["api"], "param": detail["fill"]["param"]}


def _vague_payload(rec: TransformationRecord, detail: dict[str, Any]) -> dict[str, Any]:
    i, name, arg = groups(rec)[detail["slot"]][0]
    return {"api": rec.key_info[i].name, "param": name, "good_question": arg.question}


def _api(payload: dict[str, Any]) -> str:
    return payload.get("api") or payload["calls"][0]


def _anywhere(g: int) -> range:
    return range(0, g + 1)


def _before_summary(g: int) -> range:
    return range(0, g)


def _has_gap(record: TransformationRecord, g: int) -> bool:
    return g >= 1


# The five error types of AskToAct §2.2.1 in the paper's order (types 1..5); the one list of them.
ERRORS: dict[str, ErrorType] = {
    "clearly_stated": ErrorType(
        eligible=lambda r, g: any(not a.removed for _, _, a in r.params()),
        slots=_anywhere,
        inject=_clearly_stated,
        correction=T.CORRECT_CLEARLY_STATED,
        prompt=(
            "Write one clarification question that asks the user for the value of argument "
            "`param` of API `api`, even though the request already states it. Make it sound "
            "natural."
        ),
        payload=_asked_param,
        offline=lambda p: f"What value should {p.get('param')} have for {_api(p)}?",
    ),
    "imprecise": ErrorType(
        eligible=_has_gap,
        slots=_before_summary,
        inject=_imprecise,
        correction=T.CORRECT_IMPRECISE,
        user_replies=T.UNCLEAR_REPLIES,
        prompt=(
            "Write one clarification question about the missing argument `param` of API `api` "
            "that sounds related to the task but is too vague for the user to know which value "
            "to give. It must be less precise than `good_question`."
        ),
        payload=_vague_payload,
        offline=lambda p: "Could you say a little more about that part?",
    ),
    "irrelevant": ErrorType(
        eligible=lambda r, g: bool(r.params()),
        slots=_anywhere,
        inject=_irrelevant,
        correction=T.CORRECT_IRRELEVANT,
        user_replies=T.IRRELEVANT_REPLIES,
        prompt=(
            "Write one question that sounds related to the user's request but whose answer "
            "would not change any argument of the API calls in `calls`."
        ),
        payload=lambda r, d: {},
        offline=lambda p: f"Would you like a short explanation of how {_api(p)} works?",
    ),
    "redundant": ErrorType(
        eligible=_has_gap,
        slots=lambda g: range(1, g + 1),
        inject=_redundant,
        correction=T.CORRECT_REDUNDANT,
    ),
    "incomplete": ErrorType(
        eligible=_has_gap,
        slots=_before_summary,
        inject=_incomplete,
        correction=T.CORRECT_INCOMPLETE,
    ),
}
ERROR_TYPES = tuple(ERRORS)


def error_type(kind: str) -> ErrorType:
    try:
        return ERRORS[kind]
    except KeyError:
        raise ValueError(f"unknown error type {kind!r}; expected one of {ERROR_TYPES}") from None


def eligible_types(record: TransformationRecord) -> list[str]:
    g = len(groups(record))
    return [name for name, kind in ERRORS.items() if kind.eligible(record, g)]


def _anchor(record: TransformationRecord, slot: int) -> ArgRecord:
    """The argument an error at ``slot`` is annotated on: the group asked there, else the last."""
    gs = groups(record)
    return gs[slot][0][2] if slot < len(gs) else record.params()[-1][2]


def inject(record: TransformationRecord, kind: str, rng: random.Random) -> TransformationRecord:
    """A copy of ``record`` with one ``kind`` error annotated; semantic text from rules."""
    spec = error_type(kind)
    rec = copy.deepcopy(record)
    gs = groups(rec)
    slot = rng.choice(list(spec.slots(len(gs))))
    detail: dict[str, Any] = {"slot": slot, "fill": {}}
    fields, on = spec.inject(rec, gs, slot, rng)
    detail.update(fields)
    anchor = on if on is not None else _anchor(rec, slot)
    anchor.error, anchor.error_detail = kind, detail
    return rec


_REPLY_SHAPE = ' Reply with one JSON object: {"question": "..."}.'


def llm_request(rec: TransformationRecord, kind: str) -> JsonRequest:
    """Ask the model for the erroneous question of an already-annotated record."""
    spec = error_type(kind)
    detail = next(a.error_detail for _, _, a in rec.params() if a.error)
    payload: dict[str, Any] = {
        "request": rec.unspecified_query,
        "calls": [c.name for c in rec.key_info],
        **spec.payload(rec, detail),
    }
    messages = [
        {"role": "system", "content": spec.prompt + _REPLY_SHAPE},
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


def _offline_reply(spec: ErrorType):
    """The offline provider's answer to a semantic type's prompt: one fixed question per type."""

    def reply(messages: list[dict[str, str]], rng: random.Random) -> dict[str, str]:
        return {"question": spec.offline(json_payload(messages))}

    return reply


for _name, _spec in ERRORS.items():
    if _spec.prompt is not None:
        register_responder(f"augment.{_name}", _offline_reply(_spec))


def _llm_semantic(records: list[TransformationRecord], chosen: list[int], llm: LLMClient) -> int:
    """Replace the rules text of semantic errors by the model's; keep rules text on failure."""
    todo = []
    for k in chosen:
        kind = next(a.error for _, _, a in records[k].params() if a.error)
        if ERRORS[kind].prompt is not None:
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


# ``conf/augmentation/``: the ratio and the error-type mix (its keys are ERRORS').
@dataclass
class AugmentationConfig:
    ratio: float = F(**UNIT)
    mix: dict[str, float] = F(keys=ERROR_TYPES, ge=0.0)
