"""The actor-critic network: a registered torso, an optional LSTM/GRU core, a policy and a value head.

Built from a :class:`zoo_core.learning.network_spec.NetworkSpec` like the DQN family's networks, so its
blocks are looked up by name (a saved agent is rebuilt from JSON) and plugins can edit the spec:
``spec.head_args["value"]`` names the registered value head (``linear``; ``popart`` with the
zoo-popart plugin) and ``spec.head_args["num_tasks"]`` its outputs, one per task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from zoo_core.api import AuxFeatures, NetworkSpec, build_aux_heads, lookup_module, run_core, torso_and_core

State = tuple[torch.Tensor, ...]


class ActorCriticNet(nn.Module):
    """``(obs [T, B, *obs_shape], first [T, B], state) -> (logits [T, B, A], v_norm [T, B, K],
    v [T, B, K], state)``.

    ``first`` marks the steps that begin an episode; a recurrent core's state is zeroed there.
    ``v_norm`` is the value on the scale the value loss works on (the same as ``v`` for the plain
    head), ``K`` the number of tasks. A feed-forward network's state is the empty tuple.
    """

    def __init__(self, spec: NetworkSpec, modules: Mapping[str, Mapping[str, Callable[..., Any]]]):
        super().__init__()
        linear, self.torso, self.core, features = torso_and_core(spec, modules)
        self.policy = linear(features, spec.num_actions)
        args = dict(spec.head_args)
        kind, self.num_tasks = args.pop("value", "linear"), int(args.pop("num_tasks", 1))
        self.value = lookup_module(modules, "value", kind)(features, self.num_tasks, **args)
        self.aux = build_aux_heads(spec, modules, self.torso.out_features, features, linear)

    @property
    def recurrent(self) -> bool:
        return self.core is not None

    def initial_state(self, batch: int) -> State:
        """Zero state for ``batch`` streams (``()`` without a recurrent core)."""
        return self.core.initial_state(batch) if self.core is not None else ()

    def forward(
        self, obs: torch.Tensor, first: torch.Tensor, state: State
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, State]:
        features = self.aux_features(obs, first, state)
        logits, v_norm, v = self.heads(features.core)
        return logits, v_norm, v, features.state

    def heads(self, core: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Core features ``[T, B, H]`` -> ``(logits [T, B, A], v_norm [T, B, K], v [T, B, K])``."""
        steps, batch = core.shape[:2]
        x = core.reshape(steps * batch, -1)
        v_norm, v = self.value(x)
        return self.policy(x).view(steps, batch, -1), v_norm.view(steps, batch, -1), v.view(steps, batch, -1)

    # --- what auxiliary tasks read (zoo_core.api.AuxInputs) --------------------------------------

    def aux_features(self, obs: torch.Tensor, first: torch.Tensor | None, state: State | None) -> AuxFeatures:
        """Torso and core features over sequences ``obs [T, B, *obs_shape]``."""
        return run_core(self.torso, self.core, obs, first, state)

    def aux_value(self, core: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        """The true-scale state value ``[T, B]`` of each column's task, from core features ``[T, B, H]``."""
        steps, batch = core.shape[:2]
        _, v = self.value(core.reshape(steps * batch, -1))
        return pick_task(v.view(steps, batch, -1), task)


def pick_task(x: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
    """``x [T, B, K]`` -> ``[T, B]``: each column's own task output (``task [B]``)."""
    return x.gather(-1, task.view(1, -1, 1).expand(x.shape[0], -1, 1)).squeeze(-1)
