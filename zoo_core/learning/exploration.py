"""Exploration policies: the core's ε-greedy default (NoisyNet replaces it by a plugin).

Interface: ``actions(q_fn, step: int, rng: np.random.Generator, num_envs: int) -> [E] int64``, where ``q_fn()``
returns the greedy values ``[E, A]`` (a call, so a policy that needs no values skips the network), and
``epsilon(step) -> float`` (for logs); it may keep no state beyond what ``step`` and ``rng`` give,
so a resumed agent explores exactly as the uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoo_core.host.protocols import ExplorationBase


def linear_schedule(start: float, end: float, duration: int, step: int) -> float:
    """Linearly anneal from ``start`` to ``end`` over ``duration`` steps, then hold ``end``."""
    if duration <= 0:
        return end
    frac = min(max(step / duration, 0.0), 1.0)
    return start + frac * (end - start)


class EpsilonGreedy(ExplorationBase):
    """With probability ε a uniform random action, else the greedy one; ε annealed linearly."""

    def __init__(self, num_actions: int, start: float, end: float, decay_steps: int):
        self.num_actions = num_actions
        self.start, self.end, self.decay_steps = start, end, decay_steps

    def epsilon(self, step: int) -> float:
        return linear_schedule(self.start, self.end, self.decay_steps, step)

    def actions(self, q_fn: Callable[[], np.ndarray], step: int, rng: np.random.Generator, num_envs: int) -> np.ndarray:
        eps = self.epsilon(step)
        if num_envs == 1:
            # The same draws as below through numpy's scalar calls (same stream, same values),
            # without the array round trips: a third of the cost.
            explore_one = rng.random() < eps
            random_action = rng.integers(0, self.num_actions)
            return np.array([random_action]) if explore_one else q_fn().argmax(axis=-1)
        explore = rng.random(num_envs) < eps
        random_actions = rng.integers(0, self.num_actions, size=num_envs)
        if explore.all():  # every env explores: the network's opinion is not needed
            return random_actions
        return np.where(explore, random_actions, q_fn().argmax(axis=-1))
