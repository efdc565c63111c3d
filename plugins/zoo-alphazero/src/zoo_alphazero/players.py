"""Players for the arena and ``zoo play``: random, pure Monte Carlo tree search, a perfect
tic-tac-toe solver, and a trained AlphaZero agent.

A player chooses moves for a batch of positions at once (each seen from its player to move, as
:class:`~zoo_alphazero.games.State` holds them), so an arena plays many games in lockstep and a
searching player expands the leaves of all its trees in one batch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from zoo_alphazero.games import GAMES, TIC_TAC_TOE, Game, State
from zoo_alphazero.mcts import SearchConfig, init_tree, search
from zoo_alphazero.models import game_model, rollout_evaluator
from zoo_core.api import ZooError

Seed = int | Sequence[int] | None
"""Anything :func:`numpy.random.default_rng` takes."""

UCT_C = 1.0
"""Pure MCTS's exploration constant. UCB1's ``sqrt(2)`` is for rewards in [0, 1]; ours span
[-1, 1], which scales its worst-case equivalent to ``2 sqrt(2)``, but with a few hundred
simulations less exploration plays better: the tree must grow deep enough to see tactics rather
than spread evenly over the root's moves. Measured: a round robin
of c in {0.7, 1.0, 1.4, 2.0} at 200 simulations on Connect Four, 40 games per pair (both colours),
scored 0.56, 0.55, 0.43 and 0.46 of 120 games each; 1.0 beat 0.7 head to head 22-18 (within
noise), and both beat 1.4 and 2.0."""

SPEC_FORMS = (
    "random, mcts:N (N simulations, e.g. mcts:200), minimax (alias perfect), "
    "or an agent (run directory, agent folder, registry:NAME, hf:org/name@rev)"
)


class Player(Protocol):
    """Chooses moves: ``act(state [B]) -> int [B]``, one legal action per unfinished position."""

    name: str

    def act(self, state: State) -> np.ndarray: ...


def _uniform(legal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """int ``[B]``: a uniformly random True column of each row of ``legal [B, A]``."""
    return np.where(legal, rng.random(legal.shape), -1.0).argmax(-1)


class RandomPlayer:
    """Plays a uniformly random legal move."""

    def __init__(self, game: Game, rng: np.random.Generator):
        self.game, self.rng, self.name = game, rng, "random"

    def act(self, state: State) -> np.ndarray:
        return _uniform(self.game.legal(state), self.rng)


class MCTSPlayer:
    """Pure Monte Carlo tree search: UCT with a uniform prior and one random playout per new leaf.

    A fresh tree for every move; it plays the root's most visited action (ties broken at random).
    """

    def __init__(self, game: Game, simulations: int, rng: np.random.Generator, c: float = UCT_C):
        if simulations < 1:
            raise ZooError(f"pure MCTS needs at least 1 simulation per move, got {simulations}")
        self.game, self.simulations, self.rng = game, simulations, rng
        self.config = SearchConfig(rule="uct", c=c)
        self.root_fn, self.recurrent_fn = game_model(game, rollout_evaluator(game, rng))
        self.name = f"mcts:{simulations}"

    def act(self, state: State) -> np.ndarray:
        tree = init_tree(self.root_fn(state), state, capacity=self.simulations + 1)
        tree = search(tree, self.recurrent_fn, self.simulations, self.config)
        visits = tree.child_visits[:, 0]  # [B, A]
        return _uniform(visits == visits.max(-1, keepdims=True), self.rng)


def _negamax(game: Game, board: np.ndarray, memo: dict[bytes, tuple[int, np.ndarray]]) -> int:
    """The value (+1 win, 0 draw, -1 loss) of ``board`` ``[H, W]`` to its player to move under
    perfect play; fills ``memo`` with each position's value and optimal actions."""
    key = board.tobytes()
    if key in memo:
        return memo[key][0]
    state = State(board[None], np.zeros(1, np.int8))  # the mover's view: colour does not matter
    legal = np.flatnonzero(game.legal(state)[0])
    if len(legal) == 0:  # the mover just lost (a line) or it is a draw (full board)
        memo[key] = (-1 if game.won_by_last(state.board)[0] else 0, legal)
        return memo[key][0]
    values = np.empty(len(legal), np.int64)
    for i, a in enumerate(legal):
        step = game.step(state, np.array([a]))
        values[i] = -_negamax(game, step.state.board[0], memo)
    best = int(values.max())
    memo[key] = (best, legal[values == best])
    return best


_SOLUTIONS: dict[Game, dict[bytes, tuple[int, np.ndarray]]] = {}


