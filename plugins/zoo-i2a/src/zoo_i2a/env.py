"""Procedurally generated Sokoban as the ``Sokoban/`` env family.

Each reset makes a level (:func:`zoo_i2a.generate.generate`): ``reset(seed=s)`` the level of seed
``s``, so a held-out set is a range of seeds; an unseeded reset draws a level seed from the env's
generator, at or above :data:`TRAIN_SEEDS`, above every seed range the zoo evaluates on (export
from 0, periodic evaluation from 1,000,000, leaderboards from 2,000,000), so training never meets
a held-out level. Observations are small RGB frames, one colour per cell kind and ``cell_pixels``
pixels a side per cell, channel-first ``uint8 [3, H * p, W * p]``. Rewards are the paper's
(:mod:`zoo_i2a.sokoban`); an episode ends when the level is solved or is truncated at ``max_steps``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from zoo_core.api import EnvFamily, ZooError, table_env
from zoo_i2a.generate import generate
from zoo_i2a.sokoban import ACTIONS, Level, is_solved, step

PREFIX = "Sokoban/"
TRAIN_SEEDS = 10_000_000
TASKS: dict[str, dict[str, Any]] = {
    # The paper's size, and smaller rooms that learn on two CPU cores.
    "Sokoban/Room10x10-v0": {"height": 10, "width": 10, "boxes": 4, "max_steps": 120},
    "Sokoban/Room7x7-v0": {"height": 7, "width": 7, "boxes": 2, "max_steps": 60},
    "Sokoban/Room6x6-v0": {"height": 6, "width": 6, "boxes": 1, "max_steps": 40},
}
# One colour per cell kind: wall, floor, target, box, box on target, player, player on target.
COLOURS = {
    "wall": (40, 40, 40), "floor": (225, 225, 215), "target": (230, 120, 120), "box": (160, 110, 40),
    "box_on_target": (120, 200, 80), "player": (60, 110, 230), "player_on_target": (150, 90, 230),
}


def frame(level: Level, boxes: frozenset, player: tuple[int, int], cell_pixels: int) -> np.ndarray:
    """The state as an image ``uint8 [H * p, W * p, 3]``."""
    h, w = level.walls.shape
    image = np.empty((h, w, 3), np.uint8)
    image[:] = COLOURS["floor"]
    image[level.walls] = COLOURS["wall"]
    image[level.targets] = COLOURS["target"]
    for b in boxes:
        image[b] = COLOURS["box_on_target" if level.targets[b] else "box"]
    image[player] = COLOURS["player_on_target" if level.targets[player] else "player"]
    return image.repeat(cell_pixels, axis=0).repeat(cell_pixels, axis=1)


class SokobanEnv(gym.Env):
    """One generated level per episode; see the module docstring.

    ``info["is_success"]`` says whether the episode's level is solved (gymnasium's name: evaluations
    count the solved levels), ``info["level_seed"]``
    which level it was. ``level``, ``boxes`` and ``player`` let tools (solvers, models) read the state.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, height: int = 10, width: int = 10, boxes: int = 4, max_steps: int = 120,
                 cell_pixels: int = 4, render_mode: str | None = None):
        if min(height, width) < 5 or boxes < 1 or max_steps < 1 or cell_pixels < 1:
            raise ZooError("a Sokoban room needs height and width >= 5, boxes >= 1, max_steps >= 1, cell_pixels >= 1")
        if render_mode not in (None, "rgb_array"):
            raise ZooError(f"Sokoban renders as 'rgb_array' only, got {render_mode!r}")
        self.height, self.width, self.n_boxes, self.max_steps = height, width, boxes, max_steps
        self.cell_pixels, self.render_mode = cell_pixels, render_mode
        self.observation_space = gym.spaces.Box(0, 255, (3, height * cell_pixels, width * cell_pixels), np.uint8)
        self.action_space = gym.spaces.Discrete(len(ACTIONS))
        self.level: Level | None = None
        self.boxes: frozenset = frozenset()
        self.player = (0, 0)
        self.steps = 0
        self.level_seed = -1

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.level_seed = seed if seed is not None else int(self.np_random.integers(TRAIN_SEEDS, 2**31))
        self.level = generate(self.level_seed, self.height, self.width, self.n_boxes)
        self.boxes, self.player, self.steps = self.level.boxes, self.level.player, 0
        return self._obs(), self._info(False)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.level is None:
            raise ZooError("call reset() before step()")
        if not 0 <= int(action) < len(ACTIONS):
            raise ZooError(f"Sokoban actions are 0-{len(ACTIONS) - 1} ({', '.join(ACTIONS)}); got {action}")
        self.boxes, self.player, reward, solved = step(self.level.walls, self.level.targets, self.boxes,
                                                       self.player, int(action))
        self.steps += 1
        truncated = not solved and self.steps >= self.max_steps
        return self._obs(), float(reward), solved, truncated, self._info(solved)

    def _obs(self) -> np.ndarray:
        assert self.level is not None
        return frame(self.level, self.boxes, self.player, self.cell_pixels).transpose(2, 0, 1).copy()

    def _info(self, solved: bool) -> dict:
        assert self.level is not None
        return {"is_success": solved or is_solved(self.level.targets, self.boxes), "level_seed": self.level_seed}

    def render(self) -> np.ndarray | None:
        """The state at 16 pixels a cell, ``uint8 [H * 16, W * 16, 3]``."""
        if self.render_mode != "rgb_array" or self.level is None:
            return None
        return frame(self.level, self.boxes, self.player, 16)


def make_sokoban_env(env_id: str, *, training: bool = False, render_mode: str | None = None) -> gym.Env:
    """The family's ``make``: a :class:`SokobanEnv` of the id's size (the same game in training)."""
    del training
    return table_env(env_id, TASKS, SokobanEnv, render_mode)  # the spec pins the room size and step cap


def sokoban_family() -> EnvFamily:
    """The ``Sokoban/`` env family."""
    return EnvFamily(
        "sokoban", PREFIX, make_sokoban_env, lambda: list(TASKS),
        "procedurally generated Sokoban, every level solvable, RGB frames: Sokoban/Room10x10-v0 (4 boxes), "
        "Room7x7-v0 (2), Room6x6-v0 (1)",
    )
