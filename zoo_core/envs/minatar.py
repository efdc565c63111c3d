"""MinAtar games as gymnasium envs: ids `MinAtar/<Game>-v1`, observations uint8 [C, 10, 10], Discrete(6).

MinAtar (Young & Tian, 2019) is a 10x10 miniature of five Atari games; a DQN learns it in minutes on a CPU.
We expose the full six-action set, as in the MinAtar paper, sticky actions 0.1 and difficulty ramping.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from zoo_core.errors import ZooError

PREFIX = "MinAtar/"
GAMES: dict[str, str] = {
    "Asterix": "asterix",
    "Breakout": "breakout",
    "Freeway": "freeway",
    "Seaquest": "seaquest",
    "SpaceInvaders": "space_invaders",
}
RENDER_SCALE = 16

# Background, then one colour per channel (Seaquest has the most: 10); later channels are drawn on top.
_PALETTE = np.array(
    [
        (0, 0, 0),
        (230, 230, 230),
        (255, 80, 80),
        (255, 170, 40),
        (250, 230, 60),
        (90, 220, 90),
        (60, 200, 220),
        (70, 110, 255),
        (180, 90, 240),
        (255, 120, 200),
        (150, 110, 70),
    ],
    dtype=np.uint8,
)


def _import_minatar() -> ModuleType:
    """Imports minatar quietly; a ZooError says how to install it if it is missing."""
    root = logging.getLogger()
    # minatar logs a warning on the root logger when matplotlib/seaborn are missing; with no handler there,
    # that call would install a stderr handler on the root logger for the whole process.
    shield = logging.NullHandler() if not root.handlers else None
    if shield is not None:
        root.addHandler(shield)
    try:
        import minatar
    except ImportError as e:
        raise ZooError("MinAtar games need the minatar package: pip install minatar") from e
    finally:
        if shield is not None:
            root.removeHandler(shield)
    return minatar


def list_ids() -> list[str]:
    """The five `MinAtar/<Game>-v1` ids."""
    return [f"{PREFIX}{name}-v1" for name in GAMES]


class MinAtarEnv(gym.Env[np.ndarray, int]):
    """One MinAtar game. Observation uint8 [C, 10, 10] of 0/1 (channels first), actions Discrete(6), no time limit.

    `reset(seed=s)` seeds the RNG that both sticky actions and the game use, so an episode is a deterministic
    function of s and the actions; `reset()` without a seed continues the current RNG.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(
        self,
        game: str,
        *,
        render_mode: str | None = None,
        sticky_action_prob: float = 0.1,
        difficulty_ramping: bool = True,
    ):
        if game not in GAMES.values():
            raise ValueError(f"unknown MinAtar game {game!r}; valid: {', '.join(GAMES.values())}")
        if render_mode not in (None, "rgb_array"):
            raise ZooError(f"MinAtar supports render_mode 'rgb_array' or none, not {render_mode!r}")
        minatar = _import_minatar()
        self._game = minatar.Environment(
            game, sticky_action_prob=sticky_action_prob, difficulty_ramping=difficulty_ramping
        )
        height, width, channels = self._game.state_shape()
        self.observation_space = spaces.Box(0, 1, (channels, height, width), dtype=np.uint8)
        self.action_space = spaces.Discrete(self._game.num_actions())
        self.render_mode = render_mode

    def _obs(self) -> np.ndarray:
        return np.ascontiguousarray(self._game.state().transpose(2, 0, 1), dtype=np.uint8)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Starts a new game; returns the [C, 10, 10] observation and an empty info."""
        super().reset(seed=seed)
        if seed is not None:
            # Derived from gymnasium's seeded RNG, so any seed size works (RandomState wants < 2**32);
            # Environment.seed shares one RandomState between sticky actions and the game.
            self._game.seed(int(self.np_random.integers(2**32)))
        # The sticky action must not leak from the previous episode.
        self._game.last_action = 0
        self._game.reset()
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Acts; reward is the game's (0 or 1 mostly), terminated when the game ends, never truncated."""
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action {a} out of range; MinAtar actions are 0..{self.action_space.n - 1}")
        reward, terminal = self._game.act(a)
        return self._obs(), float(reward), bool(terminal), False, {}

    def render(self) -> np.ndarray | None:
        """rgb_array mode: uint8 [160, 160, 3], each cell a 16x16 block in its channel's palette colour."""
        if self.render_mode != "rgb_array":
            return None
        state = self._game.state()
        # Index 0 is background; where cells overlap, the highest channel wins.
        index = np.max(state * np.arange(1, state.shape[2] + 1), axis=2)
        image = _PALETTE[index]
        return np.repeat(np.repeat(image, RENDER_SCALE, axis=0), RENDER_SCALE, axis=1)


def make_minatar(env_id: str, *, training: bool, render_mode: str | None = None) -> MinAtarEnv:
    """Builds `MinAtar/<Game>-v1`; training and evaluation envs are the same (no clipping or lives to handle)."""
    name = env_id.removeprefix(PREFIX).removesuffix("-v1")
    if env_id not in list_ids():
        raise ValueError(f"unknown MinAtar id {env_id!r}; valid: {', '.join(list_ids())}")
    return MinAtarEnv(GAMES[name], render_mode=render_mode)
