"""The user simulator: answers the assistant's clarification questions as the user would.

The user knows only their original request (:mod:`asktoact.eval.intents` says what that makes
known and when a reply clarifies an intent). Each question goes through two decisions:

1. **Judgement** — which fact the question asks for, and so its error category: an open intent
   (useful, no category), an intent already clarified (``redundant``), a value the request states
   (``clearly_stated``), or nothing (``imprecise`` when it is about the task but too vague to tell
   which value is wanted, else ``irrelevant``).
2. **Reply** — in persona (:mod:`asktoact.eval.personas`), deterministic per seed.

Backends:

* ``rules`` (offline default): the judgement scores the question against each fact from what
  the user knows (:mod:`asktoact.eval.matching`: sentence-embedding similarity to the parameter's
  name and description, distinctive words, the kind of value and direction asked for, the API or
  step named, and the noun its question word governs: "what *number*"); the best match at or
  above ``match_threshold`` is the target — or at or above ``near_match_threshold`` when it leads
  the runner-up by ``lead_threshold`` — and an unmatched question is vague when its best score
  reaches ``vague_threshold``. The reply comes from the persona's templates and
  avoidance rates.
* ``litellm``: a model playing the persona writes the reply; it knows the original request only
  (AskToAct F.2's structure, our words). The judgement is a separate structured call that sees the
  question and the list of facts, so judging never steers the reply. An invalid judgement or a
  failed reply call falls back to the rules backend for that question (counted in ``fallbacks``).

Either way, the intents a reply reveals are marked clarified.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from asktoact.configurable import UNIT, configurable
from asktoact.data.phrasing import words
from asktoact.data.quality import DEFAULT_MODEL as EMBEDDER
from asktoact.eval import matching
from asktoact.eval.intents import Fact, facts, reveals
from asktoact.eval.personas import PERSONAS, Persona, chance, pick_persona
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder
from asktoact.schema import ToolSpec, TransformationRecord


@dataclass
class Judgement:
    reply: str
    target: str | None  # a Fact key, or None
    category: str | None  # error category, None for a useful question (and for no question)
    new_intent: bool = False  # the reply clarified an intent
    withheld: bool = False  # asked for an intent, the reply did not give its value
    no_question: bool = False  # the turn asked nothing: a wasted round
    fallbacks: int = 0  # LLM simulator: how many of its two calls fell back to the rules (0-2)


@dataclass
class UserContext:
    id: str
    task: str
    intents: list[Fact]
    stated: list[Fact]
    persona: Persona
    clarified: set[str] = field(default_factory=set)
    asked: Counter[str] = field(default_factory=Counter)
    rounds: int = 0
    topics: tuple[set[str], ...] = ()  # content words of what the request's APIs are for

    @property
    def apis(self) -> set[str]:
        return {api for f in self.intents + self.stated for api, _ in f.params}

    def fact(self, key: str) -> Fact:
        return next(f for f in self.intents + self.stated if f.key == key)


def category_of(ctx: UserContext, target: str | None, vague: bool) -> str | None:
    if target is None:
        return "imprecise" if vague else "irrelevant"
    if target.startswith("S"):
        return "clearly_stated"
    return "redundant" if target in ctx.clarified else None


def persona_reply(ctx: UserContext, target: str | None, seed: int) -> str:
    """The persona's reply to a question about ``target`` (None: nothing the user knows)."""
    p = ctx.persona
    rng = random.Random(f"reply:{seed}:{ctx.id}:{ctx.rounds}")
    if target is None:
        return rng.choice(p.unknown)
    value, attempt = ctx.fact(target).value_text, ctx.asked[target]
    if target.startswith("S"):
        return rng.choice(p.answer).format(value=value)
    if target in ctx.clarified:
        if chance(seed, ctx.id, target, attempt, "again") < p.avoid_again:
            return rng.choice(p.refuse_repeat)
        return rng.choice(p.repeat).format(value=value)
    if attempt == 0 and chance(seed, ctx.id, target, attempt, "first") < p.avoid_first:
        return rng.choice(p.avoid)
    return rng.choice(p.answer).format(value=value)


