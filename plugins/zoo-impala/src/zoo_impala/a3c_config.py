"""A3C's hyperparameters (the ``a3c`` config section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core.api import ZooError, param


@dataclass(frozen=True)
class A3CConfig:
    """A3C (Mnih et al. 2016). Steps are env frames whose gradients reached the shared parameters."""

    num_workers: int = param(2, "Worker processes, each playing its own envs and applying its own gradients.", ge=1)
    envs_per_worker: int = param(1, "Envs each worker steps side by side (the paper: 1).", ge=1)
    unroll_length: int = param(20, "Steps per unroll (t_max): one gradient per unroll per worker.", ge=1)
    lr: float = param(7e-4, "Learning rate of the shared optimiser.", gt=0)
    optimizer: Literal["rmsprop", "adam"] = param(
        "rmsprop", "Shared RMSProp (the paper's: statistics shared by all workers) or shared Adam."
    )
    rmsprop_alpha: float = param(0.99, "RMSProp decay.", ge=0, le=1)
    optim_eps: float = param(0.01, "ε of RMSProp (added after the square root, as torch.optim) or Adam.", gt=0)
    adam_betas: tuple[float, ...] = param((0.9, 0.999), "Adam's β1, β2.", ge=0, lt=1)
    lr_decay_steps: int = param(0, "Env steps over which the learning rate anneals linearly to 0 (0: constant).", ge=0)
    gamma: float = param(0.99, "Discount factor.", ge=0, le=1)
    baseline_cost: float = param(0.5, "Weight of the value loss.", ge=0)
    entropy_cost: float = param(0.01, "Weight of the entropy bonus.", ge=0)
    max_grad_norm: float = param(40.0, "Per-worker gradient norm clip before the shared step (0 disables).", ge=0)
    reward_clip: float = param(0.0, "Clip rewards to [-c, c] in the loss (0: no clipping).", ge=0)
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((64, 64), "Hidden sizes of the mlp torso.", ge=1)
    recurrent: Literal["none", "lstm", "gru"] = param("none", "Recurrent core after the torso.")
    recurrent_size: int = param(64, "Units of the recurrent core.", ge=1)

    def __post_init__(self) -> None:
        if len(self.adam_betas) != 2:
            raise ZooError(f"a3c.adam_betas must be two numbers; got {list(self.adam_betas)}")
