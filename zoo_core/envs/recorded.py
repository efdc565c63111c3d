"""Exact save/restore of a running env by replaying its seed and actions, never by pickling it.

Emulators and simulators hold state we cannot serialise portably (ALE's C++ machine, MinAtar's RandomState),
but they are deterministic given the reset seed and the actions since then. So we log those and replay.
"""

from __future__ import annotations

import copy
import zlib
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from zoo_core.errors import CheckpointError

Op = list[Any]  # ["reset", seed] or ["reset", seed, options] or ["step", action], all JSON-able


def _crc(obs: Any) -> int:
    """A checksum of an observation, to detect a replay that diverged."""
    return zlib.crc32(np.ascontiguousarray(np.asarray(obs)).tobytes()) if obs is not None else 0


def _request_real_reset(env: gym.Env) -> None:
    """Asks every wrapper that can continue a game across resets (EpisodicLife) to really reset next time."""
    while True:
        request = getattr(env, "request_real_reset", None)
        if callable(request):
            request()
        if not isinstance(env, gym.Wrapper):
            return
        env = env.env


class Recorded(gym.Wrapper):
    """Outermost wrapper that logs the ops since the last real reset, so `set_state` can rebuild the env exactly.

    A reset whose info says `real_reset=False` (EpisodicLife continuing a game) extends the log; any other reset
    starts a new one. `reset()` without a seed draws one from a generator reseeded by each explicit seed, so
    every logged episode has a seed and unseeded use stays reproducible after a seeded reset.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._log: list[Op] = []
        self._seed_rng = np.random.default_rng()
        self._last_obs: Any = None

    @property
    def op_log(self) -> list[Op]:
        """A copy of the op log since the last real reset."""
        return copy.deepcopy(self._log)

    def _encode(self, action: Any) -> Any:
        if isinstance(self.action_space, spaces.Discrete):
            return int(action)
        return np.asarray(action).tolist()

    def _decode(self, action: Any) -> Any:
        if isinstance(self.action_space, spaces.Discrete):
            return int(action)
        return np.asarray(action, dtype=self.action_space.dtype)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Resets the env (drawing a seed if none is given) and logs the reset."""
        if seed is None:
            seed = int(self._seed_rng.integers(2**31 - 1))
        else:
            seed = int(seed)
            self._seed_rng = np.random.default_rng(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        op: Op = ["reset", seed] if options is None else ["reset", seed, copy.deepcopy(options)]
        if info.get("real_reset", True) or not self._log:
            self._log = [op]
        else:
            self._log.append(op)
        self._last_obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        """Steps the env with the action as it will be replayed, and logs it."""
        encoded = self._encode(action)
        obs, reward, terminated, truncated, info = self.env.step(self._decode(encoded))
        self._log.append(["step", encoded])
        self._last_obs = obs
        return obs, reward, terminated, truncated, info

    def get_state(self) -> dict[str, Any]:
        """JSON-able state: the op log, the seed generator and a checksum of the current observation."""
        return {
            "log": copy.deepcopy(self._log),
            "seed_rng": self._seed_rng.bit_generator.state,
            "obs_crc": _crc(self._last_obs),
        }

    def set_state(self, state: dict[str, Any]) -> Any:
        """Replays `state`'s log on this env and returns the observation it ends on.

        Raises CheckpointError if the log is malformed or the replay does not reproduce the saved observation.
        """
        log = state.get("log") or []
        if not log or log[0][0] != "reset":
            raise CheckpointError("env state has no episode to restore: its op log must start with a reset")
        _request_real_reset(self.env)
        obs: Any = None
        for op in log:
            if op[0] == "reset":
                obs, _ = self.env.reset(seed=op[1], options=op[2] if len(op) > 2 else None)
            elif op[0] == "step":
                obs = self.env.step(self._decode(op[1]))[0]
            else:
                raise CheckpointError(f"unknown op {op[0]!r} in env state; valid ops: reset, step")
        if _crc(obs) != state.get("obs_crc"):
            raise CheckpointError(
                "replaying the env state gave a different observation; is it the same env and version?"
            )
        self._log = copy.deepcopy(log)
        self._seed_rng = np.random.default_rng()
        self._seed_rng.bit_generator.state = state["seed_rng"]
        self._last_obs = obs
        return obs
