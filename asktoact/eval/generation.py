"""Batched multi-round generation that never re-reads a dialogue: the KV cache is kept per
dialogue between rounds and reused through transformers' ``DynamicCache``.

Each round, a dialogue only feeds the model what is new since its last turn: the token that ended
that turn (generated, never run through the model) and the chat template's text between the
assistant's turn and the next generation prompt (end of turn, the user's reply, the assistant
header). The dialogues of a batch are aligned on the right: each one's cached keys/values are
left-padded to the longest cache and its new tokens left-padded to the longest new part, with the
attention mask zero on every pad. ``model.generate`` then runs only the new tokens; positions come
from the mask, so every dialogue sees exactly its own tokens at their own positions. After the
round, each dialogue keeps the keys/values of its real tokens only.

The first round of a dialogue is its whole prompt. Tokens are kept as generated (no decode and
re-encode), so the model continues from exactly what it produced — as a serving engine would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

PLACEHOLDER = "\u2063ASKTOACT-TURN\u2063"  # stands for a generated turn when rendering the glue


@dataclass
class DialogueState:
    """One dialogue's tokens whose keys/values are cached, and what is known but not yet fed."""

    ids: list[int] = field(default_factory=list)
    keys: list[torch.Tensor] = field(default_factory=list)  # per layer (heads, len, dim)
    values: list[torch.Tensor] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)


@dataclass
class RoundStats:
    prefilled: int = 0  # tokens run through the model before generating (new parts)
    reused: int = 0  # tokens whose keys/values came from the cache instead
    generated: int = 0


class IncrementalGenerator:
    """Greedy (or sampled) generation for many dialogues, one turn per call, cache reused."""

    def __init__(self, model, tokenizer, stop_ids: list[int], render, generate_kwargs: dict):
        self.model, self.tok, self.stop_ids = model, tokenizer, stop_ids
        self.render = render  # messages -> chat text ending with the generation prompt
        self.kwargs = generate_kwargs
        self.states: dict[str, DialogueState] = {}
        self.stats = RoundStats()

    def forget(self, key: str) -> None:
        self.states.pop(key, None)

    # -- what each dialogue feeds this round ---------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tok(text, add_special_tokens=False)["input_ids"]

    def new_tokens(self, key: str, messages: list[dict[str, str]]) -> list[int]:
        state = self.states.setdefault(key, DialogueState())
        if not state.ids and not state.pending:
            return self._encode(self.render(messages))
        # The text the template puts after our last turn, up to the next generation prompt.
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        stand_in = [*messages[:last], {"role": "assistant", "content": PLACEHOLDER}]
        text = self.render(stand_in + messages[last + 1 :])
        glue = text[text.rindex(PLACEHOLDER) + len(PLACEHOLDER) :]
        ended = state.pending and state.pending[-1] in self.stop_ids
        stop_text = self.tok.decode(state.pending[-1:]) if ended else ""
        if stop_text and glue.startswith(stop_text):  # the turn's end token is already pending
            glue = glue[len(stop_text) :]
        return state.pending + self._encode(glue)

    # -- one round for a batch -----------------------------------------------------------------
    def step(self, batch: list[tuple[str, list[dict[str, str]]]]) -> list[str]:
        """One assistant turn for each (dialogue key, messages so far)."""
        news = [self.new_tokens(k, m) for k, m in batch]
        states = [self.states[k] for k, _ in batch]
        cached = max(len(s.ids) for s in states)
        width = max(map(len, news))
        ids, mask, past = self._align(states, news, cached, width)
        with torch.no_grad():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=mask,
                past_key_values=past,
                eos_token_id=self.stop_ids,
                pad_token_id=self.tok.pad_token_id,
                return_dict_in_generate=True,
                **self.kwargs,
            )
        self.stats.prefilled += sum(map(len, news))
        self.stats.reused += sum(len(s.ids) for s in states)
        return [
            self._keep(state, ids[i], mask[i], out, i, cached + width)
            for i, state in enumerate(states)
        ]

    def _align(self, states, news, cached: int, width: int):
        pad = self.tok.pad_token_id
        ids = torch.full((len(states), cached + width), pad, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, (state, new) in enumerate(zip(states, news, strict=True)):
            n = len(state.ids)
            if n:
                ids[i, cached - n : cached] = torch.tensor(state.ids)
                mask[i, cached - n : cached] = 1
            ids[i, cached + width - len(new) :] = torch.tensor(new)
            mask[i, cached + width - len(new) :] = 1
        if not cached:
            return ids.to(self.model.device), mask.to(self.model.device), None
        from transformers import DynamicCache

        donor = next(s for s in states if s.ids)
        heads, _, dim = donor.keys[0].shape
        past = DynamicCache()
        for layer in range(len(donor.keys)):
            k = torch.zeros((len(states), heads, cached, dim), dtype=donor.keys[0].dtype)
            v = torch.zeros_like(k)
            for i, s in enumerate(states):
                if s.ids:
                    k[i, :, cached - len(s.ids) :] = s.keys[layer]
                    v[i, :, cached - len(s.ids) :] = s.values[layer]
            past.update(k.to(self.model.device), v.to(self.model.device), layer)
        return ids.to(self.model.device), mask.to(self.model.device), past

    def _keep(self, state: DialogueState, row_ids, row_mask, out: Any, i: int, start: int) -> str:
        gen = out.sequences[i, start:].tolist()
        end = next((j + 1 for j, t in enumerate(gen) if t in self.stop_ids), len(gen))
        gen = gen[:end]
        real = torch.nonzero(row_mask.cpu(), as_tuple=True)[0].tolist()
        keep = real + list(range(start, start + len(gen) - 1))  # the last token was never fed
        index = torch.tensor(keep, device=out.sequences.device)
        cache = out.past_key_values
        state.keys = [layer.keys[i].index_select(1, index).cpu() for layer in cache.layers]
        state.values = [layer.values[i].index_select(1, index).cpu() for layer in cache.layers]
        state.ids = [int(row_ids[p]) for p in real] + gen[:-1]
        state.pending = gen[-1:]
        self.stats.generated += len(gen)
        text = [t for t in gen if t not in self.stop_ids]
        return self.tok.decode(text, skip_special_tokens=True).strip()
