"""Atari 2600 games (`ALE/<Game>-v5`) with the standard DQN preprocessing.

Pipeline, innermost first: the ALE env (no frame skip, sticky actions 0.25, minimal action set) ->
`AtariPreprocess` (no-op starts, frame skip 4 with max-pooling, 84x84 grayscale) -> in training only
`EpisodicLife` and `ClipReward` -> `FrameStackObservation(4)`, so observations are uint8 [4, 84, 84].

`AtariPreprocess` stands in for gymnasium's `AtariPreprocessing`, which hard-requires OpenCV only for its
resize; an area-weighted resize in numpy gives the same kind of image without that dependency.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import FrameStackObservation

from zoo_core.errors import ZooError

PREFIX = "ALE/"
STACK_SIZE = 4
SCREEN_SIZE = 84


def _register_ale() -> None:
    """Registers the `ALE/...` ids with gymnasium; a ZooError says how to install ale-py if it is missing."""
    try:
        import ale_py
    except ImportError as e:
        raise ZooError("Atari games need the ale-py package: pip install ale-py") from e
    gym.register_envs(ale_py)


def list_ids() -> list[str]:
    """All `ALE/<Game>-v5` ids, sorted."""
    _register_ale()
    return sorted(k for k in gym.envs.registry if k.startswith(PREFIX) and k.endswith("-v5"))


def _area_taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray]:
    """Area interpolation (OpenCV's INTER_AREA) from src to dst pixels along one axis, for any downscale factor.

    Returns (index [dst, K], weight [dst, K]): output pixel i is sum_k weight[i, k] * input[index[i, k]],
    the overlap-weighted mean of the input pixels it covers. Gathers instead of a dense matmul keep BLAS
    threads (slow to wake between emulator steps) out of the hot loop.
    """
    scale = src / dst
    taps: list[list[tuple[int, float]]] = []
    for i in range(dst):
        lo, hi = i * scale, (i + 1) * scale
        row = [(j, min(hi, j + 1) - max(lo, j)) for j in range(int(np.floor(lo)), min(int(np.ceil(hi)), src))]
        taps.append([(j, w / scale) for j, w in row if w > 1e-9])
    width = max(len(row) for row in taps)
    index = np.zeros((dst, width), dtype=np.intp)
    weight = np.zeros((dst, width), dtype=np.float32)
    for i, row in enumerate(taps):
        for k, (j, w) in enumerate(row):
            index[i, k], weight[i, k] = j, w
    return index, weight


class AtariPreprocess(gym.Wrapper):
    """No-op starts, frame skip with max-pooling of the last two frames, grayscale, area resize to a square.

    Observations are uint8 [screen_size, screen_size]. Rewards are summed over the skipped frames.
    Needs an ALE env built with `frameskip=1`.
    """

    def __init__(self, env: gym.Env, noop_max: int = 30, frame_skip: int = 4, screen_size: int = SCREEN_SIZE):
        super().__init__(env)
        if frame_skip < 1 or noop_max < 0 or screen_size < 1:
            raise ValueError(
                f"bad preprocessing: frame_skip={frame_skip}, noop_max={noop_max}, screen_size={screen_size}"
            )
        if getattr(env.unwrapped, "_frameskip", 1) != 1:
            raise ValueError("build the ALE env with frameskip=1; this wrapper does the skipping")
        self.noop_max = noop_max
        self.frame_skip = frame_skip
        height, width = env.unwrapped.ale.getScreenDims()
        # The last two raw frames; max-pooling them removes the flicker of sprites drawn every other frame.
        self._frames = np.zeros((2, height, width), dtype=np.uint8)
        self._rows = _area_taps(height, screen_size)
        self._cols = _area_taps(width, screen_size)
        self.observation_space = spaces.Box(0, 255, (screen_size, screen_size), dtype=np.uint8)

    def _grab(self, slot: int) -> None:
        self.env.unwrapped.ale.getScreenGrayscale(self._frames[slot])

    def _obs(self) -> np.ndarray:
        frame = np.maximum(self._frames[0], self._frames[1]) if self.frame_skip > 1 else self._frames[0]
        (ri, rw), (ci, cw) = self._rows, self._cols
        tall = (frame.astype(np.float32)[ri] * rw[:, :, None]).sum(axis=1)  # [size, width]
        small = (tall[:, ci] * cw[None]).sum(axis=2)  # [size, size]
        return np.clip(np.rint(small), 0, 255).astype(np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Resets the game, then takes 1..noop_max no-ops drawn from the seeded RNG: varied, reproducible starts."""
        _, info = self.env.reset(seed=seed, options=options)
        noops = int(self.env.unwrapped.np_random.integers(1, self.noop_max + 1)) if self.noop_max > 0 else 0
        for _ in range(noops):
            _, _, terminated, truncated, step_info = self.env.step(0)
            info.update(step_info)
            if terminated or truncated:
                _, info = self.env.reset(seed=seed, options=options)
        self._grab(0)
        self._frames[1].fill(0)
        return self._obs(), info

    def step(self, action: int) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict]:
        """Repeats `action` for frame_skip frames; the observation pools the last two of them."""
        total = 0.0
        terminated = truncated = False
        info: dict = {}
        for t in range(self.frame_skip):
            _, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                # The episode ended mid-skip: show the final screen itself rather than a stale pool partner.
                self._grab(0)
                self._frames[1] = self._frames[0]
                break
            if t >= self.frame_skip - 2:
                self._grab(self.frame_skip - 1 - t)
        return self._obs(), total, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """Losing a life ends the learner's episode, but not the game (as in the DQN papers).

    step: terminated=True on a life loss; `info["game_over"]` says whether the game itself ended.
    reset: right after a life loss (and the game not over) it continues the game with one no-op step
    instead of resetting; `info["real_reset"]` says which happened. The learner gets a terminal signal per
    life, which speeds up learning, while the score still counts the whole game.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self._lives = 0
        self._continue = False

    def request_real_reset(self) -> None:
        """Makes the next reset a real one; `Recorded.set_state` needs that before replaying a log."""
        self._continue = False

    def step(self, action: int) -> tuple[Any, SupportsFloat, bool, bool, dict]:
        """Steps the game; terminated is also True when a life was lost. Adds `info["game_over"]`."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        game_over = bool(terminated or truncated)
        lives = self.env.unwrapped.ale.lives()
        life_lost = 0 < lives < self._lives
        self._lives = lives
        self._continue = life_lost and not game_over
        info["game_over"] = game_over
        return obs, reward, bool(terminated or life_lost), bool(truncated), info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Continues the game after a life loss (seed ignored), else resets it; adds `info["real_reset"]`."""
        if self._continue:
            self._continue = False
            obs, _, terminated, truncated, info = self.env.step(0)
            if not (terminated or truncated):
                self._lives = self.env.unwrapped.ale.lives()
                info["real_reset"] = False
                return obs, info
        obs, info = self.env.reset(seed=seed, options=options)
        self._lives = self.env.unwrapped.ale.lives()
        info["real_reset"] = True
        return obs, info


class ClipReward(gym.Wrapper):
    """Rewards become their sign (-1, 0, 1) one step size fits all games; `info["raw_reward"]` keeps the score."""

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict]:
        """Steps the env and clips the reward; the unclipped reward goes to `info["raw_reward"]`."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["raw_reward"] = float(reward)
        return obs, float(np.sign(float(reward))), terminated, truncated, info


def make_atari(env_id: str, *, training: bool, render_mode: str | None = None) -> gym.Env:
    """Builds `ALE/<Game>-v5` with DQN preprocessing; observations uint8 [4, 84, 84], actions the minimal set.

    training=True adds episodic life and reward clipping; training=False gives the full, unclipped game score.
    """
    _register_ale()
    env = gym.make(
        env_id,
        frameskip=1,
        repeat_action_probability=0.25,
        full_action_space=False,
        render_mode=render_mode,
    )
    env = AtariPreprocess(env, noop_max=30, frame_skip=4, screen_size=SCREEN_SIZE)
    if training:
        env = EpisodicLife(env)
        env = ClipReward(env)
    # Outermost, so a continued (non-real) reset also restarts the stack from 4 copies of its frame.
    return FrameStackObservation(env, stack_size=STACK_SIZE, padding_type="reset")
