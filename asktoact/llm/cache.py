"""The disk cache of LLM replies: SQLite, keyed by a hash of model + messages + parameters.

One commit per insert, so every reply that arrived before a kill survives it and a restarted run
makes no call twice. Several processes may share one file (WAL journal).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from asktoact import faults


class ResponseCache:
    """SQLite map from request hash to reply text."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: two runs sharing one cache wait for each other's commits.
        self.db = sqlite3.connect(self.path, timeout=60)
        # WAL + NORMAL: each commit survives a killed process (what resuming needs) without an
        # fsync per reply, which would otherwise dominate fast, highly concurrent runs.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT)")
        self.stored = 0  # replies this process put: the fault-injection count of llm.reply

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, reply: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, reply))
        self.db.commit()
        self.stored += 1
        faults.reached("llm.reply", self.stored)

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        self.db.close()