def wasted_round(ctx: UserContext, seed: int) -> Judgement:
    """A turn with no question in it: the user says, in the persona's voice, that they cannot
    tell what is being asked; nothing is clarified, and the round counts."""
    rng = random.Random(f"confused:{seed}:{ctx.id}:{ctx.rounds}")
    ctx.rounds += 1
    return Judgement(rng.choice(ctx.persona.confused), None, None, no_question=True)


def settle(ctx: UserContext, target: str | None, category: str | None, reply: str) -> Judgement:
    """Close one round: count the question, mark clarified every intent the reply reveals."""
    revealed = [f.key for f in ctx.intents if f.key not in ctx.clarified and reveals(reply, f)]
    withheld = bool(target and target.startswith("I")) and not reveals(reply, ctx.fact(target))
    if target:
        ctx.asked[target] += 1
    ctx.clarified.update(revealed)
    ctx.rounds += 1
    return Judgement(reply, target, category, bool(revealed), withheld)


def _content_words(name: str) -> set[str]:
    """Words of a parameter name that can identify it in a question (the offline LLM judge's
    rule; "to" cannot)."""
    return set(words(name)) - {"to", "from", "in", "on", "at", "of", "for", "by", "the", "id"}


@configurable(
    defaults={"seed": "${seed}"},
    bounds={
        "persona": {"choices": ("random", *PERSONAS)},
        "match_threshold": UNIT,
        "vague_threshold": UNIT,
        "near_match_threshold": UNIT,
        "lead_threshold": UNIT,
        **{f"{k}_weight": UNIT for k in ("word", "kind", "direction", "api", "focus")},
        "embed_batch_size": {"ge": 1},
    },
)
class RulesSimulator:
    def __init__(
        self,
        name: str = "rules",
        persona: str = "random",
        seed: int = 0,
        model: str = EMBEDDER,
        match_threshold: float = 0.5,
        vague_threshold: float = 0.3,
        near_match_threshold: float = 0.4,
        lead_threshold: float = 0.2,
        word_weight: float = 0.35,
        kind_weight: float = 0.3,
        direction_weight: float = 0.2,
        api_weight: float = 0.25,
        focus_weight: float = 0.3,
        device: str = "cpu",
        embed_batch_size: int = 256,
    ):
        from asktoact.data.quality import SimilarityScorer

        self.name = name
        self.scorer = SimilarityScorer(model, embed_batch_size, device)
        self.match, self.vague = match_threshold, vague_threshold
        self.near, self.lead = near_match_threshold, lead_threshold
        # the weights' defaults live here, in the signature the simulator's schema is read from
        self.weights = matching.Weights(
            word_weight, kind_weight, direction_weight, api_weight, focus_weight
        )
        self.persona, self.seed = persona, seed

    @classmethod
    def default_weights(cls, **changes: float) -> matching.Weights:
        """The matching weights the simulator's signature defaults to (``changes`` replace
        some): the one place their values are written."""
        import dataclasses
        import inspect

        params = inspect.signature(cls).parameters
        kinds = ("word", "kind", "direction", "api", "focus")
        weights = matching.Weights(*(params[f"{k}_weight"].default for k in kinds))
        return dataclasses.replace(weights, **changes)

    def start(self, record: TransformationRecord, tools: list[ToolSpec]) -> UserContext:
        rng = random.Random(f"persona:{self.seed}:{record.id}")
        intents, stated = facts(record, tools)
        persona = pick_persona(self.persona, rng)
        called = {c.name for c in record.key_info}
        topics = tuple(matching.content(t.description) for t in tools if t.name in called)
        return UserContext(
            record.id, record.original_query, intents, stated, persona, topics=topics
        )

    def score(self, ctx: UserContext, question: str, q_emb) -> tuple[str | None, float, float]:
        """The fact the question most likely asks for (:mod:`asktoact.eval.matching`), its score
        and its lead over the runner-up; on a tie, the intent still open (a user answers that
        rather than repeat one)."""
        candidates = ctx.intents + ctx.stated
        if not candidates:
            return None, -1.0, 0.0
        sims = [float((self.scorer.embed(f.profile.texts) @ q_emb).max()) for f in candidates]
        signals = matching.read_question(question)
        profiles = [f.profile for f in candidates]
        combined = matching.scores(signals, profiles, sims, self.weights, ctx.topics)

        def rank(k: int) -> tuple[float, bool]:
            fact = candidates[k]
            return round(combined[k], 4), fact.key.startswith("I") and fact.key not in ctx.clarified

        best = max(range(len(candidates)), key=rank)
        runner_up = max((c for k, c in enumerate(combined) if k != best), default=0.0)
        return candidates[best].key, combined[best], combined[best] - max(runner_up, 0.0)

    def judge(self, items: list[tuple[UserContext, str]]) -> list[tuple[str | None, bool]]:
        """(target, vague) for each (user, question)."""
        # Embedded without the API names and steps it mentions: those say which call is meant
        # (a signal of its own), and would pull the question towards whatever they spell.
        q_embs = self.scorer.embed([matching.without_calls(q, ctx.apis) for ctx, q in items])
        out = []
        for (ctx, question), q_emb in zip(items, q_embs, strict=True):
            target, score, lead = self.score(ctx, question, q_emb)
            # A question well above the vague level that points at one fact far more than at
            # any other is understood even when its words are few ("How warm should it be?").
            clear = score >= self.match or (score >= self.near and lead >= self.lead)
            out.append((target if clear else None, score >= self.vague))
        return out

    def reply_batch(self, items: list[tuple[UserContext, str]]) -> list[Judgement]:
        """One judgement and reply per (user, question); a turn that asked nothing (question
        "") is a wasted round."""
        asked = [k for k, (_, q) in enumerate(items) if q]
        judged = dict(zip(asked, self.judge([items[k] for k in asked]), strict=True))
        out = []
        for k, (ctx, _) in enumerate(items):
            if k not in judged:
                out.append(wasted_round(ctx, self.seed))
                continue
            target, vague = judged[k]
            category = category_of(ctx, target, vague)
            out.append(settle(ctx, target, category, persona_reply(ctx, target, self.seed)))
        return out


