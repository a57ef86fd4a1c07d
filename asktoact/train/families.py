"""Chat formats of the model families, as the embedded tiny tokenizers reproduce them.

Each family lists its special tokens, the end-of-turn string that closes an assistant turn (and is
trained with it), and a Jinja chat template that renders that family's turn format. Real models
use their own tokenizer's template; only ``eot`` is taken from here (or from the model config).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    specials: tuple[str, ...]
    bos: str | None
    eos: str
    pad: str
    eot: str  # what closes an assistant turn in the rendered text
    chat_template: str


# Qwen2 / ChatML: <|im_start|>role\ncontent<|im_end|>\n
QWEN2 = Family(
    "qwen2",
    ("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
    bos=None,
    eos="<|im_end|>",
    pad="<|endoftext|>",
    eot="<|im_end|>",
    chat_template=(
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    ),
)

# Llama 3: <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
LLAMA = Family(
    "llama",
    (
        "<|begin_of_text|>",
        "<|end_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
    ),
    bos="<|begin_of_text|>",
    eos="<|eot_id|>",
    pad="<|end_of_text|>",
    eot="<|eot_id|>",
    chat_template=(
        "<|begin_of_text|>{% for m in messages %}<|start_header_id|>{{ m['role'] }}"
        "<|end_header_id|>\n\n{{ m['content'] }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
    ),
)

# Mistral v0.3: <s>[INST] user [/INST] assistant</s>[INST] ... (other roles folded into [INST])
MISTRAL = Family(
    "mistral",
    ("<unk>", "<s>", "</s>", "[INST]", "[/INST]"),
    bos="<s>",
    eos="</s>",
    pad="<unk>",
    eot="</s>",
    chat_template=(
        "<s>{% for m in messages %}{% if m['role'] == 'assistant' %} {{ m['content'] }}</s>"
        "{% else %}[INST] {{ m['content'] }} [/INST]{% endif %}{% endfor %}"
    ),
)

# Gemma 3: <start_of_turn>user\ncontent<end_of_turn>\n ... <start_of_turn>model\n (the assistant's
# role is "model"; no system role, so a system turn's text goes at the head of the first user
# turn: model.system_role false). The base Gemma 3 270M ships no chat template: this one is ours,
# after the turn markers its model card documents.
GEMMA3 = Family(
    "gemma3",
    ("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"),
    bos="<bos>",
    eos="<eos>",
    pad="<pad>",
    eot="<end_of_turn>",
    chat_template=(
        "<bos>{% for m in messages %}<start_of_turn>"
        "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] }}"
        "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
    ),
)

# CodeLLaMA as TL-Training fine-tunes it (the base CodeLlama-7b-hf ships no chat template; the
# authors' `tool-codellama2` format): one line per turn, "Role: content", with the roles System,
# User, Assistant and Output (a tool's result, role "function"); BOS once at the start. Ours
# closes every assistant turn with </s> so that each one can be trained; the authors' closes
# only the last (they train the last reply of each example), and prompt with "Assistant:".
CODELLAMA = Family(
    "codellama",
    ("<unk>", "<s>", "</s>"),
    bos="<s>",
    eos="</s>",
    pad="<unk>",
    eot="</s>",
    chat_template=(
        "<s>{% set names = {'system': 'System', 'user': 'User', 'assistant': 'Assistant', "
        "'function': 'Output', 'tool': 'Output'} %}{% for m in messages %}"
        "{{ names.get(m['role'], m['role'] | capitalize) }}: {{ m['content'] }}"
        "{% if m['role'] == 'assistant' %}</s>{% endif %}{{ '\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}Assistant:{% endif %}"
    ),
)

FAMILIES = {f.name: f for f in (QWEN2, LLAMA, MISTRAL, GEMMA3, CODELLAMA)}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"model.family must be one of {sorted(FAMILIES)}, got {name!r}") from None
