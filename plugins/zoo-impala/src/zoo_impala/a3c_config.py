"""A3C's hyperparameters (the ``a3c`` config section)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from zoo_core.api import ZooError, param


@dataclass(frozen=True)
class A3CConfig:
    """A3C (Mnih et al. 2016). Steps are env frames whose gradients reached the shared parameters."""

    num_workers: int = param(2, "Worker processes, each playing its own envs and applying its own gradients.")
    envs_per_worker: int = param(1, "Envs each worker steps side by side (the paper: 1).")
    unroll_length: int = param(20, "Steps per unroll (t_max): one gradient per unroll per worker.")
    lr: float = param(7e-4, "Learning rate of the shared optimiser.")
    optimizer: Literal["rmsprop", "adam"] = param(
        "rmsprop", "Shared RMSProp (the paper's: statistics shared by all workers) or shared Adam."
    )
    rmsprop_alpha: float = param(0.99, "RMSProp decay.")
    optim_eps: float = param(0.01, "ε of RMSProp (added after the square root, as torch.optim) or Adam.")
    adam_betas: tuple[float, ...] = param((0.9, 0.999), "Adam's β1, β2.")
    lr_decay_steps: int = param(0, "Env steps over which the learning rate anneals linearly to 0 (0: constant).")
    gamma: float = param(0.99, "Discount factor.")
    baseline_cost: float = param(0.5, "Weight of the value loss.")
    entropy_cost: float = param(0.01, "Weight of the entropy bonus.")
    max_grad_norm: float = param(40.0, "Per-worker gradient norm clip before the shared step (0 disables).")
    reward_clip: float = param(0.0, "Clip rewards to [-c, c] in the loss (0: no clipping).")
    torso: str = param("auto", "Registered torso (mlp, nature_cnn, minatar_cnn) or auto by obs shape.")
    hidden: tuple[int, ...] = param((64, 64), "Hidden sizes of the mlp torso.")
    recurrent: Literal["none", "lstm", "gru"] = param("none", "Recurrent core after the torso.")
    recurrent_size: int = param(64, "Units of the recurrent core.")

    def __post_init__(self) -> None:
        for name in ("num_workers", "envs_per_worker", "unroll_length"):
            if getattr(self, name) < 1:
                raise ZooError(f"a3c.{name} must be at least 1; got {getattr(self, name)}")
        if len(self.adam_betas) != 2 or not all(0.0 <= b < 1.0 for b in self.adam_betas):
            raise ZooError(f"a3c.adam_betas must be two numbers in [0, 1); got {list(self.adam_betas)}")