REPLY_PROMPT = """You are {name}: {traits}. You speak in a {tone} way.
You asked an assistant for help with a task, which you described in your own words as:
"{task}"
That description is all you know. The assistant may be unsure of some details and ask about
them. For each of its messages:
1. If the answer is not in your task description, say that you do not know it, and reveal
   nothing else.
2. Otherwise answer only what was asked, briefly and from your own point of view, adding nothing.
If the message holds more than a question, answer only its question. Show your character in
every reply. For example, asked "What is your name?" when your name is Emma, you would say:
"{example}\""""

JUDGE_PROMPT = """You judge one question that an assistant asked a user while preparing API
calls. You get the question and the facts it may be asking for, each with an id, the API and
parameter it belongs to, and a short description. Decide which single fact the question asks for.
If it asks for none of them, say whether it is about the task but too vague to tell which value
is wanted ("vague") or unrelated to the calls ("irrelevant").
Reply with one JSON object: {"target": "<fact id or none>", "kind": "vague" | "irrelevant" | null}."""


def judge_payload(ctx: UserContext, question: str) -> dict[str, Any]:
    return {
        "question": question,
        "facts": [
            {"id": f.key, "api": api, "parameter": p, "description": f.descriptors[0]}
            for f in ctx.intents + ctx.stated
            for api, p in f.params[:1]
        ],
    }


