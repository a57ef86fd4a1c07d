"""The evaluation protocol's identity: the persona set and the code that reads a turn, matches its
question to what the user knows, replies and scores the episode.

Evaluation stores and resumes are keyed by it, so after a change to how questions are counted or
matched (or a persona reworded) ``make reproduce`` evaluates again instead of reusing episodes
played under the old rules. It hashes the modules' source: a comment edit there re-evaluates too,
which costs time but never reports a stale number.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from asktoact.eval import (
    episode,
    intents,
    irm,
    matching,
    metrics,
    parse,
    personas,
    simulator,
    tooluse,
)

# The modules whose code decides an evaluation's numbers (the agent's model is keyed apart).
_PROTOCOL_MODULES = (parse, matching, intents, simulator, episode, metrics, irm, tooluse)


def fingerprint() -> str:
    """A hash of the persona set and the protocol modules' source."""
    return hashlib.sha256(f"{personas.fingerprint()}:{source_digest()}".encode()).hexdigest()[:16]


@functools.cache
def source_digest() -> str:
    """The protocol modules' source, hashed once per process (it does not change under a run)."""
    digest = hashlib.sha256()
    for module in _PROTOCOL_MODULES:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()
