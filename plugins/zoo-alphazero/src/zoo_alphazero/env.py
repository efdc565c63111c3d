"""The games as single-agent gymnasium envs: the learner plays one side against a built-in opponent.

``Game/TicTacToe-v0`` and ``Game/ConnectFour-v0`` let the core's evaluation (``zoo eval``, periodic
evals) score an agent by its results against a uniformly random player: +1 a win, -1 a loss, 0 a
draw. The agent's colour alternates with the episode number, which is the reset seed when one is
given (even: the agent moves first), so a seeded evaluation plays half its games each way.

An illegal agent move raises :class:`~zoo_alphazero.games.IllegalMove`. The core's ε-greedy
evaluation draws its random actions from :meth:`GameEnv.action_masks` (also in ``info["legal"]``),
so they are always legal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from zoo_alphazero.games import GAMES, Game, State, draw
from zoo_core.api import EnvFamily, ZooError, unknown_env_error

PREFIX = "Game/"
VERSION = "-v0"

Opponent = Callable[[Game, State, np.random.Generator], int]
"""``opponent(game, state [1], rng) -> action``: the built-in player's move in a live position."""


def random_opponent(game: Game, state: State, rng: np.random.Generator) -> int:
    """A uniformly random legal move."""
    return int(rng.choice(np.flatnonzero(game.legal(state)[0])))


OPPONENTS: dict[str, Opponent] = {"random": random_opponent}


class GameEnv(gym.Env):
    """One side of a two-player game against a built-in ``opponent``.

    Observation: float32 ``[2, H, W]`` in {0, 1}, plane 0 the agent's stones, plane 1 the
    opponent's (:meth:`Game.observe` from the agent's side, also once the game is over). Action: the
    game's action (cell or column, 0-based). Reward at the end only: +1 win, -1 loss, 0 draw.
    ``info["legal"]`` bool ``[A]`` the agent's legal moves (all False once over); ``info["player"]``
    the agent's colour, 0 when it moved first.

    ``state`` (the current :class:`State`, ``B = 1``) and ``moves`` (the actions played so far, both
    sides) let tools read the position. ``reset(options={"agent_first": bool})`` fixes the colour.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"]}

    def __init__(self, game: Game, opponent: str | Opponent = "random", render_mode: str | None = None):
        if isinstance(opponent, str):
            if opponent not in OPPONENTS:
                raise ZooError(f"unknown opponent {opponent!r}; choose from {', '.join(OPPONENTS)}")
            opponent = OPPONENTS[opponent]
        if render_mode not in (None, "ansi", "rgb_array"):
            raise ZooError(f"{game.name} renders as 'ansi' (text) or 'rgb_array' (an image), got {render_mode!r}")
        self.game = game
        self.opponent = opponent
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0.0, 1.0, game.obs_shape, np.float32)
        self.action_space = gym.spaces.Discrete(game.num_actions)
        self.state = game.initial(1)
        self.moves: list[int] = []
        self.agent = 0  # the agent's colour
        self._episode = -1  # an unseeded reset plays the next episode number
        self._done = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)  # seeds self.np_random, the opponent's generator
        self._episode = seed if seed is not None else self._episode + 1
        first = bool((options or {}).get("agent_first", self._episode % 2 == 0))
        self.agent = 0 if first else 1
        self.state, self.moves, self._done = self.game.initial(1), [], False
        if self.agent == 1:
            self._play(self.opponent(self.game, self.state, self.np_random))
        return self._observation(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        # The game's own check refuses moves after the end too, with its one-line message.
        reward, done = self._play(int(action))
        if not done:
            theirs, done = self._play(self.opponent(self.game, self.state, self.np_random))
            reward = -theirs if theirs else 0.0  # the opponent's win is the agent's loss (and no -0.0)
        self._done = done
        return self._observation(), reward, done, False, self._info()

    def _play(self, action: int) -> tuple[float, bool]:
        """Make one move for whoever is to move; returns (its reward to the mover, game over)."""
        step = self.game.step(self.state, np.array([action]))
        self.state = step.state
        self.moves.append(action)
        return float(step.reward[0]), bool(step.done[0])

    def _observation(self) -> np.ndarray:
        board = self.state.board if int(self.state.player[0]) == self.agent else -self.state.board
        return self.game.observe(State(board, self.state.player))[0]

    def _info(self) -> dict[str, Any]:
        return {"legal": self.action_masks(), "player": self.agent}

    def action_masks(self) -> np.ndarray:
        """bool ``[A]``: the agent's legal moves now (all False once the game is over)."""
        if int(self.state.player[0]) != self.agent:
            return np.zeros(self.game.num_actions, bool)
        return self.game.legal(self.state)[0]

    def render(self) -> str | np.ndarray | None:
        """The board as text (``ansi``: X moved first) or an image (``rgb_array``: red moved first)."""
        if self.render_mode == "ansi":
            return self.game.render(self.state)
        if self.render_mode == "rgb_array":
            return draw(self.game, self.state)
        return None


def game_env_id(game: Game) -> str:
    """``Game/TicTacToe-v0`` for tic-tac-toe."""
    return f"{PREFIX}{game.name}{VERSION}"


def list_ids() -> list[str]:
    """The ``Game/`` ids served."""
    return [game_env_id(g) for g in GAMES.values()]


def game_of(env_id: str) -> Game:
    """The game behind a ``Game/`` id.

    :raises ZooError: not a ``Game/`` id, or an unknown game (suggesting the closest ids).
    """
    if not env_id.startswith(PREFIX):
        raise ZooError(f"{env_id!r} is not a board game; game ids are {', '.join(list_ids())}")
    by_id = {game_env_id(g): g for g in GAMES.values()}
    if env_id not in by_id:
        raise unknown_env_error(env_id, list(by_id))
    return by_id[env_id]


def make_game_env(env_id: str, *, training: bool, render_mode: str | None = None) -> GameEnv:
    """The family's ``make``: the game against a random opponent (training makes no difference)."""
    return GameEnv(game_of(env_id), render_mode=render_mode)


def game_family() -> EnvFamily:
    """The ``Game/`` env family: tic-tac-toe and Connect Four against a random opponent."""
    return EnvFamily(
        "games", PREFIX, make_game_env, list_ids,
        "two-player board games vs a random opponent, reward +1/0/-1: Game/TicTacToe-v0",
    )