class LiteLLMSimulator(RulesSimulator):
    """A model writes the persona's reply and, in a separate structured call, judges the target;
    the rules simulator stands in for an invalid judgement or a failed reply (counted)."""

    def __init__(self, client: LLMClient, name: str = "litellm", **rules: Any):
        # The rules simulator's settings (persona, seed, embedder, thresholds) make the fallback.
        super().__init__(name=name, **rules)
        self.client, self.fallbacks = client, 0

    def _judge_request(self, ctx: UserContext, question: str, n: int) -> JsonRequest:
        keys = {f.key for f in ctx.intents + ctx.stated}

        def validate(obj: Any) -> tuple[str | None, bool]:
            target = str(obj.get("target", "none")) if isinstance(obj, dict) else None
            if target is None or (target != "none" and target not in keys):
                raise ValueError(f"'target' must be one of {sorted(keys)} or 'none'")
            if target == "none" and obj.get("kind") not in ("vague", "irrelevant"):
                raise ValueError("'kind' must be 'vague' or 'irrelevant' when target is none")
            return (None, obj["kind"] == "vague") if target == "none" else (target, False)

        system = {"role": "system", "content": JUDGE_PROMPT}
        user = {"role": "user", "content": json.dumps(judge_payload(ctx, question))}
        return JsonRequest(f"{ctx.id}:{n}", [system, user], validate, "simulator.judge")

    def _reply_messages(self, ctx: UserContext, question: str) -> list[dict[str, str]]:
        p = ctx.persona
        system = REPLY_PROMPT.format(
            name=p.name, traits=p.traits, tone=p.tone, task=ctx.task, example=p.example
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": question}]

    def reply_batch(self, items: list[tuple[UserContext, str]]) -> list[Judgement]:
        """As the rules simulator's; turns that asked nothing are wasted rounds, not sent."""
        asked = [k for k, (_, q) in enumerate(items) if q]
        replies = dict(zip(asked, self._llm_batch([items[k] for k in asked]), strict=True))
        return [replies.get(k) or wasted_round(c, self.seed) for k, (c, _) in enumerate(items)]

    def _llm_batch(self, items: list[tuple[UserContext, str]]) -> list[Judgement]:
        judged = self.client.run_json(
            [self._judge_request(c, q, c.rounds + 1) for c, q in items], "simulator judge"
        )
        replies = self.client.run_text(
            [self._reply_messages(c, q) for c, q in items], "simulator", task="simulator.reply"
        )
        bad = [k for k, r in enumerate(judged) if not r.ok]
        rules = dict(zip(bad, self.judge([items[k] for k in bad]), strict=True))
        out = []
        for k, ((ctx, _), j, r) in enumerate(zip(items, judged, replies, strict=True)):
            target, vague = j.value if j.ok else rules[k]
            category = category_of(ctx, target, vague)
            text = r.value if r.ok and r.value.strip() else None
            if text is None:
                text = persona_reply(ctx, target, self.seed)
            fell_back = (not j.ok) + (not (r.ok and r.value.strip()))
            self.fallbacks += fell_back
            judgement = settle(ctx, target, category, text)
            judgement.fallbacks = fell_back
            out.append(judgement)
        return out


def _offline_judge(messages: list[dict[str, str]], rng: random.Random) -> dict[str, Any]:
    """The offline provider's judge: the fact whose parameter words the question uses most."""
    payload = json_payload(messages)
    asked = set(words(payload["question"]))
    best, hits = "none", 0
    for fact in payload["facts"]:
        n = len(_content_words(fact["parameter"]) & asked)
        if n > hits:
            best, hits = fact["id"], n
    apis = {w for f in payload["facts"] for w in words(f["api"])}
    return {"target": best, "kind": None if hits else ("vague" if asked & apis else "irrelevant")}


def _offline_reply(messages: list[dict[str, str]], rng: random.Random) -> str:
    """The offline provider's user cannot read its own task: it never reveals a value."""
    return "I do not know that."


register_responder("simulator.judge", _offline_judge)
register_responder("simulator.reply", _offline_reply)
