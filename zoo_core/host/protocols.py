"""The roles an agent is made of, as typed protocols, with base classes that give the defaults.

The core calls these methods and nothing else: a plugin's role object implements the protocol
(usually by subclassing the base, which supplies what most roles leave empty), never a method the
core probes for with ``hasattr``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

if TYPE_CHECKING:
    from zoo_core.learning.network_spec import NetworkSpec


class Stateful:
    """Default JSON state of a role: none. Roles with state override both methods."""

    def state_dict(self) -> dict[str, Any]:
        """The role's state as JSON (saved in every checkpoint)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        del state


class ValueDistribution(Protocol):
    """How action values are represented (scalar by default, C51 categorical).

    ``num_atoms`` outputs per action; ``q_values(out [B, A, atoms]) -> [B, A]``;
    ``loss(out_tm1, a_tm1, r_t, discount_t, out_t, out_t_selector) -> (loss [B], priority [B])`` where
    ``out_t`` is the target network's output at s_t and ``out_t_selector`` the online network's (None
    without double Q); ``priority`` is what a prioritized replay stores.
    """

    num_atoms: int

    def q_values(self, out: torch.Tensor) -> torch.Tensor: ...

    def loss(self, out_tm1: torch.Tensor, a_tm1: torch.Tensor, r_t: torch.Tensor, discount_t: torch.Tensor,
             out_t: torch.Tensor, out_t_selector: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class Exploration(Protocol):
    """The behaviour policy around the greedy values (ε-greedy by default, NoisyNet's greedy).

    ``actions(q_fn, step, rng, num_envs) -> [E] int64`` where ``q_fn()`` gives the greedy values
    ``[E, A]`` (a call, so a policy that needs no values skips the network); ``epsilon(step)`` is
    logged. It keeps no state beyond what ``step`` and ``rng`` give, or saves it in ``state_dict``.
    """

    def actions(self, q_fn: Callable[[], np.ndarray], step: int, rng: np.random.Generator,
                num_envs: int) -> np.ndarray: ...

    def epsilon(self, step: int) -> float: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class ExplorationBase(Stateful):
    """Defaults of :class:`Exploration`: no ε to log, no state."""

    def epsilon(self, step: int) -> float:
        """The ε at ``step`` (0: this policy has none)."""
        del step
        return 0.0


class ReplayBuffer(Protocol):
    """A replay of n-step transitions (:class:`zoo_core.learning.replay.UniformReplay` is the core's).

    ``prioritized`` says whether sampling depends on priorities: the learner then weights each
    sample's loss by ``batch.weights`` and calls ``update_priorities(batch.indices, priority)`` after
    every update.
    """

    prioritized: bool

    def __len__(self) -> int: ...

    def add(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, r_t: np.ndarray, terminated: np.ndarray,
            truncated: np.ndarray, obs_t: np.ndarray) -> None: ...

    def sample(self, batch_size: int, rng: np.random.Generator) -> Any: ...

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None: ...

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...

    def load_state_dict(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None: ...


class Agent(Protocol):
    """What the trainer, evaluation, checkpoints and ``zoo export`` ask of any agent.

    ``act`` is the public greedy policy (one observation -> an int, a batch ``[N, *obs_shape]`` ->
    ``[N]``); an agent with a stochastic policy (actor-critic) may add ``act_sampled(obs [N, ...],
    draws [N]) -> [N]``, each row's action drawn from its policy by its uniform draw, for protocols
    that sample; ``env_steps`` counts env steps summed over parallel envs; ``train_state`` is
    everything besides the weights an exact resume needs (tensors and JSON).
    """

    spec: NetworkSpec
    env_steps: int

    def act(self, obs: np.ndarray) -> Any: ...

    def metrics(self) -> dict[str, float]: ...

    def parameters_finite(self) -> bool: ...

    def model_tensors(self) -> dict[str, torch.Tensor]: ...

    def load_model(self, tensors: dict[str, torch.Tensor]) -> None: ...

    def train_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def load_train_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None: ...

    def greedy_module(self) -> torch.nn.Module | None: ...


class SteppingAgent(Agent, Protocol):
    """An agent the core's step loop drives (act, step, store, learn in one process)."""

    def explore(self, obs: np.ndarray) -> np.ndarray: ...

    def observe(self, obs_tm1: np.ndarray, a_tm1: np.ndarray, step: Any) -> None: ...

    def maybe_update(self) -> bool: ...
