"""Models the search can use: a game's own rules with an evaluator of positions.

An evaluator maps positions to prior logits and values; :func:`game_model` turns the rules plus
an evaluator into the search's ``root_fn`` and ``recurrent_fn``. AlphaZero's evaluator is the
network (:mod:`zoo_alphazero.network`); pure Monte Carlo search's is a uniform prior with the
result of one random game played out to the end (:func:`rollout_evaluator`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoo_alphazero.games import Game, State
from zoo_alphazero.mcts import ModelOutput, RecurrentFn, RootFn

Evaluator = Callable[[State], tuple[np.ndarray, np.ndarray]]
"""``evaluate(state [B]) -> (prior_logits float32 [B, A], value float32 [B])``, the value to the
player to move; only called on positions where the game goes on."""


def _masked(logits: np.ndarray, legal: np.ndarray) -> np.ndarray:
    return np.where(legal, logits, -np.inf).astype(np.float32)


def game_model(game: Game, evaluate: Evaluator) -> tuple[RootFn, RecurrentFn]:
    """The search's model for a perfect simulator: the rules move, ``evaluate`` judges.

    Terminal positions are not evaluated: their transition carries the result as the reward and a
    zero discount.
    """

    def root_fn(state: State) -> ModelOutput:
        b = len(state.board)
        logits, value = evaluate(state)
        zeros = np.zeros(b, np.float32)
        return ModelOutput(_masked(logits, game.legal(state)), value.astype(np.float32), zeros, zeros)

    def recurrent_fn(state: State, action: np.ndarray) -> tuple[ModelOutput, State]:
        step = game.step(state, action)
        b = len(action)
        logits = np.zeros((b, game.num_actions), np.float32)
        value = np.zeros(b, np.float32)
        going = np.flatnonzero(~step.done)
        if len(going):
            logits[going], value[going] = evaluate(step.state.take(going))
        discount = np.where(step.done, 0.0, -1.0).astype(np.float32)
        return ModelOutput(_masked(logits, game.legal(step.state)), value, step.reward, discount), step.state

    return root_fn, recurrent_fn


def random_playout(game: Game, state: State, rng: np.random.Generator) -> np.ndarray:
    """float32 ``[B]``: the result, to each position's player to move, of playing uniformly random
    legal moves to the end of the game."""
    b = len(state.board)
    result = np.zeros(b, np.float32)
    sign = np.ones(b, np.float32)  # +1 while the position's own player is to move
    going = ~game.finished(state)
    while going.any():
        idx = np.flatnonzero(going)
        sub = state.take(idx)
        legal = game.legal(sub)
        # A uniform choice among legal moves: the argmax of random keys masked to legal ones.
        action = np.where(legal, rng.random(legal.shape), -1.0).argmax(-1)
        step = game.step(sub, action)
        state = state.put(idx, step.state)
        result[idx[step.done]] = sign[idx[step.done]] * step.reward[step.done]
        sign[idx] = -sign[idx]
        going[idx[step.done]] = False
    return result


def rollout_evaluator(game: Game, rng: np.random.Generator) -> Evaluator:
    """Pure Monte Carlo evaluation: a uniform prior and one random playout per position."""

    def evaluate(state: State) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((len(state.board), game.num_actions), np.float32), random_playout(game, state, rng)

    return evaluate


def uniform_evaluator(game: Game) -> Evaluator:
    """A uniform prior and value 0 everywhere: search guided by terminal results alone."""

    def evaluate(state: State) -> tuple[np.ndarray, np.ndarray]:
        b = len(state.board)
        return np.zeros((b, game.num_actions), np.float32), np.zeros(b, np.float32)

    return evaluate
