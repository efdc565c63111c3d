"""Where the project's shared folders are: the registry and the leaderboards.

In a source checkout (and an editable install) both live at the repository root, next to
``zoo_core/``. A built wheel ships them inside the package (``zoo_core/_registry``,
``zoo_core/_leaderboards``), so an installed zoo serves its bundled agents and boards from any
working directory; those shipped copies are read-only. ``ZOO_REGISTRY_DIR`` and
``ZOO_LEADERBOARDS_DIR`` (or ``zoo leaderboard --leaderboards DIR``) point elsewhere: a user's own
boards, tests' temporary copies.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo_core.errors import ZooError

_PACKAGE = Path(__file__).resolve().parents[1]
_CHECKOUT = _PACKAGE.parent


def _shipped(name: str) -> Path:
    """The installed package's copy of a root folder, else the checkout's."""
    inside = _PACKAGE / f"_{name}"
    return inside if inside.is_dir() else _CHECKOUT / name


def registry_dir() -> Path:
    """The registry folder: ``index.json`` and the bundled agents under ``agents/``."""
    return Path(os.environ.get("ZOO_REGISTRY_DIR") or _shipped("registry"))


def leaderboards_dir() -> Path:
    """The leaderboards folder: one JSON per env (protocol and entries) and the rendered pages."""
    return Path(os.environ.get("ZOO_LEADERBOARDS_DIR") or _shipped("leaderboards"))


def is_shipped(path: Path) -> bool:
    """Whether ``path`` lies in the folders shipped inside an installed package (read-only)."""
    path = Path(path).resolve()
    return any(path.is_relative_to(_PACKAGE / f"_{name}") for name in ("registry", "leaderboards"))


def refuse_shipped(path: Path, what: str) -> None:
    """Raise a one-line :class:`ZooError` saying where to write instead, when ``path`` is shipped."""
    if is_shipped(path):
        raise ZooError(
            f"the leaderboards and registry shipped with zoo-core are read-only ({path}); to {what}, keep your "
            "own folder: copy the board there and pass --leaderboards DIR (or set ZOO_LEADERBOARDS_DIR)"
        )
