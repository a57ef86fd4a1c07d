"""BFCL's own Python environment (``.venv-bfcl``), created once from the package registry.

``bfcl-eval`` pins numpy 1.26.4, its own sentence-transformers, provider SDKs and more, which clash
with ours, so it never enters our environment: it gets a virtualenv of its own with our torch
installed first (so pip keeps the CPU build instead of fetching another), then ``bfcl-eval`` at the
pinned version and the modules its imports need but its metadata leaves out (``extras``). A stamp
file names what was installed; another version or extras list builds the environment anew.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

log = logging.getLogger(__name__)

STAMP = ".asktoact-bfcl.json"


class BfclEnvError(RuntimeError):
    pass


def python_of(venv: str | Path) -> Path:
    return Path(venv) / "bin" / "python"


def ensure_env(venv: str | Path, bfcl_version: str, extras: list[str]) -> Path:
    """The Python of a BFCL environment with ``bfcl-eval==bfcl_version`` and ``extras``."""
    venv = Path(venv)
    want = {"bfcl-eval": bfcl_version, "torch": version("torch"), "extras": sorted(extras)}
    stamp = venv / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return python_of(venv)
    if venv.exists():
        log.info("BFCL environment %s was made for other settings: building it anew", venv)
        shutil.rmtree(venv)
    log.info(
        "creating BFCL's environment %s (bfcl-eval==%s, about 2 GB, a few minutes)",
        venv,
        bfcl_version,
    )
    _run([sys.executable, "-m", "venv", str(venv)], venv)
    pip = [str(python_of(venv)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    torch_pin = f"torch=={want['torch'].split('+')[0]}"
    _run([*pip, torch_pin], venv)
    _run([*pip, f"bfcl-eval=={bfcl_version}", torch_pin, *extras], venv)
    stamp.write_text(json.dumps(want, sort_keys=True))
    return python_of(venv)


def _run(cmd: list[str], venv: Path) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise BfclEnvError(
            f"creating BFCL's environment {venv} failed ({' '.join(cmd[-3:])}): the package "
            f"registry must be reachable once; retry with `make bfcl-env`.\n{tail}"
        )


def data_dir(python: str | Path) -> Path:
    """The BFCL data folder shipped inside the environment's ``bfcl_eval`` package (found
    without importing it: its import pulls in every provider SDK)."""
    code = (
        "import importlib.util, pathlib;"
        "print(pathlib.Path(importlib.util.find_spec('bfcl_eval').origin).parent / 'data')"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def main() -> None:
    """``make bfcl-env``: the environment ``conf/steps/bfcl.yaml`` names."""
    from omegaconf import OmegaConf

    from asktoact.paths import CONF_DIR

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    node = OmegaConf.load(Path(CONF_DIR) / "steps" / "bfcl.yaml")
    try:
        python = ensure_env(node.venv, node.bfcl_version, list(node.extras))
    except BfclEnvError as err:
        sys.exit(str(err))
    print(f"BFCL's environment: {python} (bfcl-eval=={node.bfcl_version})")


if __name__ == "__main__":
    main()
