"""The user simulator: answers the assistant's questions from the user's side of the task.

Contract (both backends): the user knows their full original request and the hidden values; a
question about an unspecified intent gets its value (in persona); a repeated question gets the
value again with annoyance; a question about something the request already states gets that
value; anything else gets "I don't know". Each reply comes with a judgement: which intent (or
stated argument) the question targeted and which error category it falls in, if any
(``clearly_stated``, ``redundant``, ``irrelevant``, ``imprecise``).

* ``rules`` (offline default): embeds the question and short descriptions of every argument
  (parameter name, its description, the API, and the dataset's own question for that intent) with a
  sentence-transformers model; the best match above ``match_threshold`` is the target. An
  unmatched question is *imprecise* when its best similarity is at least ``vague_threshold`` (it is
  about the task but not specific enough), else *irrelevant*.
* ``litellm``: the model plays the persona and returns ``{"reply", "target", "category"}``; an
  invalid judgement falls back to the rules backend for that question (counted).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from asktoact.data.clarify import groups
from asktoact.data.phrasing import humanise, words
from asktoact.eval.personas import Persona, pick_persona
from asktoact.llm import JsonRequest, LLMClient
from asktoact.schema import ToolSpec, TransformationRecord, render_value


@dataclass
class Fact:
    """Something the user can tell: an unspecified intent (``I<k>``) or a stated argument (``S<k>``)."""

    key: str
    value_text: str
    params: list[tuple[str, str]]  # (api, parameter)
    descriptors: list[str]


@dataclass
class Judgement:
    reply: str
    target: str | None  # a Fact key, or None
    category: str | None  # error category, None for a useful question
    new_intent: bool = False


@dataclass
class UserContext:
    id: str
    task: str
    intents: list[Fact]
    stated: list[Fact]
    persona: Persona
    clarified: set[str] = field(default_factory=set)
    rounds: int = 0


def _descriptors(api: str, name: str, tool: ToolSpec | None, question: str | None) -> list[str]:
    spec = tool.param(name) if tool else None
    out = [f"What is the {humanise(name)} for {humanise(api)}?"]
    if spec and spec.description:
        out.append(f"{humanise(name)}: {spec.description}")
    if question:
        out.append(question)
    return out


def user_context(
    record: TransformationRecord, tools: list[ToolSpec], persona: Persona
) -> UserContext:
    by_name = {t.name: t for t in tools}
    intents = []
    for k, group in enumerate(groups(record)):
        first = group[0][2]
        params = [(record.key_info[i].name, n) for i, n, _ in group]
        desc = [
            d
            for i, n, a in group
            for d in _descriptors(
                record.key_info[i].name, n, by_name.get(record.key_info[i].name), a.question
            )
        ]
        intents.append(
            Fact(f"I{k}", first.original_value or render_value(first.value), params, desc)
        )
    stated = [
        Fact(
            f"S{k}",
            a.original_value or render_value(a.value),
            [(record.key_info[i].name, n)],
            _descriptors(record.key_info[i].name, n, by_name.get(record.key_info[i].name), None),
        )
        for k, (i, n, a) in enumerate(p for p in record.params() if not p[2].removed)
    ]
    return UserContext(record.id, record.original_query, intents, stated, persona)


def respond(ctx: UserContext, target: str | None, vague: bool, rng: random.Random) -> Judgement:
    """Apply a target decision to the context and word the reply in persona."""
    facts = {f.key: f for f in ctx.intents + ctx.stated}
    p = ctx.persona
    if target is None:
        return Judgement(rng.choice(p.unknown), None, "imprecise" if vague else "irrelevant")
    fact = facts[target]
    if target.startswith("S"):
        return Judgement(
            rng.choice(p.answer).format(value=fact.value_text), target, "clearly_stated"
        )
    if target in ctx.clarified:
        return Judgement(rng.choice(p.repeat).format(value=fact.value_text), target, "redundant")
    ctx.clarified.add(target)
    return Judgement(
        rng.choice(p.answer).format(value=fact.value_text), target, None, new_intent=True
    )


_FUNCTION_WORDS = {
    "to",
    "from",
    "in",
    "on",
    "at",
    "of",
    "for",
    "by",
    "the",
    "a",
    "an",
    "is",
    "id",
    "and",
    "or",
}


def _content_words(name: str) -> set[str]:
    """Words of a parameter name that can identify it in a question ("to" cannot)."""
    return set(words(name)) - _FUNCTION_WORDS


class RulesSimulator:
    def __init__(
        self,
        model: str = "all-MiniLM-L6-v2",
        match_threshold: float = 0.5,
        vague_threshold: float = 0.3,
        keyword_bonus: float = 0.15,
        persona: str = "random",
        seed: int = 0,
        device: str = "cpu",
        **_: Any,
    ):
        from asktoact.data.quality import SimilarityScorer

        self.scorer = SimilarityScorer(model, device=device)
        self.match, self.vague, self.bonus = match_threshold, vague_threshold, keyword_bonus
        self.persona, self.seed = persona, seed
        self._cache: dict[str, Any] = {}

    def start(self, record: TransformationRecord, tools: list[ToolSpec]) -> UserContext:
        rng = random.Random(f"persona:{self.seed}:{record.id}")
        return user_context(record, tools, pick_persona(self.persona, rng))

    def _embed(self, texts: list[str]):
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            emb = self.scorer.model.encode(
                todo, batch_size=256, normalize_embeddings=True, convert_to_tensor=True
            )
            self._cache.update(zip(todo, emb, strict=True))
        return [self._cache[t] for t in texts]

    def score(self, ctx: UserContext, question: str, q_emb) -> tuple[str | None, float]:
        qwords = set(words(question))
        scored = []
        for fact in ctx.intents + ctx.stated:
            sims = [float(q_emb @ d) for d in self._embed(fact.descriptors)]
            named = any(_content_words(n) and _content_words(n) <= qwords for _, n in fact.params)
            # On an exact tie, a user answers the value still open rather than repeat one.
            open_intent = fact.key.startswith("I") and fact.key not in ctx.clarified
            scored.append(
                (round(max(sims) + (self.bonus if named else 0.0), 4), open_intent, fact.key)
            )
        if not scored:
            return None, -1.0
        score, _, key = max(scored, key=lambda t: (t[0], t[1]))
        return key, score

    def reply_batch(self, items: list[tuple[UserContext, str]]) -> list[Judgement]:
        q_embs = self._embed([q for _, q in items])
        out = []
        for (ctx, question), q_emb in zip(items, q_embs, strict=True):
            ctx.rounds += 1
            target, score = self.score(ctx, question, q_emb)
            rng = random.Random(f"reply:{self.seed}:{ctx.id}:{ctx.rounds}")
            out.append(
                respond(ctx, target if score >= self.match else None, score >= self.vague, rng)
            )
        return out


SYSTEM_PROMPT = """You play a user who asked an assistant for help. Stay in character:
you are {name}: {traits}. Your tone is {tone}.
Your request was: "{task}". You know these facts and nothing else:
{facts}
The assistant now asks you a question. Decide which single fact it asks for, if any:
- it asks for an I-fact: give that value, in character (if it already asked for it before, give
  it again but show annoyance);
