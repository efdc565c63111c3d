"""Environments: families and `make_env`, Atari/MinAtar adapters, exact restore (`Recorded`) and vector envs."""

from __future__ import annotations

import gymnasium as gym
from gymnasium.wrappers import FrameStackObservation

from zoo_core.envs.families import EnvFamily, builtin_families, find_family, make_env
from zoo_core.envs.recorded import Recorded
from zoo_core.envs.vector import VecEnv, VecStep, make_async_vec_env

__all__ = [
    "EnvFamily",
    "Recorded",
    "VecEnv",
    "VecStep",
    "builtin_families",
    "find_family",
    "frame_stack_depth",
    "make_async_vec_env",
    "make_env",
]


def wrapper_chain(env: gym.Env) -> list[str]:
    """Class names of an env's wrappers, outermost first, down to the base env's."""
    chain, current = [], env
    while True:
        chain.append(type(current).__name__)
        if not isinstance(current, gym.Wrapper):
            return chain
        current = current.env


def frame_stack_depth(env: gym.Env | VecEnv) -> int:
    """How many frames each observation stacks (4 for Atari), found by walking the wrapper chain; else 1.

    Replay buffers use it to store single frames instead of whole stacks. A VecEnv is asked about its first env.
    """
    current = env.envs[0] if isinstance(env, VecEnv) else env
    while True:
        if isinstance(current, FrameStackObservation):
            return int(current.stack_size)
        if not isinstance(current, gym.Wrapper):
            return 1
        current = current.env
