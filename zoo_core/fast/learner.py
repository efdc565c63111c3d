"""The fused learner: the autograd learner's arithmetic, bit for bit, without its bookkeeping.

Chosen once per agent by :func:`make_learner` (``fast_learner``, on by default; turn it off to
debug with plain torch). Networks that are not built only from the core's plain blocks still
train here, through autograd, with the fast optimiser and clip.
"""

from __future__ import annotations

from typing import Any

import torch

from zoo_core.fast.adam import FastAdam
from zoo_core.fast.clip import clip_grad_norm
from zoo_core.fast.plain import PlainLearner, native_for
from zoo_core.learning.learner import AutogradLearner, TensorBatch


class FusedLearner(AutogradLearner):
    """:class:`AutogradLearner` with :class:`FastAdam`, the fast clip and, for plain networks,
    :class:`PlainLearner`'s hand-written forward and backward."""

    def __init__(self, network: torch.nn.Module, target: torch.nn.Module, lr: float, eps: float):
        self.network, self.target = network, target
        self.params = list(network.parameters())
        self.optimizer = FastAdam(self.params, lr=lr, eps=eps)
        self.plain = PlainLearner.of(network, target)  # None: not all core blocks

    def q_values(self, value: Any, obs: torch.Tensor) -> torch.Tensor:
        plain = self.plain.online if self.plain is not None else None
        with torch._C._InferenceMode(True):  # torch.inference_mode() without its Python layers
            if plain is not None and plain.valid():
                ext = native_for(value, obs)  # the scalar value's Q-values are the network's output itself
                if ext is not None:
                    return ext.scalar_q_values(obs, plain.weights, plain.biases, plain.relu_after)
                return value.q_values(plain.forward(obs))
            return value.q_values(self.network(obs))

    def fused_grads(self, value: Any, batch: TensorBatch, double_q: bool,
                    reduction: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        plain = self.plain
        if plain is None or not plain.valid():
            return None
        loss, priority, grads = plain.grads(value, batch, double_q, reduction)
        for p, g in zip(self.params, grads, strict=True):
            p.grad = g
        return loss, priority

    def clip(self, max_norm: float) -> float:
        return float(clip_grad_norm(self.params, max_norm)) if max_norm > 0 else 0.0


def make_learner(network: torch.nn.Module, target: torch.nn.Module, lr: float, eps: float,
                 fast: bool = True) -> AutogradLearner:
    """The learner strategy for an agent: fused (``fast``, on the CPU) or plain autograd.

    The fused learner saves Python and dispatcher overhead, which is what a small CPU learner spends
    its time on; on a GPU that overhead hides behind the kernels, so a network off the CPU always
    trains with autograd and ``torch.optim.Adam(fused=True)``, torch's own tested path there.
    """
    on_cpu = all(p.device.type == "cpu" for p in network.parameters())
    return (FusedLearner if fast and on_cpu else AutogradLearner)(network, target, lr, eps)
