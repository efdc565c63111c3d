"""IMPALA's hyperparameters (the ``impala`` config section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core.api import param


@dataclass(frozen=True)
class ImpalaConfig:
    """IMPALA (Espeholt et al. 2018). Steps are env frames consumed by the learner."""

    num_actors: int = param(2, "Actor processes (or Ray actors), each stepping its own envs.", ge=1)
    envs_per_actor: int = param(1, "Envs each actor steps side by side (batched inference).", ge=1)
    unroll_length: int = param(20, "Steps per unroll, the T of V-trace.", ge=1)
    batch_size: int = param(2, "Unrolls per learner update; each is [T, envs_per_actor].", ge=1)
    lr: float = param(6e-4, "Learning rate.", gt=0)
    optimizer: Literal["rmsprop", "adam"] = param("rmsprop", "RMSProp (the paper's) or Adam.")
    rmsprop_alpha: float = param(0.99, "RMSProp decay.", ge=0, le=1)
    optim_eps: float = param(0.01, "ε of RMSProp (the paper's 0.01) or Adam.", gt=0)
    lr_decay_steps: int = param(0, "Env steps over which the learning rate anneals linearly to 0 (0: constant).", ge=0)
    gamma: float = param(0.99, "Discount factor.", ge=0, le=1)
    baseline_cost: float = param(0.5, "Weight of the value loss.", ge=0)
    entropy_cost: float = param(0.01, "Weight of the entropy bonus.", ge=0)
    lambda_: float = param(1.0, "V-trace λ (1: the paper's eq. 1).", ge=0, le=1)
    clip_rho_threshold: float = param(1.0, "ρ̄ of the value targets.", gt=0)
    clip_pg_rho_threshold: float = param(1.0, "ρ̄ of the policy-gradient advantages.", gt=0)
    max_grad_norm: float = param(40.0, "Gradient norm clip (0 disables).", ge=0)
    reward_clip: float = param(
        0.0, "Clip rewards to [-c, c] in the loss (0: no clipping; Atari envs clip already).", ge=0
    )
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((64, 64), "Hidden sizes of the mlp torso.", ge=1)
    normalize_obs: bool = param(False, "Standardise the mlp torso's inputs by running statistics.")
    recurrent: Literal["none", "lstm", "gru"] = param("none", "Recurrent core after the torso.")
    recurrent_size: int = param(64, "Units of the recurrent core.", ge=1)
    tasks: tuple[str, ...] = param(
        (), "Multi-task: all the env ids trained at once (--env among them); actor i plays tasks[i % n]."
    )
