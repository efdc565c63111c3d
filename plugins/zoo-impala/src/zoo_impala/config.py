"""IMPALA's hyperparameters (the ``impala`` config section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core.api import ZooError, param


@dataclass(frozen=True)
class ImpalaConfig:
    """IMPALA (Espeholt et al. 2018). Steps are env frames consumed by the learner."""

    num_actors: int = param(2, "Actor processes (or Ray actors), each stepping its own envs.")
    envs_per_actor: int = param(1, "Envs each actor steps side by side (batched inference).")
    unroll_length: int = param(20, "Steps per unroll, the T of V-trace.")
    batch_size: int = param(2, "Unrolls per learner update; each is [T, envs_per_actor].")
    lr: float = param(6e-4, "Learning rate.")
    optimizer: Literal["rmsprop", "adam"] = param("rmsprop", "RMSProp (the paper's) or Adam.")
    rmsprop_alpha: float = param(0.99, "RMSProp decay.")
    optim_eps: float = param(0.01, "ε of RMSProp (the paper's 0.01) or Adam.")
    lr_decay_steps: int = param(0, "Env steps over which the learning rate anneals linearly to 0 (0: constant).")
    gamma: float = param(0.99, "Discount factor.")
    baseline_cost: float = param(0.5, "Weight of the value loss.")
    entropy_cost: float = param(0.01, "Weight of the entropy bonus.")
    lambda_: float = param(1.0, "V-trace λ (1: the paper's eq. 1).")
    clip_rho_threshold: float = param(1.0, "ρ̄ of the value targets.")
    clip_pg_rho_threshold: float = param(1.0, "ρ̄ of the policy-gradient advantages.")
    max_grad_norm: float = param(40.0, "Gradient norm clip (0 disables).")
    reward_clip: float = param(0.0, "Clip rewards to [-c, c] in the loss (0: no clipping; Atari envs clip already).")
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((64, 64), "Hidden sizes of the mlp torso.")
    normalize_obs: bool = param(False, "Standardise the mlp torso's inputs by running statistics.")
    recurrent: Literal["none", "lstm", "gru"] = param("none", "Recurrent core after the torso.")
    recurrent_size: int = param(64, "Units of the recurrent core.")
    tasks: tuple[str, ...] = param(
        (), "Multi-task: all the env ids trained at once (--env among them); actor i plays tasks[i % n]."
    )

    def __post_init__(self) -> None:
        for name in ("num_actors", "envs_per_actor", "unroll_length", "batch_size"):
            if getattr(self, name) < 1:
                raise ZooError(f"impala.{name} must be at least 1; got {getattr(self, name)}")
