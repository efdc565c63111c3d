"""How an actor-critic agent acts greedily (IMPALA's and A3C's): the network spec it builds and its
``act`` policy, and what ``zoo export`` traces."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from zoo_core.api import BuildContext, NetworkSpec, RecurrentPolicy, ZooError, network_spec, to_device, to_host
from zoo_impala.network import ActorCriticNet


def actor_critic_spec(ctx: BuildContext, cfg: Any, num_tasks: int = 1, normalize: bool = False) -> NetworkSpec:
    """The ``actor_critic`` network spec from a config with ``torso``, ``hidden``, ``recurrent`` and
    ``recurrent_size``, after plugins' ``zoo_network_spec`` edits (zoo-popart's value head)."""
    return network_spec(
        ctx, cfg.torso, cfg.hidden, 1, normalize=normalize,
        recurrent=None if cfg.recurrent == "none" else cfg.recurrent, recurrent_size=cfg.recurrent_size,
        head="actor_critic", head_args={"value": "linear", "num_tasks": num_tasks},
    )


class _GreedyLogits(torch.nn.Module):
    """``obs [N, *obs_shape] -> argmax of the policy logits [N]`` (a feed-forward network)."""

    def __init__(self, network: ActorCriticNet):
        super().__init__()
        self.network = network

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        logits, _, _, _ = self.network(obs.unsqueeze(0), torch.zeros(1, obs.shape[0], device=obs.device), ())
        return logits[0].argmax(-1)


class GreedyActing:
    """``act``: the argmax of the policy logits; with a recurrent core, one state per evaluation
    slot (:class:`zoo_core.learning.policies.RecurrentPolicy`). Needs ``self.network``, ``self.spec``
    and ``self.device`` (the network's)."""

    network: ActorCriticNet
    spec: NetworkSpec
    device: torch.device

    def _init_acting(self) -> None:
        if self.network.recurrent:
            self.act: Any = RecurrentPolicy(
                self._greedy_step, self.network.initial_state, tuple(self.spec.obs_shape), self.device
            )
        else:
            self.act = self._greedy

    def _greedy_step(self, obs: torch.Tensor, first: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        logits, _, _, state = self.network(obs[None], first[None].float(), state)
        return logits[0].argmax(-1), state

    def _greedy(self, obs: np.ndarray) -> np.ndarray | int:
        obs = np.asarray(obs)
        single = obs.shape == tuple(self.spec.obs_shape)
        batch = to_device(obs[None] if single else obs, self.device)
        with torch.inference_mode():
            actions, _ = self._greedy_step(batch, torch.zeros(len(batch), device=self.device), ())
        actions = to_host(actions)
        return int(actions[0]) if single else actions

    def act_sampled(self, obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
        """Actions ``[N]`` drawn from the policy at observations ``[N, *obs_shape]``: row i's action is
        the first whose cumulative probability exceeds ``draws[i]`` (uniform in [0, 1)), so the
        caller's generator decides every draw (evaluation protocols that sample).

        :raises ZooError: a network with a recurrent core (its state is not carried here).
        """
        if self.network.recurrent:
            raise ZooError("sampling a recurrent actor-critic's policy is not supported; evaluate it greedily")
        batch = to_device(np.asarray(obs), self.device)
        with torch.inference_mode():
            logits, _, _, _ = self.network(batch[None], torch.zeros(1, len(batch), device=self.device), ())
            cdf = torch.softmax(logits[0].double(), dim=-1).cumsum(-1)
        u = torch.as_tensor(np.asarray(draws, np.float64), device=cdf.device)
        return to_host((u[:, None] >= cdf).sum(-1).clamp(max=cdf.shape[-1] - 1))

    def greedy_module(self) -> torch.nn.Module | None:
        """What ``zoo export`` traces to ``agent.pt``: observations -> argmax of the logits (None
        with a recurrent core, whose state a stateless trace cannot carry)."""
        return None if self.network.recurrent else _GreedyLogits(self.network)
