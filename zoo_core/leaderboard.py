"""Leaderboards: a fixed protocol per env, entries re-evaluated by the zoo itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def verified_score(folder: Path) -> dict[str, Any] | None:
    """The leaderboard entry that re-evaluated exactly this agent folder's model, or None."""
    return None
