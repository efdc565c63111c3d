"""Where the project's shared folders are: the registry and the leaderboards.

Both live at the repository root (next to ``zoo_core/``), so an editable install and a clone
see the same files. ``ZOO_REGISTRY_DIR`` and ``ZOO_LEADERBOARDS_DIR`` point elsewhere (tests use
temporary copies).
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def registry_dir() -> Path:
    """The registry folder: ``index.json`` and the bundled agents under ``agents/``."""
    return Path(os.environ.get("ZOO_REGISTRY_DIR") or _ROOT / "registry")


def leaderboards_dir() -> Path:
    """The leaderboards folder: one JSON per env (protocol and entries) and the rendered pages."""
    return Path(os.environ.get("ZOO_LEADERBOARDS_DIR") or _ROOT / "leaderboards")
