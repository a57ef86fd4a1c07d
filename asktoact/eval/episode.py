"""The dialogue loop: assistant ↔ simulated user, many episodes advanced together, round by round.

Each round every unfinished episode gets one assistant turn (one batched call to the agent); a
``[SUMMARY]`` ends the episode with its solution, anything else is a clarification round answered
by the simulator (one batched call) — a turn without a question in it (``parse.asked``) is a
wasted round: the user says they cannot tell what is asked, and the round counts. An episode that reaches ``max_rounds`` without a summary ends
with no solution. Every turn and every judgement is recorded in the transcript.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from asktoact.eval.irm import irm_reward
from asktoact.eval.metrics import Outcome, score_solution
from asktoact.eval.parse import parse_turn
from asktoact.eval.simulator import UserContext
from asktoact.schema import ToolSpec, TransformationRecord


@dataclass
class Episode:
    id: str
    record: TransformationRecord
    tools: list[ToolSpec]
    gold: list[dict[str, Any]]
    messages: list[dict[str, str]]
    user: UserContext
    rewards: dict[str, float]  # the IRM table (conf/reward/) that scores the final turn
    judgements: list[dict[str, Any]] = field(default_factory=list)
    solution: list[dict[str, Any]] | None = None
    solution_error: str | None = None
    done: bool = False

    @classmethod
    def from_row(cls, row: dict[str, Any], simulator, rewards: dict[str, float]) -> Episode:
        record = TransformationRecord.from_dict(json.loads(row["record"]))
        tools = [ToolSpec.from_dict(t) for t in json.loads(row["tools"])]
        first = row["messages"][0]
        return cls(
            row["id"],
            record,
            tools,
            json.loads(row["solution"]),
            [dict(first)],
            simulator.start(record, tools),
            dict(rewards),
        )

    def outcome(self) -> Outcome:
        valid, tss, prs = score_solution(self.solution, self.gold)
        errors: dict[str, int] = {}
        for j in self.judgements:
            if j["category"]:
                errors[j["category"]] = errors.get(j["category"], 0) + 1
        no_question = sum(bool(j.get("no_question")) for j in self.judgements)
        # a question aimed at an intent still open: a target, and no error category for it
        precise = sum(
            j["target"] is not None and not j["category"] and not j.get("no_question")
            for j in self.judgements
        )
        clarified = len(self.user.clarified)
        # Table 6: every episode that ends with an intent never clarified — by a summary, an
        # unreadable final turn or running out of rounds.
        if clarified < len(self.user.intents):
            errors["incomplete"] = 1
        final = next(
            (m["content"] for m in reversed(self.messages) if m["role"] == "assistant"), ""
        )
        irm, category = irm_reward(final, self.gold, self.tools, self.rewards)
        return Outcome(
            self.id,
            len(self.user.intents),
            clarified,
            len(self.judgements),
            valid,
            tss,
            prs,
            len(self.gold),
            errors,
            irm,
            category,
            no_question,
            parsed=self.solution is not None,
            precise=precise,
        )

    def transcript(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "persona": self.user.persona.key,
            "messages": self.messages,
            "judgements": self.judgements,
            "solution": self.solution,
            "solution_error": self.solution_error,
            "gold": self.gold,
            "outcome": self.outcome().to_dict(),
        }


def run_episodes(
    episodes: list[Episode],
    agent,
    simulator,
    max_rounds: int = 10,
    on_done: Callable[[Episode], None] | None = None,
    judge: Callable[[list[Episode]], None] | None = None,
) -> list[Episode]:
    active = list(episodes)
    bar = tqdm(total=len(episodes), desc="evaluate", unit="dlg")
    for round_no in range(max_rounds + 1):
        if not active:
            break
        # A batched agent answers a whole round at once: say which turn is being written (up to
        # max_rounds clarification rounds, then one more turn for the answer).
        bar.set_postfix_str(
            f"turn {round_no + 1}/{max_rounds + 1}, {len(active)} writing", refresh=True
        )
        pending = []
        for ep, text in zip(active, agent.respond(active), strict=True):
            if text is None:  # the agent has no more turns (a replay ran out)
                ep.solution_error, ep.done = "the agent's turns ran out", True
                continue
            ep.messages.append({"role": "assistant", "content": text})
            turn = parse_turn(text)
            if turn.kind == "summary":
                ep.solution, ep.solution_error, ep.done = turn.solution, turn.error, True
            elif round_no == max_rounds:
                ep.solution_error, ep.done = f"no [SUMMARY] within {max_rounds} rounds", True
            else:  # a question, or "" for a turn that asked nothing (a wasted round)
                pending.append((ep, turn.question))
        for (ep, _), j in zip(
            pending, simulator.reply_batch([(ep.user, q) for ep, q in pending]), strict=True
        ):
            ep.messages.append({"role": "user", "content": j.reply})
            ep.judgements.append(
                {
                    "target": j.target,
                    "category": j.category,
                    "new_intent": j.new_intent,
                    "withheld": j.withheld,
                    "no_question": j.no_question,
                    "fallbacks": j.fallbacks,
                }
            )
        finished = [ep for ep in active if ep.done]
        if judge and finished:
            judge(finished)  # one batched judging call per round, before anything is saved
        for ep in finished:
            bar.update(1)
            if hasattr(agent, "forget"):  # agents that keep per-dialogue state (KV caches)
                agent.forget(ep.id)
            if on_done:
                on_done(ep)
        active = [ep for ep in active if not ep.done]
    bar.close()
    return episodes
