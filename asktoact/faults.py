"""Opt-in fault injection: the process SIGKILLs itself at a named moment of a run.

``ASKTOACT_KILL_AT=<moment>:<k>`` (several separated by commas) makes the process kill itself
(SIGKILL: no clean-up, no flush, as a power cut or the OOM killer would) the first time the code
reaches that moment with count ``k``; ``<moment>`` alone matches any count. Unset, every check is
one dictionary look-up. The kill tests (``tests/test_faults.py``) use it to stop runs at every
dangerous moment deterministically, on any machine, instead of at wall-clock moments whose
position depends on the machine's speed.

The moments, next to the code that reaches them, are listed in :data:`MOMENTS`.
"""

from __future__ import annotations

import os
import signal

ENV = "ASKTOACT_KILL_AT"

MOMENTS = {
    # asktoact-train (k = the optimizer step)
    "train.step": "after optimizer step k, before its checkpoint",
    "train.ckpt_write": "inside the write of step k's checkpoint (file complete, not yet renamed)",
    "train.ckpt_saved": "after step=k.ckpt is in place, before last.ckpt is updated",
    "train.last_saved": "after last.ckpt of step k is in place",
    "train.outputs": "after training, with adapter/ written and merged/ not yet complete (k = 0)",
    # every LLM-backed stage (generate with llm=..., evaluate with an LLM simulator or judge)
    "llm.reply": "after the k-th LLM reply this process received is in the cache",
    # asktoact-generate
    "generate.files": "after every stage, with some dataset files written and others not (k = 0)",
    # asktoact-evaluate (k = episodes finished by this process)
    "evaluate.episode": "after the k-th finished episode is appended to transcripts.jsonl",
    "evaluate.episode_write": "in the middle of writing the k-th episode's transcript line",
    "evaluate.metrics": "after every episode, before metrics.json is written (k = 0)",
}


def _wanted() -> list[tuple[str, int | None]]:
    spec = os.environ.get(ENV, "").strip()
    wanted = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition(":")
        if name not in MOMENTS:
            raise ValueError(
                f"{ENV}={spec!r}: unknown moment {name!r}; valid: {', '.join(sorted(MOMENTS))}"
            )
        wanted.append((name, int(count) if count else None))
    return wanted


def armed(moment: str, k: int = 0) -> bool:
    """Whether ``ASKTOACT_KILL_AT`` names ``moment`` with count ``k`` (for a moment that must
    first leave something half done, as a kill in the middle of a write does)."""
    if ENV not in os.environ:
        return False
    assert moment in MOMENTS, moment  # a typo in the code, not in the user's variable
    return any(name == moment and count in (None, k) for name, count in _wanted())


def reached(moment: str, k: int = 0) -> None:
    """Called where ``moment`` happens; kills the process when ``ASKTOACT_KILL_AT`` names it."""
    if armed(moment, k):
        os.kill(os.getpid(), signal.SIGKILL)