- it asks for an S-fact (something your request already said): give that value, in character;
- otherwise say you do not know, in character. Never reveal facts that were not asked for.
Reply with one JSON object: {{"reply": "<your words>", "target": "<fact id or none>",
"category": "<answer|repeat|stated|vague|irrelevant>"}} where "vague" means the question was about
your task but too unclear to tell which fact it wants."""

_CATEGORY = {
    "answer": None,
    "repeat": "redundant",
    "stated": "clearly_stated",
    "vague": "imprecise",
    "irrelevant": "irrelevant",
}


class LiteLLMSimulator(RulesSimulator):
    """The model decides and words the reply; the rules backend answers when its judgement is invalid."""

    def __init__(self, client: LLMClient, **kwargs: Any):
        super().__init__(**kwargs)
        self.client, self.fallbacks = client, 0

    def _request(self, ctx: UserContext, question: str, n: int) -> JsonRequest:
        facts = "\n".join(
            f"- {f.key}: {', '.join(f'{a}.{p}' for a, p in f.params)} = {f.value_text}"
            for f in ctx.intents + ctx.stated
        )
        system = SYSTEM_PROMPT.format(
            name=ctx.persona.name,
            traits=ctx.persona.traits,
            tone=ctx.persona.tone,
            task=ctx.task,
            facts=facts,
        )
        keys = {f.key for f in ctx.intents + ctx.stated}

        def validate(obj: Any) -> dict[str, Any]:
            if not isinstance(obj, dict) or not isinstance(obj.get("reply"), str):
                raise ValueError("expected an object with a string 'reply'")
            target = str(obj.get("target", "none"))
            if target != "none" and target not in keys:
                raise ValueError(f"'target' must be one of {sorted(keys)} or 'none'")
            if obj.get("category") not in _CATEGORY:
                raise ValueError(f"'category' must be one of {sorted(_CATEGORY)}")
            return {
                "reply": obj["reply"],
                "target": None if target == "none" else target,
                "category": obj["category"],
            }

        return JsonRequest(
            f"{ctx.id}:{n}",
            [{"role": "system", "content": system}, {"role": "user", "content": question}],
            validate,
        )

    def reply_batch(self, items: list[tuple[UserContext, str]]) -> list[Judgement]:
        results = self.client.run_json(
            [self._request(c, q, c.rounds + 1) for c, q in items], "simulator"
        )
        out, fallback = [], []
        for k, ((ctx, _), res) in enumerate(zip(items, results, strict=True)):
            if not res.ok:
                fallback.append(k)
                out.append(None)
                continue
            ctx.rounds += 1
            v = res.value
            new = (
                v["target"] is not None
                and v["target"].startswith("I")
                and v["target"] not in ctx.clarified
            )
            if new:
                ctx.clarified.add(v["target"])
            out.append(
                Judgement(
                    v["reply"], v["target"], _CATEGORY[v["category"]] if not new else None, new
                )
            )
        if fallback:
            self.fallbacks += len(fallback)
            for k, j in zip(
                fallback, super().reply_batch([items[k] for k in fallback]), strict=True
            ):
                out[k] = j
        return out
