"""MiniGrid as pixels: the agent's partial, egocentric 7x7 view rendered as an RGB image.

``MiniGrid/DoorKey-5x5-v0`` is the ``minigrid`` package's ``MiniGrid-DoorKey-5x5-v0`` with
observations ``uint8 [3, 56, 56]`` (channels first, 8 pixels a tile): what the agent sees, never the
map or its symbolic encoding. Rewards are sparse: ``1 − 0.9 · steps / max_steps`` on reaching the
goal, 0 otherwise.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np

from zoo_core.api import unknown_env_error

PREFIX = "MiniGrid/"
GYM_PREFIX = "MiniGrid-"
TILE = 8  # pixels per grid tile: the 7x7 view is 56x56


class ChannelsFirst(gym.ObservationWrapper):
    """``[H, W, C]`` image observations -> ``[C, H, W]`` (the zoo's torsos read channels first)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        h, w, c = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (c, h, w), np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(observation.transpose(2, 0, 1))


@functools.cache
def list_ids() -> list[str]:
    """Every MiniGrid env the ``minigrid`` package registers, as ``MiniGrid/<name>``."""
    import minigrid  # noqa: F401 - registers the envs

    return sorted(PREFIX + k[len(GYM_PREFIX):] for k in gym.envs.registry if k.startswith(GYM_PREFIX))


def make_minigrid(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    """The pixel view of a MiniGrid env (training makes no difference: rewards are not clipped)."""
    from minigrid.wrappers import ImgObsWrapper, RGBImgPartialObsWrapper

    if env_id not in list_ids():
        raise unknown_env_error(env_id, list_ids())
    env = gym.make(GYM_PREFIX + env_id[len(PREFIX):], render_mode=render_mode)
    return ChannelsFirst(ImgObsWrapper(RGBImgPartialObsWrapper(env, tile_size=TILE)))
