"""Assistants under evaluation: local HF models, any litellm model, recorded turns, and
reference policies.

Every agent maps a batch of episodes (their chat so far) to one assistant turn each (``None``:
the agent has no more turns for that episode, which then ends as if its rounds ran out). The
reference policies read the episode's transformation record and exist to check the harness:
``oracle`` asks exactly the missing values then answers correctly, ``never_ask`` answers at once
guessing the missing values, ``ask_all`` asks for every parameter (stated or not) first.
``replay`` plays turns written elsewhere (another system, an API model, a hand-written probe),
so they are scored by the same simulator and metrics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asktoact.configurable import configurable
from asktoact.constants import TAG_QUESTION
from asktoact.data.clarify import groups
from asktoact.data.turns import summary, with_system_prompt
from asktoact.errors import ConfigError, UserError
from asktoact.eval.intents import reveals
from asktoact.hardware import DTYPES
from asktoact.llm import LLMClient
from asktoact.tools.calls import format_call
from asktoact.weights import load_causal_lm


class ReferenceAgent:
    """Base of the rule policies: one decision per episode from its record and turn count."""

    def __init__(self, name: str):
        self.name = name

    def respond(self, episodes) -> list[str]:
        return [
            self.turn(ep, sum(m["role"] == "assistant" for m in ep.messages)) for ep in episodes
        ]


class OracleAgent(ReferenceAgent):
    """Asks for the first intent whose value no user reply has given yet (again, if the user
    dodged), and answers correctly once every value is known."""

    def turn(self, ep, k: int) -> str:
        heard = " \n ".join(m["content"] for m in ep.messages[1:] if m["role"] == "user")
        for group, fact in zip(groups(ep.record), ep.user.intents, strict=True):
            if not reveals(heard, fact):
                return f"{TAG_QUESTION} {group[0][2].question}"
        return summary(ep.record)

    def next_call(self, case: dict[str, Any]) -> str:
        """A tool-use trajectory's next call: the gold one."""
        return format_call(case["gold"]["name"], case["gold"]["arguments"])


def _guess(ep, call: int, name: str) -> Any:
    tool = next((t for t in ep.tools if t.name == ep.record.key_info[call].name), None)
    spec = tool.param(name) if tool else None
    if spec is not None and spec.default is not None:
        return spec.default
    return {"integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}.get(
        spec.type if spec else "", ""
    )


class NeverAskAgent(ReferenceAgent):
    def turn(self, ep, k: int) -> str:
        sol = [
            {
                "task": c.name,
                "arguments": [
                    {"name": n, "value": _guess(ep, i, n) if a.removed else a.value}
                    for n, a in c.arguments.items()
                ],
            }
            for i, c in enumerate(ep.record.key_info)
        ]
        return summary(ep.record, sol)


class AskAllAgent(ReferenceAgent):
    def turn(self, ep, k: int) -> str:
        params = ep.record.params()
        if k < len(params):
            i, name, _ = params[k]
            return (
                f'{TAG_QUESTION} What value should "{name}" of {ep.record.key_info[i].name} have?'
            )
        return summary(ep.record)