def solve(game: Game) -> dict[bytes, tuple[int, np.ndarray]]:
    """Every position reachable in ``game`` (keyed by ``board.tobytes()``, the board seen by the
    player to move) with its negamax value and its optimal actions; computed once per process."""
    if game not in _SOLUTIONS:
        memo: dict[bytes, tuple[int, np.ndarray]] = {}
        _negamax(game, game.initial(1).board[0], memo)
        _SOLUTIONS[game] = memo
    return _SOLUTIONS[game]


class MinimaxPlayer:
    """A perfect tic-tac-toe player: negamax over all 5,478 positions, memoised. It picks
    uniformly among the optimal moves, so its games vary."""

    def __init__(self, game: Game, rng: np.random.Generator):
        if game != TIC_TAC_TOE:
            raise ZooError(f"the minimax solver plays TicTacToe only, not {game.name}; try mcts:N instead")
        self.game, self.rng, self.name = game, rng, "minimax"
        self.table = solve(game)

    def act(self, state: State) -> np.ndarray:
        return np.array([self.rng.choice(self.table[b.tobytes()][1]) for b in state.board], np.int64)

    def value(self, state: State) -> np.ndarray:
        """int ``[B]``: each position's value to its player to move under perfect play."""
        return np.array([self.table[b.tobytes()][0] for b in state.board], np.int64)


class AgentPlayer:
    """A trained AlphaZero agent: ``agent.play(state, simulations)`` is its greedy search move.

    :param agent: has ``game`` (a :class:`~zoo_alphazero.games.Game`) and ``play(state,
        simulations=None) -> int [B]``.
    :param simulations: simulations per move; None keeps the agent's own setting.
    """

    def __init__(self, agent: Any, simulations: int | None = None, name: str = "agent"):
        if not callable(getattr(agent, "play", None)) or not isinstance(getattr(agent, "game", None), Game):
            raise ZooError(f"{name} is not a board-game agent (an alphazero agent has .game and .play)")
        self.agent, self.simulations, self.name = agent, simulations, name
        self.game: Game = agent.game

    def act(self, state: State) -> np.ndarray:
        return np.asarray(self.agent.play(state, simulations=self.simulations), dtype=np.int64).reshape(-1)


_MCTS = re.compile(r"^mcts(?::(.*))?$")


def is_agent_spec(spec: str) -> bool:
    """Whether ``spec`` names a trained agent rather than a built-in opponent."""
    return spec.startswith(("registry:", "hf:")) or Path(spec).exists()


def load_agent_player(spec: str, simulations: int | None = None) -> AgentPlayer:
    """Load the agent ``spec`` names (as ``zoo eval`` resolves its PATH) and wrap it.

    :raises ZooError: nothing loads from ``spec``, or it is not a board-game agent.
    """
    from zoo_core.api import load

    return AgentPlayer(load(spec), simulations, name=spec)


def parse_spec(spec: str) -> tuple[str, int | None]:
    """What a player spec names: ``("random" | "minimax" | "agent", None)`` or ``("mcts", N)``.

    :raises ZooError: an unknown spec (the message lists the valid forms) or a bad simulation count.
    """
    low = spec.strip().lower()
    if low == "random":
        return "random", None
    if low in ("minimax", "perfect"):
        return "minimax", None
    if match := _MCTS.match(low):
        n = match[1]
        if n is None or not n.isdigit() or int(n) < 1:
            raise ZooError(f"'{spec}': mcts takes a positive number of simulations per move, e.g. mcts:200")
        return "mcts", int(n)
    if is_agent_spec(spec.strip()):
        return "agent", None
    raise ZooError(f"unknown opponent '{spec}'; expected {SPEC_FORMS}")


def make_opponent(spec: str, game: Game | None, seed: Seed, simulations: int | None = None) -> Player:
    """A player from its spec: ``random``, ``mcts:N``, ``minimax`` (``perfect``) or an agent.

    :param game: the game to play; may be None only for an agent (which knows its game).
    :param seed: seeds the player's random choices (and rollouts).
    :param simulations: an agent's simulations per move (None: its own setting).
    :raises ZooError: an unknown spec (the message lists the valid forms), a bad simulation count,
        minimax outside tic-tac-toe, or an agent trained on another game.
    """
    kind, n = parse_spec(spec)
    if kind == "agent":
        player = load_agent_player(spec.strip(), simulations)
        if game is not None and player.game != game:
            raise ZooError(f"{spec} plays {player.game.name}, not {game.name}")
        return player
    if game is None:
        raise ZooError(f"opponent '{spec}' needs a game ({', '.join(GAMES)})")
    rng = np.random.default_rng(seed)
    if kind == "random":
        return RandomPlayer(game, rng)
    if kind == "minimax":
        return MinimaxPlayer(game, rng)
    return MCTSPlayer(game, n, rng)
