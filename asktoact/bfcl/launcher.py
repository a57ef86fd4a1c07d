"""BFCL's own command line with one more model in its registry. Runs inside BFCL's environment
(``.venv-bfcl``), never in ours: it imports nothing of asktoact.

    python launcher.py --name NAME --mode prompt|fc [--display LABEL] -- generate|evaluate ...

BFCL reads a model's handler from ``bfcl_eval.constants.model_config.MODEL_CONFIG_MAPPING``; the
entry added here, before BFCL's CLI parses its arguments, is the only change — BFCL's files are
not touched. ``prompt``: BFCL's prompt-mode handler for local models (its own instructions and
``[func(arg=value)]`` decoding, the model's chat template) against ``/v1/completions``. ``fc``:
BFCL's OpenAI function-calling handler against ``/v1/chat/completions`` with ``tools``; function
names with dots travel with underscores, which BFCL's checker maps back (``underscore_to_dot``).
"""

from __future__ import annotations

import argparse
import sys


def register(name: str, mode: str, display: str) -> None:
    from bfcl_eval.constants.model_config import MODEL_CONFIG_MAPPING, ModelConfig

    if mode == "prompt":
        from bfcl_eval.model_handler.local_inference.quick_testing_oss import (
            QuickTestingOSSHandler as handler,
        )
    else:
        from bfcl_eval.model_handler.api_inference.openai_completion import (
            OpenAICompletionsHandler as handler,
        )
    MODEL_CONFIG_MAPPING[name] = ModelConfig(
        model_name=name,
        display_name=display,
        url="local (asktoact-serve)",
        org="asktoact",
        license="see the model's own licence",
        model_handler=handler,
        is_fc_model=mode == "fc",
        underscore_to_dot=mode == "fc",
    )


def main(argv: list[str]) -> None:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="launcher.py")
    parser.add_argument("--name", required=True)
    parser.add_argument("--mode", choices=("prompt", "fc"), required=True)
    parser.add_argument("--display", default=None)
    args = parser.parse_args(argv[:split])
    register(args.name, args.mode, args.display or args.name)
    from bfcl_eval.__main__ import cli

    cli(argv[split + 1 :], prog_name="bfcl")


if __name__ == "__main__":
    main(sys.argv[1:])
