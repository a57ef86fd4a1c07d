"""Where the project's Hydra configs and experiment specs live.

``conf/`` and ``experiments/`` sit at the top of the repository; the package reaches them through
``asktoact/conf`` and ``asktoact/experiments`` (links in a checkout, real folders in an installed
wheel, see ``setup.cfg``), so every entry point finds them however the package was installed and
from whatever directory it is started.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CONF_DIR = str(PACKAGE_DIR / "conf")
EXPERIMENTS_DIR = PACKAGE_DIR / "experiments"
