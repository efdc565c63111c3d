"""Rendering on a machine without a display, quietly.

gymnasium's classic-control envs draw their ``rgb_array`` frames with pygame. On a headless
machine SDL then probes for a window system and prints ``error: XDG_RUNTIME_DIR is invalid or not
set in the environment.`` on stderr; with SDL's dummy drivers it draws off-screen and says nothing.
"""

from __future__ import annotations

import os

_DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY")


def quiet_sdl() -> None:
    """Choose SDL's dummy video and audio drivers when no display is set and the user chose none.

    Called before an env renders (SDL reads these when pygame initialises, so a pygame that is
    already imported still honours them); a user's own ``SDL_VIDEODRIVER`` or a display wins.
    """
    if any(os.environ.get(name) for name in _DISPLAY_VARS):
        return
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
