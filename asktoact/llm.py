"""The one LLM client of the project: litellm + disk cache + retries + concurrency + cost.

Every LLM call (data generation, simulation, judging, API assistants) goes through
:class:`LLMClient`. Requests are JSON tasks: the reply is parsed and checked by the caller's
validator; an invalid reply gets one repair round (the error is sent back), then the request is
recorded as failed and the caller drops that row with the reason. Replies are cached in SQLite
keyed by model + messages + parameters, committed per call, so a killed run restarted with the same
config makes no call twice and a full rerun makes none. API keys are read from the environment by
litellm (or from the variable named by ``api_key_env``) and are never stored or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

Validator = Callable[[Any], Any]


@dataclass
class JsonRequest:
    """One JSON-producing call. ``validate`` returns the cleaned value or raises ValueError."""

    key: str
    messages: list[dict[str, str]]
    validate: Validator


@dataclass
class JsonResult:
    key: str
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class LLMStats:
    calls: int = 0
    cache_hits: int = 0
    repairs: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "cost_usd": round(self.cost_usd, 6)}


class ResponseCache:
    """SQLite map from request hash to reply text; one commit per insert survives a kill."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        # WAL + NORMAL: each commit survives a killed process (what resuming needs) without an
        # fsync per reply, which would otherwise dominate fast, highly concurrent runs.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT)")

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, reply: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", (key, reply))
        self.db.commit()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]


