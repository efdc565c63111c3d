"""Parts the agents share (DQN, R2D2, IMPALA, A3C): roles with the core's defaults, the network spec,
RNG state, finite checks, the online network's weights.

As in dqn_zoo's ``parts.py``: small functions an agent calls, so two agents never carry two copies
of the same few lines, and a checkpoint written by one is laid out as the other's.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from zoo_core.errors import NonFiniteError, ZooError
from zoo_core.host.roles import call_each, resolve_role
from zoo_core.learning.exploration import EpsilonGreedy
from zoo_core.learning.network_spec import NetworkSpec, default_torso
from zoo_core.learning.value_distribution import ScalarValue


def seeded_rng(seed: int) -> np.random.Generator:
    """Seed torch and Python's ``random`` with ``seed``; return the agent's numpy generator for it."""
    torch.manual_seed(seed)
    random.seed(seed)
    return np.random.Generator(np.random.PCG64(seed))


def value_role(ctx: Any, huber_delta: float) -> Any:
    """The value distribution a plugin provides (``zoo_value_distribution``), else the scalar default."""
    # `is None`, not `or`: a role object may define __len__ and be falsy.
    value = resolve_role(
        ctx.pm, "zoo_value_distribution", "value distribution", config=ctx.config, num_actions=ctx.num_actions
    )
    return ScalarValue(huber_delta) if value is None else value


def exploration_role(ctx: Any, eps_start: float, eps_end: float, eps_decay_steps: int) -> Any:
    """The exploration policy a plugin provides (``zoo_exploration``), else linearly annealed ε-greedy."""
    exploration = resolve_role(
        ctx.pm, "zoo_exploration", "exploration policy", config=ctx.config, num_actions=ctx.num_actions
    )
    if exploration is None:
        return EpsilonGreedy(ctx.num_actions, eps_start, eps_end, eps_decay_steps)
    return exploration


def rng_state(rng: np.random.Generator) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """torch's global, ``rng``'s and Python's RNG states: checkpoint tensors (``rng.torch``) and JSON."""
    version, internal, gauss = random.getstate()
    meta = {"numpy": rng.bit_generator.state, "python": [version, list(internal), gauss]}
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_initialized():  # a GPU learner draws its noise (NoisyNet) from the GPU's generator
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    return tensors, meta


def load_rng_state(rng: np.random.Generator, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved (``meta`` is its JSON part); a GPU's state only where
    there is a GPU (a GPU run resumed on a CPU draws its noise from the CPU's generator)."""
    torch.set_rng_state(tensors["rng.torch"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    rng.bit_generator.state = meta["numpy"]
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def with_prefix(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of a checkpoint's flat ``tensors`` under ``prefix`` (``"replay."``), the prefix cut off."""
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def check_finite(loss: float, grad_norm: float, env_steps: int, update: int) -> None:
    """Raise :class:`NonFiniteError` if the loss or the gradient norm is NaN or infinite.

    On Python floats, no tensor ops: a NaN or inf in either carries into the sum.
    """
    if not abs(loss + grad_norm) < float("inf"):
        raise NonFiniteError(f"non-finite loss or gradient at env step {env_steps} (update {update})")


def network_spec(
    ctx: Any, torso: str, hidden: tuple[int, ...], num_atoms: int, normalize: bool = False, **fields: Any
) -> NetworkSpec:
    """The agent's network specification, after every plugin's ``zoo_network_spec`` edits.

    :param torso: a registered torso, or ``auto`` for the one that fits the observations.
    :param hidden: the mlp torso's hidden sizes (ignored by other torsos).
    :param num_atoms: outputs per action, from the value distribution.
    :param normalize: the mlp torso standardises its inputs (``RunningNorm``).
    :param fields: further :class:`NetworkSpec` fields (``recurrent``, ``recurrent_size``).
    """
    torso = default_torso(ctx.obs_shape) if torso == "auto" else torso
    spec = NetworkSpec(
        obs_shape=tuple(ctx.obs_shape), num_actions=ctx.num_actions, torso=torso,
        torso_args=_mlp_args(hidden, normalize) if torso == "mlp" else {}, num_atoms=num_atoms, **fields,
    )
    call_each(ctx.pm, "zoo_network_spec", spec=spec, config=ctx.config)
    return spec


def _mlp_args(hidden: tuple[int, ...], normalize: bool) -> dict[str, Any]:
    # The key only when set, so specs of networks without it read as they always did.
    return {"hidden": list(hidden), "normalize": True} if normalize else {"hidden": list(hidden)}


class NetworkWeights:
    """The online network's weights as an agent shows them to checkpoints (``self.network``)."""

    network: torch.nn.Module

    def parameters_finite(self) -> bool:
        """Whether every online parameter is finite (checked at each log and checkpoint)."""
        return all(bool(torch.isfinite(p).all()) for p in self.network.parameters())

    def model_tensors(self) -> dict[str, torch.Tensor]:
        """The online network's parameters and buffers (``model.safetensors``), copied to the CPU."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.network.state_dict().items()}

    def load_model(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load online weights, with a clear error on a mismatched network. ``load_state_dict``
        copies into the existing tensors, so shared-memory parameters (A3C) stay shared and weights
        saved from any device land on the network's."""
        try:
            self.network.load_state_dict(tensors)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise ZooError(f"checkpoint weights do not fit this network: {first}") from None
