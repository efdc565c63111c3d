"""Vectorised envs: `VecEnv` steps E envs in this process with auto-reset and exact save/restore;
`make_async_vec_env` runs them in subprocesses for the distributed agents."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AsyncVectorEnv, AutoresetMode

from zoo_core.envs.recorded import Recorded
from zoo_core.errors import CheckpointError, ZooError

_SEED_BOUND = 2**31 - 1


@dataclass
class VecStep:
    """One step of E envs.

    obs: [E, *obs_shape] the observation to act on next (the reset observation where an episode just ended).
    next_obs: [E, *obs_shape] the true successor of this transition (the final observation where one ended).
    reward: [E] float32, the reward the learner sees (clipped in Atari training).
    terminated: [E] bool, the MDP ended: do not bootstrap.
    truncated: [E] bool, cut by a time limit: bootstrap from next_obs.
    episodes: (env_index, return, length) of game episodes that finished this step; the return sums
        `info["raw_reward"]` when present and runs to game over, so Atari's lives do not split it.
    """

    obs: np.ndarray
    next_obs: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    episodes: list[tuple[int, float, int]]


class VecEnv:
    """E envs stepped in this process, each wrapped in Recorded, auto-reset, episodes seeded from one Generator.

    Every episode starts with `reset(seed=...)` drawn from `np.random.Generator(PCG64(seed))`, so a run is a
    deterministic function of `seed` and the actions, and `load_state_dict` continues bit-identically.
    """

    def __init__(self, make_one: Callable[[], gym.Env], num_envs: int, seed: int):
        if num_envs < 1:
            raise ZooError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = num_envs
        self.envs: list[Recorded] = [Recorded(make_one()) for _ in range(num_envs)]
        self._seed_rng = np.random.Generator(np.random.PCG64(seed))
        # Running score and length of each env's current game, in raw (unclipped) reward.
        self._returns = np.zeros(num_envs, dtype=np.float64)
        self._lengths = np.zeros(num_envs, dtype=np.int64)
        self._started = False

    @property
    def observation_space(self) -> gym.Space:
        """Observation space of one env."""
        return self.envs[0].observation_space

    @property
    def action_space(self) -> gym.Space:
        """Action space of one env."""
        return self.envs[0].action_space

    def _next_seed(self) -> int:
        return int(self._seed_rng.integers(_SEED_BOUND))

    def reset(self) -> np.ndarray:
        """Starts a fresh episode in every env (seeds drawn in env order); returns obs [E, *obs_shape]."""
        obs = [env.reset(seed=self._next_seed())[0] for env in self.envs]
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._started = True
        return np.stack(obs)

    def step(self, actions: np.ndarray) -> VecStep:
        """Steps env i with actions[i] ([E]); envs whose episode ended are reset with a fresh seed."""
        if not self._started:
            raise RuntimeError("call reset() or load_state_dict() before step()")
        actions = np.asarray(actions)
        if actions.shape[0] != self.num_envs:
            raise ValueError(f"expected {self.num_envs} actions, got shape {actions.shape}")
        obs, next_obs, episodes = [], [], []
        reward = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        for i, env in enumerate(self.envs):
            o, r, term, trunc, info = env.step(actions[i])
            reward[i], terminated[i], truncated[i] = r, term, trunc
            self._returns[i] += float(info.get("raw_reward", r))
            self._lengths[i] += 1
            next_obs.append(o)
            if term or trunc:
                # Without EpisodicLife every episode end is a game end.
                if info.get("game_over", True):
                    episodes.append((i, float(self._returns[i]), int(self._lengths[i])))
                    self._returns[i] = 0.0
                    self._lengths[i] = 0
                o, _ = env.reset(seed=self._next_seed())
            obs.append(o)
        if self.num_envs == 1:  # a copy either way (an env may reuse its observation buffer)
            return VecStep(np.array(obs[0])[None], np.array(next_obs[0])[None], reward, terminated, truncated,
                           episodes)
        return VecStep(np.stack(obs), np.stack(next_obs), reward, terminated, truncated, episodes)

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: seed generator, each env's op log, running game returns and lengths (not the obs)."""
        if not self._started:
            raise RuntimeError("nothing to save before reset()")
        return {
            "num_envs": self.num_envs,
            "seed_rng": self._seed_rng.bit_generator.state,
            "envs": [env.get_state() for env in self.envs],
            "returns": self._returns.tolist(),
            "lengths": self._lengths.tolist(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> np.ndarray:
        """Restores a `state_dict` (replaying each env's log) and returns the current obs [E, *obs_shape]."""
        if state.get("num_envs") != self.num_envs:
            raise CheckpointError(f"env state is for {state.get('num_envs')} envs, this run has {self.num_envs}")
        obs = [env.set_state(s) for env, s in zip(self.envs, state["envs"], strict=True)]
        self._seed_rng.bit_generator.state = state["seed_rng"]
        self._returns[:] = state["returns"]
        self._lengths[:] = state["lengths"]
        self._started = True
        return np.stack(obs)

    def close(self) -> None:
        """Closes every env."""
        for env in self.envs:
            env.close()


def _seeded_env(make_one: Callable[[], gym.Env], seed: int) -> gym.Env:
    """Builds one env and seeds its RNGs, so the vector's first unseeded reset() is reproducible."""
    env = make_one()
    env.reset(seed=seed)
    env.action_space.seed(seed)
    return env


def make_async_vec_env(make_one: Callable[[], gym.Env], num_envs: int, seed: int) -> AsyncVectorEnv:
    """E envs in subprocesses; env i is seeded with seed + i, so call `reset()` without a seed.

    Uses same-step auto-reset (final observation in `info["final_obs"]`), matching VecStep's obs/next_obs split.
    """
    if num_envs < 1:
        raise ZooError(f"num_envs must be at least 1, got {num_envs}")
    fns = [functools.partial(_seeded_env, make_one, seed + i) for i in range(num_envs)]
    return AsyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)
