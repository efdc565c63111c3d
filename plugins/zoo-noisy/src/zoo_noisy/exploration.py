"""The exploration role under NoisyNet: no ε, the (noisy) network's greedy action."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoo_core.api import ExplorationBase


class NoisyGreedy(ExplorationBase):
    """Always the greedy action of ``q_fn()``; exploration comes from the noisy weights.

    Implements :class:`zoo_core.api.Exploration`. It draws nothing from ``rng`` and keeps no
    state, so a resumed agent acts exactly as the uninterrupted one.
    """

    def __init__(self, num_actions: int):
        self.num_actions = num_actions

    def actions(self, q_fn: Callable[[], np.ndarray], step: int, rng: np.random.Generator, num_envs: int) -> np.ndarray:
        return np.asarray(q_fn()).argmax(axis=-1).astype(np.int64)
