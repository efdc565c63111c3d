"""The DQN family's learner strategy: how a batch's gradients and the optimiser step are computed.

:class:`AutogradLearner` is the reference (modules, autograd, torch's fused Adam and gradient
clip). The speed path's :class:`zoo_core.fast.learner.FusedLearner` gives the same bits with less
overhead; an agent chooses one once, when it is built (:func:`zoo_core.fast.learner.make_learner`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from zoo_core.learning.devices import CPU, to_device
from zoo_core.learning.optim import clip_grad_norm


class TensorBatch(NamedTuple):
    """A replay batch as tensors: ``obs_tm1 [B, *obs]``, ``a_tm1 [B]``, ``r_t [B]``, ``discount_t [B]``,
    ``obs_t [B, *obs]`` and importance ``weights [B]`` (None: all ones, as for uniform replay)."""

    obs_tm1: torch.Tensor
    a_tm1: torch.Tensor
    r_t: torch.Tensor
    discount_t: torch.Tensor
    obs_t: torch.Tensor
    weights: torch.Tensor | None

    @classmethod
    def of(cls, batch: Any, weighted: bool, device: torch.device = CPU) -> TensorBatch:
        """From a :class:`zoo_core.learning.replay.Batch` on ``device`` (no copies on the CPU);
        ``weighted`` keeps its weights."""
        if device.type == "cpu":  # once per update of a small learner: spelled out, 10 µs less than the loop
            return cls(torch.from_numpy(batch.obs_tm1), torch.from_numpy(batch.a_tm1), torch.from_numpy(batch.r_t),
                       torch.from_numpy(batch.discount_t), torch.from_numpy(batch.obs_t),
                       torch.from_numpy(batch.weights) if weighted else None)
        return cls(*(to_device(a, device) for a in (batch.obs_tm1, batch.a_tm1, batch.r_t, batch.discount_t,
                                                   batch.obs_t)),
                   to_device(batch.weights, device) if weighted else None)


class AutogradLearner:
    """Gradients from modules and autograd; ``torch.optim.Adam(fused=True)``; torch's clip."""

    def __init__(self, network: torch.nn.Module, target: torch.nn.Module, lr: float, eps: float):
        self.network, self.target = network, target
        self.params = list(network.parameters())
        self.optimizer: Any = torch.optim.Adam(self.params, lr=lr, eps=eps, fused=True)

    def q_values(self, value: Any, obs: torch.Tensor) -> torch.Tensor:
        """Greedy action values ``[N, A]`` of the online network, without a graph."""
        with torch.inference_mode():
            return value.q_values(self.network(obs))

    def fused_grads(self, value: Any, batch: TensorBatch, double_q: bool,
                    reduction: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Set every parameter's ``.grad`` for the TD loss and return ``(loss, priority [B])``, when this
        learner has a fused path for these networks now; None means: use autograd."""
        del value, batch, double_q, reduction
        return None

    def set_lr(self, lr: float) -> None:
        """The learning rate of the next steps (a schedule's current value)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def zero_grad(self) -> None:
        self.optimizer.zero_grad()

    def clip(self, max_norm: float) -> float:
        """Clip the gradients' global norm to ``max_norm`` (0: no clip); the norm before, or 0.0."""
        return float(clip_grad_norm(self.params, max_norm)) if max_norm > 0 else 0.0

    def step(self) -> None:
        self.optimizer.step()
