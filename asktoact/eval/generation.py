"""Batched multi-round generation that never re-reads a dialogue: the KV cache is kept per
dialogue between rounds and reused through transformers' ``DynamicCache``.

Each round, a dialogue only feeds the model what is new since its last turn: the token that ended
that turn (generated, never run through the model) and the chat template's text between the
assistant's turn and the next generation prompt (end of turn, the user's reply, the assistant
header). The dialogues of a batch are aligned on the right: each one's cached keys/values are
left-padded to the longest cache and its new tokens left-padded to the longest new part, with the
attention mask zero on every pad; position ids come from the mask, so every dialogue sees exactly
its own tokens at their own positions. The model (its own forward, with a ``DynamicCache``) runs
the new tokens once, then decodes one token per step for every dialogue still writing; a dialogue
that ends its turn leaves the batch at once (``DynamicCache.batch_select_indices``), so a long
turn does not make the short ones wait. Each dialogue keeps the keys/values of its real tokens.

The first round of a dialogue is its whole prompt. Tokens are kept as generated (no decode and
re-encode), so the model continues from exactly what it produced — as a serving engine would.

Two options cut what the model reads before the first new token (both off: every row's new part
padded to the longest and run at once, the plain path the benchmark compares with):

* ``share_prefix``: the token prefix the first prompts share (the evaluation instructions and
  the chat header, some 145 of SmolLM2's ~380 first-round tokens) is run once, and each dialogue
  starting with it begins from a copy of its keys/values;
* ``prefill_tokens``: every row's new tokens but the last run in chunks of rows of similar length
  (at most this many padded tokens a chunk), so the padding of short rows to the longest is not
  computed; each row keeps its keys/values, and the batch then decodes from one new token a row.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch
from transformers.cache_utils import DynamicCache, DynamicLayer

PLACEHOLDER = "\u2063ASKTOACT-TURN\u2063"  # stands for a generated turn when rendering the glue


class GrowingLayer(DynamicLayer):
    """transformers' dynamic cache layer, writing new keys/values into spare room instead of
    concatenating: decoding a token no longer copies the whole cache of every layer (measured on
    a 2-core CPU, that copy cost as much as the attention itself). ``keys``/``values`` are views
    of the filled part, so everything that reads a ``DynamicLayer`` reads this one the same way."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._k = self._v = None
        self._n = 0

    def update(self, key_states, value_states, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self._n + key_states.shape[-2]
        if self._k is None or end > self._k.shape[-2]:
            self._grow(key_states, end + max(256, end // 2))
        self._k[..., self._n : end, :] = key_states
        self._v[..., self._n : end, :] = value_states
        self._n = end
        self.keys, self.values = self._k[..., :end, :], self._v[..., :end, :]
        return self.keys, self.values

    def _grow(self, like: torch.Tensor, room: int) -> None:
        shape = (*like.shape[:2], room, like.shape[-1])
        k, v = like.new_empty(shape), like.new_empty(shape)
        if self._n:
            k[..., : self._n, :], v[..., : self._n, :] = self.keys, self.values
        self._k, self._v = k, v

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.get_seq_length() > 0:
            self._k, self._v = self._k[indices], self._v[indices]
            self.keys, self.values = self._k[..., : self._n, :], self._v[..., : self._n, :]


def growing_cache() -> DynamicCache:
    cache = DynamicCache()
    cache.layer_class_to_replicate = GrowingLayer  # layers are made on their first update
    return cache


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

    def __init__(
        self,
        model,
        tokenizer,
        stop_ids: list[int],
        render,
        generate_kwargs: dict,
        share_prefix: bool = False,
        prefill_tokens: int = 0,
    ):
        self.model, self.tok, self.stop_ids = model, tokenizer, stop_ids
        self.render = render  # messages -> chat text ending with the generation prompt
        self.kwargs = generate_kwargs
        self.share_prefix, self.prefill_tokens = share_prefix, prefill_tokens
        self.prefix: DialogueState | None = None  # the shared first tokens and their keys/values
        self.states: dict[str, DialogueState] = {}
        self.stats = RoundStats()
        self._takes_cache: bool | None = None

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
        self.stats.prefilled += sum(map(len, news))
        self.stats.reused += sum(len(s.ids) for s in states)
        with torch.no_grad():
            if self.share_prefix:
                news = self._from_prefix(states, news)
            if self.prefill_tokens:
                news = self._prefill(states, news)
        cached = max(len(s.ids) for s in states)
        width = max(map(len, news))
        ids, mask, past = self._align(states, news, cached, width)
        texts: list[str] = [""] * len(states)
        with torch.no_grad():
            for row, generated, keys, values in self._decode(ids, mask, past, cached):
                real = [int(t) for t, m in zip(ids[row], mask[row], strict=True) if m]
                texts[row] = self._keep(states[row], real, generated, keys, values)
        return texts

    # -- what the batch need not read: the shared prefix, the padding -------------------------------
    def _from_prefix(self, states, news):
        """Dialogues on their first round that start with the shared prefix begin from its
        keys/values (the prefix is taken from the first batch of two or more first prompts)."""
        fresh = [i for i, s in enumerate(states) if not s.ids and len(news[i]) > 1]
        if self.prefix is None and len(fresh) >= 2:
            self.prefix = self._prefix_of([news[i] for i in fresh])
        if self.prefix is None:
            return news
        n = len(self.prefix.ids)
        for i in fresh:
            if len(news[i]) > n and news[i][:n] == self.prefix.ids:
                states[i].ids = list(self.prefix.ids)
                states[i].keys, states[i].values = self.prefix.keys, self.prefix.values
                news[i] = news[i][n:]
                self.stats.prefilled -= n
                self.stats.reused += n
        return news

    def _prefix_of(self, prompts: list[list[int]]) -> DialogueState | None:
        """The tokens every prompt starts with (each keeping one of its own) and their
        keys/values; None when they share fewer than 16."""
        n = min(len(p) for p in prompts) - 1
        for p in prompts[1:]:
            n = next((k for k in range(n) if p[k] != prompts[0][k]), n)
        if n < 16:
            return None
        ids = torch.tensor([prompts[0][:n]], device=self.model.device)
        out = self.model(
            input_ids=ids, use_cache=True, logits_to_keep=1, **self._cache_in(growing_cache())
        )
        layers = self._cache_out(out).layers
        keys = [layer.keys[0].clone().cpu() for layer in layers]
        values = [layer.values[0].clone().cpu() for layer in layers]
        return DialogueState(ids=prompts[0][:n], keys=keys, values=values)

    def _prefill(self, states, news):
        """Every row's new tokens but the last through the model, rows of similar length
        together (at most ``prefill_tokens`` padded tokens a forward); each row keeps the
        keys/values of its real tokens, and is left one new token to decode from."""
        todo = sorted((i for i in range(len(news)) if len(news[i]) > 1), key=lambda i: len(news[i]))
        while todo:
            take = max(1, self.prefill_tokens // (len(news[todo[0]]) - 1))
            chunk, todo = todo[:take], todo[take:]
            while len(chunk) > 1 and len(chunk) * (len(news[chunk[-1]]) - 1) > self.prefill_tokens:
                todo.insert(0, chunk.pop())  # the longest of the chunk waits for the next one
            part = [states[i] for i in chunk]
            cached = max(len(s.ids) for s in part)
            heads = [news[i][:-1] for i in chunk]
            ids, mask, past = self._align(part, heads, cached, max(map(len, heads)))
            cache = self._cache_out(self._read_new(ids, mask, past, cached))
            for j, i in enumerate(chunk):
                states[i].ids = [int(t) for t, m in zip(ids[j], mask[j], strict=True) if m]
                states[i].keys, states[i].values = _row_cache(cache, mask, j)
                news[i] = news[i][-1:]
        return news

    def _read_new(self, ids, mask, past, cached: int):
        """One forward over the tokens after the ``cached`` ones, each at its own position (from
        the mask: padding shifts nothing), extending ``past``."""
        positions = (mask.cumsum(-1) - 1).clamp_min(0)
        return self.model(
            input_ids=ids[:, cached:],
            attention_mask=mask,
            position_ids=positions[:, cached:],
            use_cache=True,
            logits_to_keep=1,  # the vocabulary projection only where the next token is chosen
            **self._cache_in(past),
        )

    def _decode(self, ids, mask, past, cached: int):
        """Decode every row until it ends its turn, dropping it from the batch then (so a long
        turn does not make the others wait); yields (row, generated tokens, keys, values) as
        rows finish, the keys/values being those of the row's real tokens only."""
        out = self._read_new(ids, mask, past, cached)
        cache, logits = self._cache_out(out), out.logits[:, -1]
        alive = list(range(ids.shape[0]))
        generated: list[list[int]] = [[] for _ in alive]
        next_pos = mask.sum(-1, keepdim=True)
        limit = self.kwargs["max_new_tokens"]
        while alive:
            chosen = self._pick(logits)
            ended = []
            for j, row in enumerate(alive):
                generated[row].append(int(chosen[j]))
                if int(chosen[j]) in self.stop_ids or len(generated[row]) >= limit:
                    ended.append(j)
            for j in ended:  # its cache holds every token fed so far: the new one was not fed
                yield alive[j], generated[alive[j]], *_row_cache(cache, mask, j)
            keep = [j for j in range(len(alive)) if j not in ended]
            if not keep:
                return
            if ended:
                index = torch.tensor(keep, device=mask.device)
                cache.batch_select_indices(index)
                mask, chosen, next_pos = mask[index], chosen[index], next_pos[index]
                alive = [alive[j] for j in keep]
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            out = self.model(
                input_ids=chosen[:, None],
                attention_mask=mask,
                position_ids=next_pos,
                use_cache=True,
                **self._cache_in(cache),
            )
            cache, logits, next_pos = self._cache_out(out), out.logits[:, -1], next_pos + 1

    # transformers 5.24 renamed the forward's and the output's ``past_key_values`` to ``cache``
    # (the old name goes in 5.40): use whichever the installed model takes.
    def _cache_in(self, cache) -> dict:
        if self._takes_cache is None:
            params = inspect.signature(self.model.forward).parameters
            self._takes_cache = "cache" in params
        return {"cache": cache} if self._takes_cache else {"past_key_values": cache}

    @staticmethod
    def _cache_out(out):
        cache = getattr(out, "cache", None)
        return cache if cache is not None else out.past_key_values

    def _pick(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.kwargs.get("do_sample"):
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / self.kwargs["temperature"], dim=-1)
        return torch.multinomial(probs, 1).squeeze(-1)

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
        past = growing_cache()
        if not cached:
            return ids.to(self.model.device), mask.to(self.model.device), past
        donor = next(s for s in states if s.ids)
        heads, _, dim = donor.keys[0].shape
        for layer in range(len(donor.keys)):
            k = torch.zeros((len(states), heads, cached, dim), dtype=donor.keys[0].dtype)
            v = torch.zeros_like(k)
            for i, s in enumerate(states):
                if s.ids:
                    k[i, :, cached - len(s.ids) :] = s.keys[layer]
                    v[i, :, cached - len(s.ids) :] = s.values[layer]
            past.update(k.to(self.model.device), v.to(self.model.device), layer)
        return ids.to(self.model.device), mask.to(self.model.device), past

    def _keep(self, state: DialogueState, real: list[int], gen: list[int], keys, values) -> str:
        state.ids = real + gen[:-1]
        state.keys, state.values = keys, values
        state.pending = gen[-1:]
        self.stats.generated += len(gen)
        text = [t for t in gen if t not in self.stop_ids]
        return self.tok.decode(text, skip_special_tokens=True).strip()


def _row_cache(cache, mask: torch.Tensor, row: int) -> tuple[list, list]:
    """Per layer, the keys and values of the real tokens (``mask`` 1) of one row of a batch."""
    cols = torch.nonzero(mask[row], as_tuple=True)[0]
    keys = [layer.keys[row].index_select(1, cols).cpu() for layer in cache.layers]
    values = [layer.values[row].index_select(1, cols).cpu() for layer in cache.layers]
    return keys, values