def load_replay(path: str | Path) -> dict[str, list[str]]:
    """``{id: turns}`` from a JSONL file of ``{"id": str, "turns": [str, ...]}`` lines."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"agent.path={path}: no such file (a JSONL file of recorded turns)")
    turns: dict[str, list[str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            ok = isinstance(row["id"], str) and all(isinstance(t, str) for t in row["turns"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise UserError(f"agent.path={path}, line {n}: not a JSON line ({err})") from err
        if not ok or not isinstance(row["turns"], list):
            raise UserError(
                f'agent.path={path}, line {n}: expected {{"id": "<dialogue id>", "turns": '
                '["<assistant turn>", ...]}'
            )
        turns[row["id"]] = row["turns"]
    return turns


class ReplayAgent:
    """Plays the assistant turns of a JSONL file, one line per dialogue, in order; when a
    dialogue's turns run out the episode ends as if its rounds were exhausted."""

    def __init__(self, name: str, path: str):
        self.name, self.path, self.turns = name, path, load_replay(path)

    def respond(self, episodes) -> list[str | None]:
        missing = [ep.id for ep in episodes if ep.id not in self.turns]
        if missing:
            raise UserError(
                f"agent.path={self.path} has no turns for {len(missing)} evaluated dialogue(s), "
                f"e.g. {', '.join(missing[:3])}"
            )
        out = []
        for ep in episodes:
            k, turns = sum(m["role"] == "assistant" for m in ep.messages), self.turns[ep.id]
            out.append(turns[k] if k < len(turns) else None)
        return out

    def next_call(self, case: dict[str, Any]) -> str:
        """A tool-use case's next call: the first turn recorded for its id (``<row>:<turn>``)."""
        turns = self.turns.get(case["id"])
        if not turns:
            raise UserError(f"agent.path={self.path} has no turn for next-call case {case['id']}")
        return turns[0]


class LiteLLMAgent:
    """Any litellm model (OpenAI, Anthropic, DeepSeek, a vLLM server …) with the evaluation
    system prompt (``templates.SYSTEM_PROMPT``), as every evaluated model gets it."""

    def __init__(self, name: str, client: LLMClient):
        self.name, self.client = name, client
        self.demonstrations: list[dict[str, str]] = []  # k-shot turns (asktoact.eval.demos)

    system_role = True  # chat APIs take a system turn

    def respond(self, episodes) -> list[str]:
        return self.complete(
            [with_system_prompt(self.demonstrations + ep.messages) for ep in episodes]
        )

    def complete(self, chats: list[list[dict[str, str]]]) -> list[str]:
        """One assistant turn per chat, the chat sent as it is."""
        results = self.client.run_text(chats, "assistant", task="assistant")
        # A failed call is an empty turn: parsed as a question nobody can answer, never a crash.
        return [r.value if r.ok else "" for r in results]


