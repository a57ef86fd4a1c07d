"""A person plays the user against any assistant (AskToAct §3.4.2, Table 4; ``asktoact-chat``).

Shows the task from the user's side and the values the request leaves out, then alternates: the
assistant's turn is printed, the person types the reply, until a ``[SUMMARY]`` (or ``max_rounds``).
The person then says whether the task was completed and how satisfied they are (1–5). Each session
is appended to ``chat_transcripts.jsonl`` with what Table 4 averages: task completion, intents
clarified (the same "revealed" rule as the simulator), interaction rounds and satisfaction;
``asktoact-report`` builds Table 4 from all recorded sessions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig

from asktoact.configurable import config_field as F
from asktoact.data.build import BuildsData
from asktoact.eval.episode import Episode
from asktoact.eval.intents import reveals
from asktoact.eval.metrics import score_solution
from asktoact.eval.parse import parse_turn
from asktoact.eval.personas import PERSONAS
from asktoact.eval.run import EvalDataConfig, load_rows
from asktoact.eval.simulator import UserContext
from asktoact.weights import entry_name

log = logging.getLogger(__name__)


class _Person:
    """Stands where the simulator would: a context for the episode, the person types replies."""

    def start(self, record, tools) -> UserContext:
        from asktoact.eval.intents import facts

        intents, stated = facts(record, tools)
        # The persona is the person's own; this one only fills the field.
        return UserContext(record.id, record.original_query, intents, stated, PERSONAS["cold_fish"])


def ask_choice(ask: Callable[[str], str], say, prompt: str, allowed: dict[str, Any]) -> Any:
    """Ask until the answer is one of ``allowed`` (case-insensitive)."""
    while True:
        answer = ask(prompt).strip().lower()
        if answer in allowed:
            return allowed[answer]
        say(f"Please answer one of: {', '.join(allowed)}")


def chat(
    cfg: DictConfig,
    run_dir: Path,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """One session, appended to ``chat_transcripts.jsonl``. Input that closes (end of a piped
    file, Ctrl-D) ends the session there: what was played is saved, unrated."""
    row = load_rows(cfg, run_dir)[cfg.index]
    ep = Episode.from_row(row, _Person(), cfg.reward.irm)
    agent = instantiate(cfg.agent)
    say(f"Your request (as the assistant sees it): {ep.record.unspecified_query}")
    say(f"What you really want: {ep.record.original_query}")
    hidden = "; ".join(
        f"{ep.record.key_info[i].name}.{n} = {a.original_value}" for i, n, a in ep.record.removed()
    )
    say("Values you know but did not say: " + (hidden or "none"))
    rating: dict[str, Any] = {"completed": None, "satisfaction": None, "ended": "input closed"}
    try:
        play(cfg, ep, agent, ask, say)
        rating = rate(ep, ask, say)
    except EOFError:
        say("\n(input closed: the session ends here and is saved as played, unrated)")
    return record_session(cfg, run_dir, ep, rating)


def play(cfg: DictConfig, ep: Episode, agent, ask, say) -> None:
    for _ in range(cfg.max_rounds + 1):
        text = agent.respond([ep])[0]
        if text is None:  # the agent has no more turns (a replay ran out)
            return
        ep.messages.append({"role": "assistant", "content": text})
        say(f"\nASSISTANT: {text}")
        turn = parse_turn(text)
        if turn.kind == "summary":
            ep.solution = turn.solution
            return
        reply = ask("YOU: ")
        ep.messages.append({"role": "user", "content": reply})
        ep.user.rounds += 1
        ep.user.clarified |= {f.key for f in ep.user.intents if reveals(reply, f)}


def rate(ep: Episode, ask, say) -> dict[str, Any]:
    valid, tss, prs = score_solution(ep.solution, ep.gold)
    say(f"\nSolution valid: {valid}; tool selection F1 {tss:.2f}; parameter F1 {prs:.2f}")
    completed = ask_choice(ask, say, "Was your task completed? (y/n) ", {"y": True, "n": False})
    scores = {str(k): k for k in range(1, 6)}
    satisfaction = ask_choice(ask, say, "How satisfied are you, 1 (not) to 5 (very)? ", scores)
    return {"completed": completed, "satisfaction": satisfaction, "ended": "rated"}


def record_session(cfg: DictConfig, run_dir: Path, ep: Episode, rating) -> dict[str, Any]:
    valid, tss, prs = score_solution(ep.solution, ep.gold)
    result = {
        "id": ep.id,
        "agent": agent_label(cfg.agent),
        "messages": ep.messages,
        "solution": ep.solution,
        "valid": valid,
        "tss": tss,
        "prs": prs,
        "intents": len(ep.user.intents),
        "clarified": len(ep.user.clarified),
        "rounds": ep.user.rounds,
        **rating,
    }
    with open(run_dir / "chat_transcripts.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


def agent_label(agent_cfg: DictConfig) -> str:
    """Which assistant a session was with: the model path or API model, else the agent's name."""
    if "path" in agent_cfg:
        return entry_name(str(agent_cfg.path))
    if "client" in agent_cfg:
        return str(agent_cfg.client.model)
    return str(agent_cfg.name)


# -- settings (conf/chat.yaml; validated by asktoact.config) ---------------------------------------
@dataclass
class ChatConfig(BuildsData):
    agent: Any = MISSING
    reward: Any = MISSING
    max_rounds: int = F(ge=1)
    index: int = F(ge=0)
    data: EvalDataConfig = MISSING
