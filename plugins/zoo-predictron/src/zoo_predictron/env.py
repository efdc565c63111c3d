"""The maze task as the ``Predictron/`` env family.

``Predictron/Maze20-v0`` is a prediction task, not a control task: each reset draws one random 20x20
maze (walls independent at density 0.3, the bottom-right cell free) and shows it as a ``[1, 20, 20]``
float32 image, 1 where a wall is; ``info["targets"]`` holds its 20 labels, whether each diagonal cell
reaches the bottom-right corner (:func:`zoo_predictron.maze_connectivity`). There is nothing to
do: the one action ends the episode with reward 0. The same reset seed gives the same maze, so a
held-out set is a range of seeds (item i: ``reset(seed=seed + i)``), and :meth:`MazeEnv.sample`
draws training batches from a generator.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from zoo_core.api import EnvFamily, ZooError, table_env
from zoo_predictron.maze import maze_batch, maze_connectivity, random_mazes

PREFIX = "Predictron/"
TASKS: dict[str, dict[str, Any]] = {
    "Predictron/Maze20-v0": {"size": 20, "density": 0.3},
}


class MazeEnv(gym.Env):
    """One random maze per episode; see the module docstring.

    :param size: the maze's side (and the number of targets).
    :param density: each cell's probability of being a wall.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, size: int = 20, density: float = 0.3, render_mode: str | None = None):
        if size < 2 or not 0.0 <= density < 1.0:
            raise ZooError(f"a maze needs size >= 2 and density in [0, 1); got size {size}, density {density}")
        if render_mode not in (None, "rgb_array"):
            raise ZooError(f"the maze renders as 'rgb_array' only, got {render_mode!r}")
        self.size, self.density, self.render_mode = size, density, render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, (1, size, size), np.float32)
        self.action_space = gym.spaces.Discrete(1)
        self._obs = np.zeros((1, size, size), np.float32)
        self._targets = np.zeros(size, np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None:  # the env's own generator, as gymnasium envs do
            seed = int(self.np_random.integers(2**31))
        obs, targets = maze_batch(seed, 1, self.size, self.density)
        self._obs, self._targets = obs[0], targets[0]
        return self._obs.copy(), {"targets": self._targets.copy()}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return self._obs.copy(), 0.0, True, False, {"targets": self._targets.copy()}

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` fresh mazes from ``rng``: observations ``[n, 1, size, size]`` and targets ``[n, size]``."""
        walls = random_mazes(rng, n, self.size, self.density)
        return walls[:, None].astype(np.float32), maze_connectivity(walls)

    def render(self) -> np.ndarray | None:
        """The maze in grey and white, the diagonal cells that reach the corner in green, 8 pixels a cell."""
        if self.render_mode != "rgb_array":
            return None
        image = np.where(self._obs[0, :, :, None] > 0, 60, 235).astype(np.uint8).repeat(3, axis=2)
        index = np.arange(self.size)
        image[index, index] = np.where(self._targets[:, None] > 0, [40, 180, 60], [200, 60, 60])
        return image.repeat(8, axis=0).repeat(8, axis=1)


def make_maze_env(env_id: str, *, training: bool = False, render_mode: str | None = None) -> gym.Env:
    """The family's ``make``: a :class:`MazeEnv` with the id's size and density."""
    del training  # the same task in training and evaluation
    return table_env(env_id, TASKS, MazeEnv, render_mode)  # the spec pins the size and density


def maze_family() -> EnvFamily:
    """The ``Predictron/`` env family."""
    return EnvFamily(
        "predictron", PREFIX, make_maze_env, lambda: list(TASKS),
        "the predictron's prediction tasks: Predictron/Maze20-v0 (which diagonal cells of a random 20x20 maze "
        "reach its bottom-right corner)",
    )