@configurable(
    bounds={
        "batch_size": {"ge": 1},
        "max_new_tokens": {"ge": 1},
        "dtype": {"choices": ("auto", *DTYPES)},
        "temperature": {"gt": 0},
        "prefill_tokens": {"ge": 0},
    }
)
class LocalAgent:
    """A local HF causal LM (merged weights, or a base model plus a peft adapter), batched and
    greedy by default; generation stops at the chat template's end-of-turn token. ``dtype``
    ``auto``: bf16 weights where the hardware computes bf16 natively (``asktoact.hardware``).

    ``reuse_cache`` (default): each dialogue's KV cache is kept between rounds, so a round only
    runs the new tokens (:mod:`asktoact.eval.generation`); off, every round re-reads the whole
    dialogue (kept to measure what reuse saves). ``share_prefix`` and ``prefill_tokens``: what
    the first token of a turn waits for (:mod:`asktoact.eval.generation`).
    """

    def __init__(
        self,
        name: str,
        path: str | None = None,
        adapter: str | None = None,
        batch_size: int = 32,
        max_new_tokens: int = 384,
        system_role: bool = True,
        dtype: str = "auto",
        device: str = "auto",
        eot: str | None = None,
        do_sample: bool = False,
        temperature: float = 1.0,
        reuse_cache: bool = True,
        share_prefix: bool = False,
        prefill_tokens: int = 0,
    ):
        import torch

        from asktoact.eval.generation import IncrementalGenerator

        if not path:  # a job sets it to the model it trained; alone, the user names the model
            raise ConfigError(
                "agent.path: no model given (a train run's merged/, an HF id or a folder)"
            )
        self.name = name
        # k-shot turns before every dialogue (asktoact.eval.demos; set by the evaluation)
        self.demonstrations: list[dict[str, str]] = []
        self.device = (
            ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        )
        model, self.tok = load_causal_lm(path, adapter, padding_side="left", dtype=dtype)
        self.model = model.to(self.device).eval()
        self.batch_size, self.system_role, self.reuse_cache = batch_size, system_role, reuse_cache
        stop = [self.tok.convert_tokens_to_ids(eot)] if eot else []
        self.stop_ids = [i for i in stop if i is not None and i != self.tok.unk_token_id] or [
            self.tok.eos_token_id
        ]
        self.generate_kwargs = {
            "max_new_tokens": max_new_tokens,
            "do_sample": do_sample,
            "temperature": temperature if do_sample else None,
            "top_p": None,
            "top_k": None,
        }
        options = {"share_prefix": share_prefix, "prefill_tokens": prefill_tokens}
        args = (self.model, self.tok, self.stop_ids)
        self.incremental = IncrementalGenerator(*args, self.prompt, self.generate_kwargs, **options)
        # chats written by a task (tool-use trajectories) go to the model as they are
        self.as_is = IncrementalGenerator(*args, self.chat_text, self.generate_kwargs, **options)

    def chat_text(self, chat: list[dict[str, str]]) -> str:
        return self.tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)

    def prompt(self, messages: list[dict[str, str]]) -> str:
        chat = with_system_prompt(self.demonstrations + messages, self.system_role)
        return self.tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)

    def respond(self, episodes) -> list[str]:
        out = []
        for k in range(0, len(episodes), self.batch_size):
            chunk = episodes[k : k + self.batch_size]
            if self.reuse_cache:
                out += self.incremental.step([(ep.id, ep.messages) for ep in chunk])
            else:
                out += self.generate([self.prompt(ep.messages) for ep in chunk])
        return out

    def complete(self, chats: list[list[dict[str, str]]]) -> list[str]:
        """One turn per chat, the chat as it is (no system prompt added), in batches; each
        row leaves its batch when its turn ends (``reuse_cache`` off: transformers' generate)."""
        out = []
        for k in range(0, len(chats), self.batch_size):
            chunk = chats[k : k + self.batch_size]
            if not self.reuse_cache:
                out += self.generate([self.chat_text(c) for c in chunk])
                continue
            keys = [f"chat:{k + j}" for j in range(len(chunk))]
            out += self.as_is.step(list(zip(keys, chunk, strict=True)))
            for key in keys:  # one turn each: nothing to keep
                self.as_is.forget(key)
        return out

    def complete_calls(self, chats: list[list[dict[str, str]]], tools: list[list]) -> list[str]:
        """One tool call per chat, decoded under the grammar of the valid calls of that chat's
        ``tools`` (:mod:`asktoact.eval.constrained`; plain ``generate``, no cache kept)."""
        from asktoact.eval import constrained

        if not hasattr(self, "_grammar"):
            self._grammar = constrained.tokenizer_data(self.tok, self.stop_ids)
        out = []
        for k in range(0, len(chats), self.batch_size):
            prompts = [self.chat_text(c) for c in chats[k : k + self.batch_size]]
            allowed = constrained.allowed_tokens_fn(self._grammar, tools[k : k + self.batch_size])
            out += self.generate(prompts, allowed=allowed)
        return out

    def forget(self, episode_id: str) -> None:
        """The episode is over: drop its cache."""
        self.incremental.forget(episode_id)

    def generate(
        self, prompts: list[str], max_new_tokens: int | None = None, allowed=None
    ) -> list[str]:
        """One turn per prompt, each read from scratch (no cache kept); ``max_new_tokens``: a
        smaller reply budget than the agent's own for this call; ``allowed``: a
        ``prefix_allowed_tokens_fn`` that constrains what each row may write."""
        import torch

        budget = min(
            max_new_tokens or self.generate_kwargs["max_new_tokens"],
            self.generate_kwargs["max_new_tokens"],
        )

        enc = self.tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        with torch.no_grad():
            ids = self.model.generate(
                **enc,
                eos_token_id=self.stop_ids,
                pad_token_id=self.tok.pad_token_id,
                prefix_allowed_tokens_fn=allowed,
                **{**self.generate_kwargs, "max_new_tokens": budget},
            )
        return [
            t.strip()
            for t in self.tok.batch_decode(
                ids[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
            )
        ]