def extract_json(text: str) -> Any:
    """The first JSON object or array in a reply, tolerating code fences and surrounding prose."""
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text.strip())
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("reply contains no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise ValueError(f"reply is not valid JSON ({exc.msg})") from None
    return value


@dataclass
class LLMClient:
    """litellm-backed JSON client. ``mock_response`` (litellm's) makes it run with no network."""

    model: str
    cache_path: str | Path = ".cache/llm.sqlite"
    max_concurrency: int = 8
    num_retries: int = 4
    temperature: float = 0.0
    max_tokens: int = 1024
    api_base: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 120.0
    json_mode: bool = True
    mock_response: str | None = None
    mock_delay: float | None = None  # seconds litellm waits before a mocked reply (benchmarks)
    stats: LLMStats = field(default_factory=LLMStats)

    def __post_init__(self) -> None:
        self.cache = ResponseCache(self.cache_path)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- one call -----------------------------------------------------------------------------
    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    def cache_key(self, messages: list[dict[str, str]]) -> str:
        params = self._params()
        if self.mock_response is not None:  # mocked replies must never answer a real run
            params["mock_response"] = self.mock_response
        blob = json.dumps(
            {"model": self.model, "messages": messages, "params": params},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    async def complete(self, messages: list[dict[str, str]]) -> str:
        """Reply text for ``messages``: from the cache, else from litellm with retries."""
        key = self.cache_key(messages)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        reply = await self._call(messages)
        self.cache.put(key, reply)
        return reply

    async def _call(self, messages: list[dict[str, str]]) -> str:
        import litellm
        import tenacity

        if self.model.startswith("asktoact/"):
            from asktoact.offline_llm import register

            register()
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, **self._params()}
        kwargs["timeout"] = self.timeout_s
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            kwargs["api_key"] = os.environ.get(self.api_key_env)
        if self.mock_response is not None:
            kwargs["mock_response"] = self.mock_response
            if self.mock_delay:
                kwargs["mock_delay"] = self.mock_delay
        retrying = tenacity.AsyncRetrying(
            wait=tenacity.wait_exponential(multiplier=1, min=1, max=30),
            stop=tenacity.stop_after_attempt(self.num_retries),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )
        response = await retrying(litellm.acompletion, **kwargs)
        self.stats.calls += 1
        self._account(response)
        return response.choices[0].message.content or ""

    def _account(self, response: Any) -> None:
        import litellm

        # A model litellm cannot price (local servers, our offline provider) would otherwise print
        # a provider banner to stdout on every call; its cost is simply not counted.
        litellm.suppress_debug_info = True

        usage = getattr(response, "usage", None)
        if usage is not None:
            self.stats.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
            self.stats.completion_tokens += getattr(usage, "completion_tokens", 0) or 0
        # Models without a price entry (local servers, mocks) add nothing known to the cost.
        with contextlib.suppress(Exception):
            self.stats.cost_usd += litellm.completion_cost(completion_response=response) or 0.0

    # -- JSON tasks ----------------------------------------------------------------------------
    async def _json_task(self, req: JsonRequest, sem: asyncio.Semaphore) -> JsonResult:
        async with sem:
            messages = list(req.messages)
            error = ""
            for attempt in range(2):
                try:
                    reply = await self.complete(messages)
                except Exception as exc:  # provider failure after retries: this row only
                    if _fatal(exc):
                        raise
                    self.stats.failures += 1
                    return JsonResult(
                        req.key, error=f"llm call failed: {type(exc).__name__}: {exc}"
                    )
                try:
                    return JsonResult(req.key, value=req.validate(extract_json(reply)))
                except (ValueError, KeyError, TypeError) as exc:
                    error = str(exc)
                if attempt == 0:
                    self.stats.repairs += 1
                    messages = messages + [
                        {"role": "assistant", "content": reply},
                        {"role": "user", "content": REPAIR_PROMPT.format(error=error)},
                    ]
            self.stats.failures += 1
            return JsonResult(req.key, error=f"invalid JSON reply after one repair: {error}")

    async def _run_all(self, requests: list[JsonRequest], desc: str) -> list[JsonResult]:
        sem = asyncio.Semaphore(self.max_concurrency)
        tasks = [asyncio.ensure_future(self._json_task(r, sem)) for r in requests]
        with tqdm(total=len(tasks), desc=desc, unit="req", leave=False) as bar:
            for fut in asyncio.as_completed(tasks):
                await fut
                bar.update(1)
        return [t.result() for t in tasks]

    async def _text_task(self, key: str, messages: list[dict[str, str]], sem) -> JsonResult:
        async with sem:
            try:
                return JsonResult(key, value=await self.complete(messages))
            except Exception as exc:
                if _fatal(exc):
                    raise
                self.stats.failures += 1
                return JsonResult(key, error=f"llm call failed: {type(exc).__name__}: {exc}")

    def run_text(
        self, conversations: list[list[dict[str, str]]], desc: str = "llm"
    ) -> list[JsonResult]:
        """Free-text replies (an assistant's turn), concurrently and cached like JSON tasks."""

        async def go():
            sem = asyncio.Semaphore(self.max_concurrency)
            return await asyncio.gather(
                *(self._text_task(str(k), m, sem) for k, m in enumerate(conversations))
            )

        return self._run(go()) if conversations else []

    def _run(self, coro):
        # One loop per client for its whole life: litellm keeps background logging tasks on the
        # loop it first saw, and a fresh asyncio.run() per stage would orphan them.
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def run_json(self, requests: list[JsonRequest], desc: str = "llm") -> list[JsonResult]:
        """Run JSON tasks concurrently (at most ``max_concurrency`` in flight), in input order."""
        return self._run(self._run_all(requests, desc)) if requests else []

    def close(self) -> None:
        """Stop litellm's background tasks on our loop, close the loop and the cache."""
        if self._loop is not None:
            self._loop.run_until_complete(_cancel_others())
            self._loop.close()
            self._loop = None
        self.cache.db.close()


async def _cancel_others() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


REPAIR_PROMPT = (
    "Your last reply could not be used: {error}. Send the whole answer again as one JSON value "
    "that fixes this, with nothing before or after it."
)


def _retryable(exc: BaseException) -> bool:
    """Retry transient provider errors; give up at once on bad requests and auth errors."""
    name = type(exc).__name__
    return not any(s in name for s in ("BadRequest", "Authentication", "NotFound", "Permission"))


def _fatal(exc: BaseException) -> bool:
    """Errors that would fail every request (bad key, unknown model, broken install): stop the run
    with the provider's message instead of dropping every row one by one."""
    if isinstance(exc, ImportError | NameError | AttributeError):
        return True
    name = type(exc).__name__
    return any(s in name for s in ("Authentication", "NotFound", "Permission"))


def client_from_config(cfg: Any, cache_dir: str | Path, json_mode: bool | None = None) -> LLMClient:
    """An LLMClient from an ``llm``/``agent``/``simulator``/``judge`` config node."""
    return LLMClient(
        model=cfg.model,
        cache_path=Path(cache_dir) / "llm.sqlite",
        max_concurrency=cfg.get("max_concurrency", 8),
        num_retries=cfg.get("num_retries", 4),
        temperature=cfg.get("temperature", 0.0),
        max_tokens=cfg.get("max_tokens", 1024),
        api_base=cfg.get("api_base"),
        api_key_env=cfg.get("api_key_env"),
        json_mode=cfg.get("json_mode", True) if json_mode is None else json_mode,
        mock_response=cfg.get("mock_response"),
        mock_delay=cfg.get("mock_delay"),
    )


def make_client(cfg: Any, cache_dir: str | Path) -> LLMClient | None:
    """Client from the ``llm`` config group; ``None`` for the offline ``rules`` backend."""
    if cfg is None or cfg.get("backend", "rules") == "rules":
        return None
    return client_from_config(cfg, cache_dir)
