"""Transforms the run config applies to every env of a run: reward scale, observation padding."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


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


class PadChannels(gym.ObservationWrapper):
    """Zero-pad the first (channel) axis of observations to ``channels``, so games with different
    channel counts (the five MinAtar games: 4 to 10) share one network in multi-task training."""

    def __init__(self, env: gym.Env, channels: int):
        super().__init__(env)
        space = env.observation_space
        have = space.shape[0]
        if len(space.shape) != 3 or have > channels:
            raise ValueError(f"cannot pad observations of shape {space.shape} to {channels} channels")
        self.extra = channels - have
        low = np.concatenate([space.low, np.zeros((self.extra, *space.shape[1:]), space.dtype)])
        high = np.concatenate([space.high, np.zeros((self.extra, *space.shape[1:]), space.dtype)])
        self.observation_space = gym.spaces.Box(low, high, dtype=space.dtype)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return np.concatenate([observation, np.zeros((self.extra, *observation.shape[1:]), observation.dtype)])
