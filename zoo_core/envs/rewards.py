"""Reward transforms for the learner's envs that leave the reported score alone."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class ScaleReward(gym.Wrapper):
    """The learner sees ``scale * reward``; ``info["raw_reward"]`` keeps the env's own reward, so episode
    returns in logs stay in the env's units (as Atari's reward clipping does)."""

    def __init__(self, env: gym.Env, scale: float):
        super().__init__(env)
        self.scale = float(scale)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("raw_reward", float(reward))
        return obs, self.scale * float(reward), terminated, truncated, info
