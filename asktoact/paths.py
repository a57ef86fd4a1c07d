"""Where the project's Hydra configs live (absolute, so every entry point resolves them the same
way whether started as a console script or with ``python -m``)."""

from pathlib import Path

CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")
