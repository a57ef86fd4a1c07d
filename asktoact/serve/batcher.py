"""Requests from many client threads answered in batches by one worker thread.

A client that sends its entries concurrently (BFCL's ``--num-threads``) gets them generated
together, which on a CPU is most of the speed: one forward pass over the batch costs about as much
as one over a single row. The worker takes what is waiting (up to ``max_batch``, waiting at most
``wait_s`` for more) and runs it as one call of ``run(key, items)``; items of different keys (a
raw prompt and a protocol chat, or two reply budgets) go in different calls.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any


class Batcher:
    def __init__(
        self,
        run: Callable[[Hashable, list[Any]], list[Any]],
        max_batch: int = 16,
        wait_s: float = 0.05,
    ):
        self.run, self.max_batch, self.wait_s = run, max_batch, wait_s
        self._queue: queue.Queue = queue.Queue()
        self._worker = threading.Thread(target=self._loop, daemon=True, name="batcher")
        self._worker.start()

    def submit(self, key: Hashable, item: Any) -> Any:
        """Block until ``item`` has its answer (an exception in the batch is raised here)."""
        future: Future = Future()
        self._queue.put((key, item, future))
        return future.result()

    def _take(self) -> list[tuple[Hashable, Any, Future]]:
        waiting = [self._queue.get()]
        deadline = time.monotonic() + self.wait_s
        while len(waiting) < self.max_batch:
            left = deadline - time.monotonic()
            try:
                waiting.append(
                    self._queue.get(timeout=max(left, 0)) if left > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return waiting

    def _loop(self) -> None:
        while True:
            groups: dict[Hashable, list[tuple[Any, Future]]] = {}
            for key, item, future in self._take():
                groups.setdefault(key, []).append((item, future))
            for key, entries in groups.items():
                try:
                    answers = self.run(key, [item for item, _ in entries])
                except Exception as exc:  # the clients see it; the worker serves the next batch
                    for _, future in entries:
                        future.set_exception(exc)
                    continue
                for (_, future), answer in zip(entries, answers, strict=True):
                    future.set_result(answer)
