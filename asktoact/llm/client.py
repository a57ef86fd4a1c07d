"""The one LLM client of the project: litellm + disk cache + retries + repair + concurrency + cost.

Every LLM call (data generation, simulation, judging, API assistants) goes through
:class:`LLMClient`. JSON requests are parsed and checked by the caller's validator; an invalid
reply gets up to ``max_repairs`` repair rounds (the error is sent back), then the request is
recorded as failed and the caller records that row with the reason. Transient provider errors
(rate limits, server errors, time-outs) are retried with exponential back-off. Replies are cached
on disk (:mod:`asktoact.llm.cache`) as they arrive, so a killed run restarted with the same
config makes no finished call twice and a full rerun makes none. API keys are read from the
environment by litellm (or from the variable named by ``api_key_env``) and are never stored,
logged or cached.

This module imports nothing from the rest of the project but its shared base modules (errors,
fault points): stages hand it messages and a validator.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from asktoact.configurable import configurable
from asktoact.errors import UserError
from asktoact.llm.cache import ResponseCache
from asktoact.llm.repair import repair_message

Validator = Callable[[Any], Any]
OFFLINE_PREFIX = "asktoact/"  # model ids answered by the offline provider (asktoact.llm.offline)


@dataclass
class JsonRequest:
    """One JSON-producing call. ``validate`` returns the cleaned value or raises ValueError.

    ``task`` names the stage that asks (``underspecify``, ``simulator.judge`` …): the offline
    provider answers by it, and it labels errors.
    """

    key: str
    messages: list[dict[str, str]]
    validate: Validator
    task: str = ""


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
    retries: int = 0
    repairs: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "cost_usd": round(self.cost_usd, 6)}


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


@configurable(
    exclude=("stats",),
    not_identity=("cache_path", "max_concurrency"),  # replies are cached by content
    defaults={"cache_path": "${cache_dir}/llm.sqlite"},
    bounds={
        "max_concurrency": {"ge": 1},
        "num_retries": {"ge": 1},
        "max_repairs": {"ge": 0},
        "retry_wait_min_s": {"ge": 0},
        "retry_wait_max_s": {"ge": 0},
        "temperature": {"ge": 0},
        "max_tokens": {"ge": 1},
        "timeout_s": {"gt": 0},
    },
)
@dataclass
class LLMClient:
    """litellm-backed client. ``mock_response`` (litellm's) makes it run with no network; model
    ids starting with ``asktoact/`` go to the offline provider, which ``faults`` can make fail."""

    model: str
    cache_path: str | Path = ".cache/asktoact/llm.sqlite"
    max_concurrency: int = 8
    num_retries: int = 4  # attempts per call, the first included
    max_repairs: int = 1  # repair rounds after an invalid JSON reply
    retry_wait_min_s: float = 1.0  # exponential back-off between attempts, bounded
    retry_wait_max_s: float = 30.0
    temperature: float = 0.0
    max_tokens: int = 1024
    api_base: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 120.0
    json_mode: bool = True
    mock_response: str | None = None
    mock_delay: float | None = None  # seconds litellm waits before a mocked reply (benchmarks)
    # Offline provider only (asktoact.llm.offline): a seeded share of calls fails like a provider.
    fault_rate: float = 0.0
    fault_seed: int = 0
    fault_kinds: list[str] | None = None  # None: every kind
    stats: LLMStats = field(default_factory=LLMStats)

    def __post_init__(self) -> None:
        self.cache = ResponseCache(self.cache_path)

    # -- one call -----------------------------------------------------------------------------
    def _params(self, json_mode: bool) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    def cache_key(self, messages: list[dict[str, str]], json_mode: bool | None = None) -> str:
        params = self._params(self.json_mode if json_mode is None else json_mode)
        if self.mock_response is not None:  # mocked replies must never answer a real run
            params["mock_response"] = self.mock_response
        blob = json.dumps(
            {"model": self.model, "messages": messages, "params": params},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    async def _call(
        self,
        messages: list[dict[str, str]],
        task: str,
        json_mode: bool,
        attempts: int | None = None,
        count: bool = True,
    ) -> str:
        """One reply from the provider, retrying transient errors with back-off (``attempts``,
        default ``num_retries``); ``count``: in :attr:`stats`."""
        import litellm
        import tenacity

        # A model litellm cannot price (local servers, our offline provider) would otherwise print
        # a provider banner to stdout on every call, and hide a real error among the banners.
        litellm.suppress_debug_info = True
        _quiet_litellm()
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        kwargs.update(self._params(json_mode), timeout=self.timeout_s)
        # Our retries are the only ones, and counted: litellm's and the OpenAI SDK's own are off.
        kwargs.update(num_retries=0, max_retries=0)
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key_env:
            kwargs["api_key"] = os.environ.get(self.api_key_env)
        if self.mock_response is not None:
            kwargs["mock_response"] = self.mock_response
            if self.mock_delay:
                kwargs["mock_delay"] = self.mock_delay
        offline = self.model.startswith(OFFLINE_PREFIX)
        if offline:
            from asktoact.llm.offline import register

            register()
        attempt = 0

        async def once() -> Any:
            nonlocal attempt
            attempt += 1
            if attempt > 1 and count:
                self.stats.retries += 1
            if offline:  # the provider answers by task; faults are decided per attempt
                kwargs["metadata"] = {
                    "asktoact_task": task,
                    "asktoact_attempt": attempt,
                    "asktoact_faults": {
                        "rate": self.fault_rate,
                        "seed": self.fault_seed,
                        "kinds": self.fault_kinds,
                    },
                    "asktoact_json": json_mode,
                }
            return await litellm.acompletion(**kwargs)

        retrying = tenacity.AsyncRetrying(
            wait=tenacity.wait_exponential(
                multiplier=self.retry_wait_min_s,
                min=self.retry_wait_min_s,
                max=self.retry_wait_max_s,
            ),
            stop=tenacity.stop_after_attempt(attempts or self.num_retries),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )
        response = await retrying(once)
        if count:
            self.stats.calls += 1
            self._account(response)
        return response.choices[0].message.content or ""

    def probe(self, setting: str) -> None:
        """One short call before any work (not cached, not counted): a missing or refused key,
        an unknown model or an endpoint that does not answer stops the run here, naming the
        setting, instead of turning every row into a failure or a silent fallback."""
        if self.mock_response is not None:  # litellm's mock: nothing to reach
            return
        hello = [{"role": "user", "content": "Reply with the word OK."}]
        try:
            self._run(self._call(hello, "probe", json_mode=False, attempts=2, count=False))
        except Exception as exc:  # whatever the provider raised, the run cannot work
            where = f" at {setting}.api_base={self.api_base}" if self.api_base else ""
            key = f"the key in ${self.api_key_env}" if self.api_key_env else "the provider's key"
            raise ProviderUnavailable(
                f"{setting}.model={self.model}{where} cannot be used: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:300]}. Check {key}, the model name and the "
                "endpoint (or choose an offline backend: rules)."
            ) from exc

    async def reply(
        self, messages: list[dict[str, str]], task: str = "", json_mode: bool | None = None
    ) -> str:
        """The reply to ``messages``: from the cache, else from the provider (then cached: what
        a model answered is kept, so a rerun reproduces it without calling again)."""
        json_mode = self.json_mode if json_mode is None else json_mode
        key = self.cache_key(messages, json_mode)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        text = await self._call(messages, task, json_mode)
        self.cache.put(key, text)
        return text

    def _account(self, response: Any) -> None:
        import litellm

        usage = getattr(response, "usage", None)
        if usage is not None:
            self.stats.prompt_tokens += getattr(usage, "prompt_tokens", 0) or 0
            self.stats.completion_tokens += getattr(usage, "completion_tokens", 0) or 0
        # Models without a price entry add nothing known to the cost.
        with contextlib.suppress(Exception):
            self.stats.cost_usd += litellm.completion_cost(completion_response=response) or 0.0

    # -- JSON tasks ----------------------------------------------------------------------------
    async def _json_task(self, req: JsonRequest, sem: asyncio.Semaphore) -> JsonResult:
        async with sem:
            messages = list(req.messages)
            error = ""
            for attempt in range(self.max_repairs + 1):
                try:
                    text = await self.reply(messages, req.task, json_mode=True)
                except Exception as exc:  # provider failure after retries: this row only
                    if _fatal(exc):
                        raise
                    self.stats.failures += 1
                    return JsonResult(
                        req.key, error=f"llm call failed: {type(exc).__name__}: {exc}"
                    )
                try:
                    return JsonResult(req.key, value=req.validate(extract_json(text)))
                except (ValueError, KeyError, TypeError) as exc:
                    error = str(exc)
                if attempt < self.max_repairs:
                    self.stats.repairs += 1
                    messages = messages + [
                        {"role": "assistant", "content": text},
                        repair_message(error),
                    ]
            self.stats.failures += 1
            rounds = "one repair" if self.max_repairs == 1 else f"{self.max_repairs} repairs"
            return JsonResult(req.key, error=f"invalid JSON reply after {rounds}: {error}")

    async def _text_task(self, key: str, messages, task: str, sem) -> JsonResult:
        async with sem:
            try:
                return JsonResult(key, value=await self.reply(messages, task, json_mode=False))
            except Exception as exc:
                if _fatal(exc):
                    raise
                self.stats.failures += 1
                return JsonResult(key, error=f"llm call failed: {type(exc).__name__}: {exc}")

    async def _gather(self, coros: list, desc: str) -> list[JsonResult]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        with tqdm(total=len(tasks), desc=desc, unit="req", leave=False) as bar:
            for fut in asyncio.as_completed(tasks):
                await fut
                bar.update(1)
        return [t.result() for t in tasks]

    def run_json(self, requests: list[JsonRequest], desc: str = "llm") -> list[JsonResult]:
        """Run JSON tasks concurrently (at most ``max_concurrency`` in flight), in input order."""
        if not requests:
            return []
        sem = asyncio.Semaphore(self.max_concurrency)
        return self._run(self._gather([self._json_task(r, sem) for r in requests], desc))

    def run_text(
        self, conversations: list[list[dict[str, str]]], desc: str = "llm", task: str = ""
    ) -> list[JsonResult]:
        """Free-text replies (an assistant's or a simulated user's turn), cached like JSON tasks."""
        if not conversations:
            return []
        sem = asyncio.Semaphore(self.max_concurrency)
        coros = [self._text_task(str(k), m, task, sem) for k, m in enumerate(conversations)]
        return self._run(self._gather(coros, desc))

    def _run(self, coro):
        return _process_loop().run_until_complete(coro)

    def close(self) -> None:
        """Close the cache (the process's loop stays for the other clients; it closes at exit)."""
        self.cache.close()


def _quiet_litellm() -> None:
    """litellm logs every call at INFO, twice (its own handler and the root's): our progress bars
    and stats say the same once. Its warnings and errors still show."""
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.WARNING)


# One event loop for every client of the process, never closed by us: litellm binds its
# background logging worker to the first loop it sees (an agent, a simulator and a judge on
# loops of their own made it fail with "bound to a different event loop" on every switch), and
# its own exit handler drains that worker; closing or cancelling it ourselves made it log
# tracebacks at exit.
_LOOP: list[asyncio.AbstractEventLoop] = []


def _process_loop() -> asyncio.AbstractEventLoop:
    if not _LOOP or _LOOP[0].is_closed():
        _LOOP[:] = [asyncio.new_event_loop()]
    return _LOOP[0]


# litellm's provider for a model served behind an OpenAI-compatible endpoint (vLLM, our own
# asktoact-serve): it reads the endpoint from this variable when api_base is not set.
SERVED_PREFIX, SERVED_BASE_ENV = "hosted_vllm/", "HOSTED_VLLM_API_BASE"


def unconfigured(client: Any) -> str | None:
    """Why an LLM client config (a ``client`` node) cannot be used on this machine, decided
    without calling it: the variable named by ``api_key_env`` is unset, or (without one) a key
    that litellm says the provider needs, or a served model (``hosted_vllm/<id>``) has no
    endpoint. None when nothing is missing. Only whether a variable is set is read, never its
    value into any message."""
    import litellm

    if client.get("mock_response") is not None:
        return None
    model = client["model"]
    if model.startswith(SERVED_PREFIX):
        if client.get("api_base") or os.environ.get(SERVED_BASE_ENV):
            return None
        return f"{model} is served, but no endpoint is set (api_base or ${SERVED_BASE_ENV})"
    if client.get("api_base"):
        return None  # a self-hosted endpoint may need no key
    if client.get("api_key_env"):
        missing = [] if os.environ.get(client["api_key_env"]) else [client["api_key_env"]]
    else:
        missing = litellm.validate_environment(model=model).get("missing_keys", [])
    return f"{model} needs ${', $'.join(missing)}, which is not set" if missing else None


class ProviderUnavailable(UserError):
    """The configured model cannot answer at all (refused or missing key, unknown model, dead
    endpoint). Entry points print its message alone (it is a user's setting to fix)."""


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


def rules_backend() -> None:
    """The ``llm=rules`` choice: no client; every LLM-backed stage uses its rule implementation."""
    return None
