"""Error-type judgements (AskToAct Table 6) that the transcript alone cannot decide.

The simulator's target decides *clearly-stated* (asked for a stated value), *redundant* (asked for
an intent already clarified) and, at the end, *incomplete* (answered while an intent was never
clarified): rule detectors. A question that targeted nothing is *imprecise* (about the task, too
vague to answer) or *irrelevant* (would change no call); that needs judgement. With
``judge.backend=rules`` the simulator's similarity rule decides; with ``judge.backend=litellm`` a
model re-judges those questions (an invalid reply keeps the rule's category, counted).
"""

from __future__ import annotations

import json
from typing import Any

from asktoact.data.phrasing import words
from asktoact.llm import JsonRequest, LLMClient, json_payload, register_responder

SYSTEM_PROMPT = """You review one question an assistant asked a user while preparing API calls.
You get the user's request, the calls the assistant must make (API and parameter names) and the
question. The question did not ask for any specific parameter value. Classify it:
- "imprecise": it is about the task or its parameters but too vague for the user to know which
  value is wanted;
- "irrelevant": its answer would not change any of the calls.
Reply with one JSON object: {"category": "imprecise" | "irrelevant"}."""


def _validate(obj: Any) -> str:
    cat = obj.get("category") if isinstance(obj, dict) else None
    if cat not in ("imprecise", "irrelevant"):
        raise ValueError("'category' must be 'imprecise' or 'irrelevant'")
    return cat


def rules_judge() -> None:
    """The ``judge=rules`` choice: no model; the simulator's similarity rule decides."""
    return None


class LiteLLMJudge:
    def __init__(self, client: LLMClient):
        self.client, self.failures = client, 0

    def __call__(self, episodes) -> None:
        """Re-judge, in place, every untargeted question of these finished episodes."""
        todo = []
        for ep in episodes:
            calls = [{"api": c.name, "parameters": list(c.arguments)} for c in ep.record.key_info]
            questions = [m["content"] for m in ep.messages if m["role"] == "assistant"]
            for k, j in enumerate(ep.judgements):
                if j["target"] is None and not j.get("no_question"):  # a question, untargeted
                    payload = {
                        "request": ep.record.original_query,
                        "calls": calls,
                        "question": questions[k],
                    }
                    messages = [
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
                    ]
                    todo.append((j, JsonRequest(f"{ep.id}:{k}", messages, _validate, "judge")))
        for (j, _), res in zip(
            todo, self.client.run_json([r for _, r in todo], "judge"), strict=True
        ):
            if res.ok:
                j["category"], j["judged_by"] = res.value, "llm"
            else:  # the rule's category stands; the transcript says so (fallback shares)
                j["judged_by"] = "rules (the model's reply was unusable)"
                self.failures += 1


def _offline_judge(messages: list[dict[str, str]], rng) -> dict[str, str]:
    """The offline provider's judge: imprecise when the question uses a word of the calls' API or
    parameter names (it is about the task), else irrelevant."""
    payload = json_payload(messages)
    known = {w for c in payload["calls"] for n in [c["api"], *c["parameters"]] for w in words(n)}
    return {"category": "imprecise" if set(words(payload["question"])) & known else "irrelevant"}


register_responder("judge", _offline_judge)
