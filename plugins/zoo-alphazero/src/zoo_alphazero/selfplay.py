"""Self-play: many games in lockstep, one batched search per move, examples when games end.

Every game of the batch is searched together (one network call per simulation for all of them).
A finished game is replaced by a new one at once, so the batch stays full. Each position of a game
becomes an example ``(observation, visit policy, outcome)``, the outcome seen by the player who was
to move there: +1 if they went on to win, -1 if they lost, 0 for a draw.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from zoo_alphazero.games import Game, State, outcome_for_first
from zoo_alphazero.mcts import SearchConfig, Tree, advance, init_tree, search, set_roots, visit_policy
from zoo_alphazero.models import Evaluator, game_model


@dataclass
class Examples:
    """Training examples: obs int8 ``[N, 2, H, W]`` (0/1 planes), pi float32 ``[N, A]`` (root visit
    distribution), z float32 ``[N]`` (the final result to the player to move)."""

    obs: np.ndarray
    pi: np.ndarray
    z: np.ndarray

    @classmethod
    def empty(cls, game: Game) -> Examples:
        return cls(np.zeros((0, *game.obs_shape), np.int8), np.zeros((0, game.num_actions), np.float32),
                   np.zeros(0, np.float32))

    @classmethod
    def concat(cls, parts: list[Examples], game: Game) -> Examples:
        if not parts:
            return cls.empty(game)
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def __len__(self) -> int:
        return len(self.z)


@dataclass
class GameRecord:
    """One finished self-play game: its moves and its result for the first player."""

    moves: list[int]
    result: float


class SelfPlay:
    """``n`` self-play games in lockstep (see the module docstring).

    :param evaluate: the network's evaluator (:func:`zoo_alphazero.network.network_evaluator`).
    :param simulations: per move; ``temperature_moves``: moves sampled from the visit counts before
        playing the most visited move; ``tree_reuse``: keep the chosen subtree.
    """

    def __init__(self, game: Game, evaluate: Evaluator, n: int, config: SearchConfig, simulations: int,
                 temperature_moves: int, tree_reuse: bool, rng: np.random.Generator):
        self.game, self.n, self.config, self.simulations = game, n, config, simulations
        self.temperature_moves, self.tree_reuse, self.rng = temperature_moves, tree_reuse, rng
        self.root_fn, self.recurrent_fn = game_model(game, evaluate)
        self.state = game.initial(n)
        self.moves: list[list[int]] = [[] for _ in range(n)]
        self.obs: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.pis: list[list[np.ndarray]] = [[] for _ in range(n)]
        self.tree: Tree | None = None

    def _roots(self, rows: np.ndarray) -> None:
        """Fresh roots for the games at ``rows`` (bool ``[n]``), or for all when there is no tree."""
        if self.tree is None or not self.tree_reuse:
            self.tree = init_tree(self.root_fn(self.state), self.state, 1)
            return
        sub = self.state.take(rows)
        if len(sub.board):
            self.tree = set_roots(self.tree, rows, self.root_fn(sub), sub)

    def play(self, moves: int) -> tuple[Examples, list[GameRecord]]:
        """Play ``moves`` moves in every game; return the examples and records of the games that ended."""
        game, n = self.game, self.n
        done_examples: list[Examples] = []
        records: list[GameRecord] = []
        if self.tree is None:
            self._roots(np.ones(n, bool))
        for _ in range(moves):
            assert self.tree is not None
            self.tree = search(self.tree, self.recurrent_fn, self.simulations, self.config, self.rng)
            pi = visit_policy(self.tree, 1.0)
            greedy = visit_policy(self.tree, 0.0)
            ply = np.array([len(m) for m in self.moves])
            sample = ply < self.temperature_moves
            probs = np.where(sample[:, None], pi, greedy).astype(np.float64)
            # One uniform draw per game, inverted through its cumulative distribution.
            u = self.rng.random(n)[:, None]
            action = (np.cumsum(probs / probs.sum(-1, keepdims=True), -1) < u).sum(-1)
            action = np.minimum(action, game.num_actions - 1)
            obs = game.observe(self.state).astype(np.int8)
            for i in range(n):
                self.obs[i].append(obs[i])
                self.pis[i].append(pi[i])
                self.moves[i].append(int(action[i]))
            step = game.step(self.state, action)
            for i in np.flatnonzero(step.done):
                length = len(self.moves[i])
                # The last mover's result is the step reward; signs alternate back through the game.
                last = float(step.reward[i])
                z = np.array([last if (length - 1 - t) % 2 == 0 else -last for t in range(length)], np.float32)
                done_examples.append(Examples(np.stack(self.obs[i]), np.stack(self.pis[i]), z))
                records.append(GameRecord(self.moves[i], outcome_for_first(last, mover=(length - 1) % 2)))
                self.moves[i], self.obs[i], self.pis[i] = [], [], []
            # A finished game's slot starts a new one at once.
            self.state = step.state.put(step.done, game.initial(int(step.done.sum())))
            if self.tree_reuse:
                self.tree, reused = advance(self.tree, action)
                self._roots(~reused | step.done)
            else:
                self.tree = None
                self._roots(np.ones(n, bool))
        return Examples.concat(done_examples, game), records

    # --- state for checkpoints ------------------------------------------------------------------

    def get_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Arrays (positions, trees, the unfinished games' examples) and JSON (moves, rng)."""
        arrays = {"board": self.state.board, "player": self.state.player}
        if self.tree is not None:
            for f in fields(Tree):
                if f.name != "embedding":
                    arrays[f"tree.{f.name}"] = getattr(self.tree, f.name)
            arrays["tree.embedding.board"] = self.tree.embedding.board
            arrays["tree.embedding.player"] = self.tree.embedding.player
        for i in range(self.n):
            if self.obs[i]:
                arrays[f"obs.{i}"] = np.stack(self.obs[i])
                arrays[f"pi.{i}"] = np.stack(self.pis[i])
        return arrays, {"moves": self.moves, "rng": self.rng.bit_generator.state}

    def set_state(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        """Restore :meth:`get_state`'s output."""
        self.state = State(arrays["board"], arrays["player"])
        self.moves = [list(m) for m in meta["moves"]]
        self.obs = [list(arrays[f"obs.{i}"]) if f"obs.{i}" in arrays else [] for i in range(self.n)]
        self.pis = [list(arrays[f"pi.{i}"]) if f"pi.{i}" in arrays else [] for i in range(self.n)]
        self.rng.bit_generator.state = meta["rng"]
        if "tree.size" in arrays:
            tree_fields = {f.name: arrays[f"tree.{f.name}"] for f in fields(Tree) if f.name != "embedding"}
            embedding = State(arrays["tree.embedding.board"], arrays["tree.embedding.player"])
            self.tree = Tree(**tree_fields, embedding=embedding)
        else:
            self.tree = None
