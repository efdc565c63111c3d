"""Fused losses: a value distribution's TD loss with its gradient, computed without autograd.

A value distribution opts in to the speed path by registering one here, keyed by its class
(the core's scalar value below; C51 from its plugin). Signature::

    fused(value, td: TDInputs, grad_loss [B]) -> (loss [B], priority [B], grad_out_tm1 [B, A, atoms])

``grad_out_tm1`` is the gradient of ``sum(grad_loss * loss)`` with respect to ``td.out_tm1``,
bit-identical to autograd's through ``value.loss``; it is called under ``torch.inference_mode``
and must not write to ``grad_loss``. A value distribution without one still runs on the plain
network, with autograd through its ``loss`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from zoo_core.learning.value_distribution import ScalarValue, TDInputs
from zoo_core.learning.value_learning import huber_loss_grad, td_error_grad

# F.huber_loss's kernel without its Python wrapper (the learner is overhead-bound); 0 is reduction "none".
_huber_loss = torch._C._nn.huber_loss

FusedLoss = Callable[[Any, TDInputs, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
_FUSED: dict[type, FusedLoss] = {}


def register_fused_loss(value_class: type, fused: FusedLoss) -> None:
    """Use ``fused`` for value distributions of exactly ``value_class`` (subclasses are not assumed to
    keep their parent's loss)."""
    _FUSED[value_class] = fused


def fused_loss(value: object) -> FusedLoss | None:
    """The fused loss registered for ``value``'s class, or None."""
    return _FUSED.get(type(value))


def scalar_loss_and_grad(
    value: ScalarValue, td: TDInputs, grad_loss: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:meth:`ScalarValue.loss` and its gradient w.r.t. ``td.out_tm1 [B, A, 1]``."""
    error = value.td_error(td)
    grad_error = huber_loss_grad(error, grad_loss, value.huber_delta)
    grad_q_tm1 = td_error_grad(grad_error, td.a_tm1, td.out_tm1.shape[-2])
    return _huber_loss(error, torch.zeros_like(error), 0, value.huber_delta), error.abs(), grad_q_tm1.unsqueeze(-1)


register_fused_loss(ScalarValue, scalar_loss_and_grad)
