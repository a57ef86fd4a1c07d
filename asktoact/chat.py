"""``asktoact-chat``: a person plays the user against any assistant (AskToAct Table 4 setting).

Shows the task from the user's side and the values the request leaves out, then alternates: the
assistant's turn is printed, the person types the reply, until a ``[SUMMARY]`` (or ``max_rounds``).
The transcript and the solution's scores are appended to ``chat_transcripts.jsonl``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from asktoact.eval.agents import make_agent
from asktoact.eval.metrics import score_solution
from asktoact.eval.parse import parse_turn
from asktoact.eval.run import client_for, load_rows
from asktoact.paths import CONF_DIR
from asktoact.schema import TransformationRecord

log = logging.getLogger(__name__)


class _Ep:
    def __init__(self, row):
        self.id, self.messages = row["id"], [dict(row["messages"][0])]
        self.record = TransformationRecord.from_dict(json.loads(row["record"]))
        from asktoact.schema import ToolSpec

        self.tools = [ToolSpec.from_dict(t) for t in json.loads(row["tools"])]


def chat(
    cfg: DictConfig,
    run_dir: Path,
    ask: Callable[[str], str] = input,
    say: Callable[[str], None] = print,
) -> dict:
    rows = load_rows(cfg, run_dir)
    row = rows[cfg.index]
    ep = _Ep(row)
    agent = make_agent(cfg.agent, lambda a: client_for(a, cfg.cache_dir, json_mode=False))
    say(f"Your request (as the assistant sees it): {ep.record.unspecified_query}")
    say(f"What you really want: {ep.record.original_query}")
    say(
        "Values you know but did not say: "
        + "; ".join(
            f"{ep.record.key_info[i].name}.{n} = {a.original_value}"
            for i, n, a in ep.record.removed()
        )
        or "none"
    )
    solution = None
    for _ in range(cfg.max_rounds + 1):
        text = agent.respond([ep])[0]
        ep.messages.append({"role": "assistant", "content": text})
        say(f"\nASSISTANT: {text}")
        turn = parse_turn(text)
        if turn.kind == "summary":
            solution = turn.solution
            break
        ep.messages.append({"role": "user", "content": ask("YOU: ")})
    valid, tss, prs = score_solution(solution, json.loads(row["solution"]))
    result = {
        "id": ep.id,
        "agent": cfg.agent.name,
        "messages": ep.messages,
        "solution": solution,
        "valid": valid,
        "tss": tss,
        "prs": prs,
    }
    with open(run_dir / "chat_transcripts.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    say(f"\nSolution valid: {valid}; tool selection F1 {tss:.2f}; parameter F1 {prs:.2f}")
    return result


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="chat")
def main(cfg: DictConfig) -> None:
    chat(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
