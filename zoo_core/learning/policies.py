"""Policies with memory: how a recurrent agent acts in :func:`zoo_core.evaluate` and step by step.

``evaluate`` runs several episodes side by side in env *slots*. A policy whose ``recurrent``
attribute is true is called as ``policy(obs, slots=..., first=...)`` and keeps one recurrent state
per slot, zeroed where ``first`` marks an episode's first observation, so an episode's actions do
not depend on which slot ran it or what ran beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from zoo_core.learning.devices import CPU, to_device, to_host

State = tuple[torch.Tensor, ...]
StepFn = Callable[[torch.Tensor, torch.Tensor, State], tuple[torch.Tensor, State]]


class RecurrentPolicy:
    """A greedy policy that carries a recurrent state per evaluation slot.

    :param step: ``step(obs [N, *obs_shape], first [N], state) -> (actions [N], state)``, one time
        step of the network (state: a tuple of ``[N, H]`` tensors, zeroed by ``step`` where
        ``first`` is 1).
    :param initial_state: ``initial_state(n) -> state`` of zeros for ``n`` streams.
    :param obs_shape: the shape of one observation (to tell one observation from a batch).
    :param device: where ``step`` runs: observations go there, actions come back to the host.
    """

    recurrent = True

    def __init__(self, step: StepFn, initial_state: Callable[[int], State], obs_shape: Sequence[int],
                 device: torch.device = CPU):
        self._step, self._initial, self.obs_shape, self.device = step, initial_state, tuple(obs_shape), device
        self._states: dict[int, State] = {}

    def reset(self) -> None:
        """Forget every slot's state (a new evaluation)."""
        self._states.clear()

    def __call__(self, obs: Any, slots: Sequence[int] | None = None, first: Any = None) -> Any:
        """Greedy actions: one observation -> an int; a batch ``[N, *obs_shape]`` -> ``[N]``.

        Without ``slots`` the rows are streams ``0..N-1``, each continuing its episode unless
        ``first`` says it starts one (a stream seen for the first time always starts one).
        """
        obs = np.asarray(obs)
        single = obs.shape == self.obs_shape
        batch = obs[None] if single else obs
        slots = list(range(len(batch))) if slots is None else list(slots)
        first_n = np.zeros(len(batch), dtype=bool) if first is None else np.asarray(first, dtype=bool).reshape(-1)
        first_n = first_n | np.array([s not in self._states for s in slots], dtype=bool)
        zero = self._initial(1)
        state = tuple(
            torch.cat([self._states.get(s, zero)[k] for s in slots]) for k in range(len(zero))
        )
        with torch.inference_mode():
            actions, state = self._step(to_device(batch, self.device), to_device(first_n, self.device), state)
        for j, s in enumerate(slots):
            self._states[s] = tuple(part[j : j + 1].clone() for part in state)
        actions = to_host(actions)
        return int(actions[0]) if single else actions
