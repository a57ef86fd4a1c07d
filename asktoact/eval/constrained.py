"""Format-free next calls: decoding constrained to a valid call over the case's tools.

A small model that has not learned the call format (``name`` on one line, the JSON arguments on
the next) scores 0 on TS/PI/CF whatever tool it would pick. With ``evaluate.constrained=true``
every next call is decoded under a grammar that admits only ``<tool>\\n<arguments>`` for a tool of
the case, with arguments of that tool's parameters and JSON types (its required ones required,
no other names), then the end of the turn — so the scores measure the choice of tool, parameters
and values, not syntax. The grammar is lm-format-enforcer's (a character-level parser turned into
the allowed next tokens at each step; it runs on CPU): a union over the tools, each a fixed
string followed by a JSON-schema parser, handed to ``generate`` as ``prefix_allowed_tokens_fn``.

lm-format-enforcer's own transformers adapter imports a module transformers 5 no longer has; the
tokenizer table it needs (each token id with its text, and whether it starts a word) is built
here instead, once per tokenizer.
"""

from __future__ import annotations

from typing import Any

from lmformatenforcer import (
    CharacterLevelParser,
    JsonSchemaParser,
    SequenceParser,
    StringParser,
    TokenEnforcer,
    UnionParser,
)
from lmformatenforcer.characterlevelparser import CharacterLevelParserConfig
from lmformatenforcer.tokenenforcer import TokenEnforcerTokenizerData

from asktoact.schema import ToolSpec
from asktoact.tools.calls import function_spec

# Bounds on a value, so that a call under the grammar ends within the reply budget even when the
# model would write on (a string, a list or a number without end); far above our data's values.
MAX_STRING, MAX_ITEMS, MAX_DIGITS = 96, 8, 12
# whitespace the JSON may hold in a row (lm-format-enforcer's default, 12, lets a weak model pad)
MAX_WHITESPACE = 1
_BOUNDS = {"string": {"maxLength": MAX_STRING}, "array": {"maxItems": MAX_ITEMS}}


def arguments_schema(tool: ToolSpec) -> dict[str, Any]:
    """The JSON schema of a tool's arguments: its parameters' names and types, nothing else."""
    spec = function_spec(tool)["function"]["parameters"]
    properties = {
        name: {"type": p["type"], **_BOUNDS.get(p["type"], {})}
        for name, p in spec["properties"].items()
    }
    return {
        "type": "object",
        "properties": properties,
        "required": spec["required"],
        "additionalProperties": False,
    }


def call_parser(tools: list[ToolSpec]):
    """A parser that accepts exactly the valid calls of ``tools`` (the ``format_call`` form)."""
    config = CharacterLevelParserConfig(max_consecutive_whitespaces=MAX_WHITESPACE)
    calls = [
        SequenceParser(
            [StringParser(f"{t.name}\n"), JsonSchemaParser(arguments_schema(t), config=config)]
        )
        for t in tools
    ]
    return DigitCap(UnionParser(calls))


class DigitCap(CharacterLevelParser):
    """A parser wrapper that allows at most ``MAX_DIGITS`` digits in a row (JSON numbers have no
    length bound in lm-format-enforcer's parser, and a weak model writes digits on)."""

    def __init__(self, inner: CharacterLevelParser, run: int = 0):
        self.inner, self.run = inner, run
        super().__init__()

    def add_character(self, new_character: str) -> DigitCap:
        run = self.run + 1 if new_character.isdigit() else 0
        return DigitCap(self.inner.add_character(new_character), run)

    def get_allowed_characters(self) -> str:
        allowed = self.inner.get_allowed_characters()
        return allowed if self.run < MAX_DIGITS else "".join(c for c in allowed if not c.isdigit())

    def can_end(self) -> bool:
        return self.inner.can_end()

    def shortcut_key(self):
        return self.inner.shortcut_key()

    def cache_key(self):
        key = self.inner.cache_key()  # what is allowed next depends on the run, too
        return None if key is None else ("digits", self.run, key)


def tokenizer_data(tok, stop_ids: list[int]):
    """lm-format-enforcer's table of ``tok``'s tokens (seconds for a 50 k vocabulary: build it
    once per agent); ``stop_ids`` end the turn once a call is complete."""
    special = set(tok.all_special_ids)
    zero = tok.encode("0", add_special_tokens=False)[-1]
    regular = []
    for i in range(len(tok)):
        if i in special:
            continue
        # decoded after a "0" (then cut): a token that opens a word keeps its leading space
        after = tok.decode([zero, i])[1:]
        regular.append((i, after, len(after) > len(tok.decode([i]))))
    return TokenEnforcerTokenizerData(
        regular,
        lambda ids: tok.decode(ids).rstrip("\ufffd"),
        list(stop_ids),
        use_bitmask=False,
        vocab_size=len(tok),
    )


def allowed_tokens_fn(data, tool_lists: list[list[ToolSpec]]):
    """``prefix_allowed_tokens_fn`` for a batch: row ``b`` may only write a valid call of
    ``tool_lists[b]`` (each row its own enforcer; the first sequence it sees is its prompt).
    ``data``: :func:`tokenizer_data` of the model's tokenizer."""
    enforcers = [TokenEnforcer(data, call_parser(tools)) for tools in tool_lists]

    def allowed(batch_id: int, input_ids) -> list[int]:
        return enforcers[batch_id].get_allowed_tokens(input_ids.tolist()).allowed_tokens

    return allowed
