"""Partially observable classic control: ``POMDP/<id>`` hides the velocities of ``<id>``.

With the velocities gone a single observation no longer says where the system is heading, so a
feed-forward policy is at a loss and an agent needs memory (a recurrent core or stacked frames).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

PREFIX = "POMDP/"

# Observation indices kept per env: positions and angles, never their rates of change.
KEPT: dict[str, tuple[int, ...]] = {
    "CartPole-v1": (0, 2),  # cart position, pole angle (of x, ẋ, θ, θ̇)
    "Acrobot-v1": (0, 1, 2, 3),  # cos/sin of both joint angles (of those and two angular velocities)
}


class HideVelocities(gym.ObservationWrapper):
    """Keep only the observation entries at ``kept``."""

    def __init__(self, env: gym.Env, kept: tuple[int, ...]):
        super().__init__(env)
        self.kept = np.asarray(kept)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[self.kept], space.high[self.kept], dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return observation[self.kept]


def list_ids() -> list[str]:
    """The ``POMDP/`` ids served."""
    return [PREFIX + k for k in KEPT]


def make_pomdp(env_id: str, *, render_mode: str | None = None) -> gym.Env:
    """``POMDP/CartPole-v1`` -> CartPole-v1 with its velocities hidden."""
    base = env_id[len(PREFIX):]
    return HideVelocities(gym.make(base, render_mode=render_mode), KEPT[base])
