"""``asktoact-serve``: any local agent model behind an OpenAI-compatible HTTP API on loopback.

Routes: ``GET /v1/models``; ``POST /v1/completions`` (a raw prompt, continued as it is — what
BFCL's prompt-mode handlers send after applying the model's chat template and BFCL's own
instructions); ``POST /v1/chat/completions`` with ``tools`` (the request asked through our
protocol the model was trained on and answered with ``tool_calls``: :data:`PROTOCOLS`).

Replies are greedy unless the agent samples, capped at the agent's ``max_new_tokens`` whatever
the client asks (a small model would otherwise fill a benchmark's reply budget of thousands of
tokens), and generated in batches across concurrent requests (:mod:`asktoact.serve.batcher`).
Streaming is refused with a clear error.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from asktoact.configurable import RunConfig
from asktoact.configurable import config_field as F
from asktoact.errors import ConfigError
from asktoact.serve.batcher import Batcher
from asktoact.serve.protocol import TURN_DONE

# how a chat request is put to the model and its reply read back, by the data it was trained on:
# AskToAct dialogues ([QUESTION] / [SUMMARY] turns) or tool-use trajectories (one call a turn)
PROTOCOLS = {
    "dialogue": "asktoact.serve.protocol.DialogueProtocol",
    "trajectory": "asktoact.serve.trajectory.TrajectoryProtocol",
}


def protocol_named(name: str):
    """The protocol ``name`` (a key of :data:`PROTOCOLS` or a dotted path to a protocol class)."""
    from hydra.utils import get_class

    try:
        return get_class(PROTOCOLS.get(name, name))()
    except Exception:
        raise ConfigError(
            f"protocol={name!r}: not one of {', '.join(PROTOCOLS)} or a dotted path to a class"
        ) from None


@dataclass
class ServeConfig(RunConfig):
    agent: Any = MISSING
    host: str = F()
    port: int = F(ge=0, le=65535)  # 0: a free port, printed when the server is up
    model_name: str = F()  # the id /v1/models reports and replies carry
    protocol: str = F()  # a key of PROTOCOLS: the data the model was trained on
    max_batch: int = F(ge=1)  # requests generated together
    batch_wait_s: float = F(ge=0)  # how long the first request waits for others to join it


class ModelServer:
    """The agent's generation behind the three routes (plain methods, tested without HTTP)."""

    def __init__(
        self,
        agent,
        model_name: str,
        max_batch: int = 16,
        batch_wait_s: float = 0.05,
        protocol: str = "dialogue",
    ):
        if not all(hasattr(agent, a) for a in ("generate", "prompt", "chat_text", "tok")):
            raise ConfigError(
                f"agent={type(agent).__name__}: only a local model can be served (agent=local)"
            )
        self.agent, self.model_name = agent, model_name
        self.protocol = protocol_named(protocol)
        self.batcher = Batcher(self._generate, max_batch=max_batch, wait_s=batch_wait_s)
        self._ids = itertools.count()

    def _generate(self, budget: int, prompts: list[str]) -> list[str]:
        return self.agent.generate(prompts, max_new_tokens=budget)

    def _budget(self, request: dict[str, Any]) -> int:
        cap = self.agent.generate_kwargs["max_new_tokens"]
        asked = request.get("max_completion_tokens") or request.get("max_tokens") or cap
        return max(1, min(int(asked), cap))

    def _usage(self, prompt: str, text: str) -> dict[str, int]:
        n_prompt = len(self.agent.tok(prompt, add_special_tokens=False)["input_ids"])
        n_text = len(self.agent.tok(text, add_special_tokens=False)["input_ids"])
        return {
            "prompt_tokens": n_prompt,
            "completion_tokens": n_text,
            "total_tokens": n_prompt + n_text,
        }

    def _envelope(self, kind: str, choice: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
        return {
            "id": f"{kind}-{next(self._ids)}",
            "object": kind,
            "created": int(time.time()),
            "model": self.model_name,
            "choices": [{"index": 0, "logprobs": None, **choice}],
            "usage": usage,
        }

    def models(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": self.model_name, "object": "model", "owned_by": "asktoact"}],
        }

    def completion(self, request: dict[str, Any]) -> dict[str, Any]:
        prompt = request.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1:
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise ValueError("prompt: expected one string")
        budget = self._budget(request)
        text = self.batcher.submit(budget, prompt)
        usage = self._usage(prompt, text)
        finish = "length" if usage["completion_tokens"] >= budget else "stop"
        return self._envelope("text_completion", {"text": text, "finish_reason": finish}, usage)

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages: expected a non-empty list")
        call_id = f"call-{next(self._ids)}"
        if self.protocol.done(messages):
            message = {"role": "assistant", "content": TURN_DONE, "tool_calls": None}
            choice = {"message": message, "finish_reason": "stop"}
            return self._envelope("chat.completion", choice, self._usage("", ""))
        prompt = self.protocol.prompt(self.agent, messages, request.get("tools") or [])
        text = self.batcher.submit(self._budget(request), prompt)
        message = self.protocol.reply(text, call_id)
        finish = "tool_calls" if message["tool_calls"] else "stop"
        return self._envelope(
            "chat.completion",
            {"message": message, "finish_reason": finish},
            self._usage(prompt, text),
        )


def build_app(server: ModelServer):
    """The FastAPI app of ``server``: errors in a request come back as 400 with the reason."""
    from fastapi import Body, FastAPI, HTTPException

    app = FastAPI(title="asktoact-serve")
    body = Body(...)  # the request JSON as a dict: the OpenAI schema is read field by field

    def answer(method, request: dict[str, Any]) -> dict[str, Any]:
        if request.get("stream"):
            raise HTTPException(
                400, "stream: streaming replies are not supported; send stream=false"
            )
        if int(request.get("n") or 1) != 1:
            raise HTTPException(400, "n: one choice per request only")
        try:
            return method(request)
        except (ValueError, ConfigError) as err:
            raise HTTPException(400, str(err)) from err

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return server.models()

    @app.post("/v1/completions")
    def completions(request: dict = body) -> dict[str, Any]:
        return answer(server.completion, request)

    @app.post("/v1/chat/completions")
    def chat(request: dict = body) -> dict[str, Any]:
        return answer(server.chat, request)

    return app


def serve(cfg) -> None:
    """Load ``cfg.agent`` and serve it on ``cfg.host:cfg.port`` until interrupted; the first line
    printed names the address (with the port chosen when ``port`` is 0)."""
    import uvicorn
    from hydra.utils import instantiate

    agent = instantiate(cfg.agent)
    server = ModelServer(agent, cfg.model_name, cfg.max_batch, cfg.batch_wait_s, cfg.protocol)
    sock = _bind(cfg.host, cfg.port)
    print(f"asktoact-serve: {cfg.model_name} on {url(cfg.host, sock.getsockname()[1])}", flush=True)
    uvicorn.Server(uvicorn.Config(build_app(server), log_level="warning")).run(sockets=[sock])


@contextmanager
def serving(server: ModelServer, host: str = "127.0.0.1", timeout_s: float = 60) -> Iterator[str]:
    """``server`` on a free loopback port in a background thread; yields its base URL."""
    import uvicorn

    sock = _bind(host, 0)
    uv = uvicorn.Server(uvicorn.Config(build_app(server), log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"asktoact-serve did not start on {host} within {timeout_s:.0f} s")
        time.sleep(0.05)
    try:
        yield url(host, sock.getsockname()[1])
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def url(host: str, port: int) -> str:
    return f"http://{host}:{port}/v1"
