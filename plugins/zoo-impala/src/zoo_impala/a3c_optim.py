"""Shared optimisers for Hogwild: RMSProp and Adam steps on tensors in shared memory, without locks.

A3C's workers each hold a local copy of the network, compute a gradient on it, and apply it to
one set of parameters in shared memory (Mnih et al. 2016, section 4; Recht et al. 2011, Hogwild).
The optimiser's statistics live in shared memory too: the paper found RMSProp with statistics
shared across workers ("shared RMSProp") more robust than a copy per worker. Nothing is locked:
two workers may update the same element at once and one of the two writes can be lost. That is
Hogwild's bargain: an application takes far less time than the unroll between two of a
worker's applications, so such collisions are rare, and one only drops one worker's step on those elements.

The arithmetic is ``torch.optim.RMSprop`` (ε after the square root) and ``torch.optim.Adam``
(single-tensor path), so hyperparameters mean what they mean for IMPALA's learner. Pure torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["SLOTS", "adam_step_", "rmsprop_step_"]

SLOTS: dict[str, tuple[str, ...]] = {"rmsprop": ("square_avg",), "adam": ("exp_avg", "exp_avg_sq")}
"""The per-parameter statistics each optimiser keeps (one tensor like the parameter per slot)."""


@torch.no_grad()
def rmsprop_step_(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    square_avg: Sequence[torch.Tensor],
    *,
    lr: float,
    alpha: float,
    eps: float,
) -> None:
    """One RMSProp step, in place on ``params`` and ``square_avg``.

    ``s ← α·s + (1 − α)·g²``, ``θ ← θ − lr·g / (√s + ε)``, per element.

    Args:
      params: the (shared) parameters.
      grads: a gradient per parameter, same shapes (the worker's local gradients).
      square_avg: the (shared) running mean of squared gradients, same shapes.
    """
    for p, g, s in zip(params, grads, square_avg, strict=True):
        s.mul_(alpha).addcmul_(g, g, value=1.0 - alpha)
        p.addcdiv_(g, s.sqrt().add_(eps), value=-lr)


@torch.no_grad()
def adam_step_(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    exp_avg: Sequence[torch.Tensor],
    exp_avg_sq: Sequence[torch.Tensor],
    *,
    step: int,
    lr: float,
    betas: tuple[float, float],
    eps: float,
) -> None:
    """One Adam step, in place on ``params``, ``exp_avg`` and ``exp_avg_sq``.

    ``m ← β1·m + (1 − β1)·g``, ``v ← β2·v + (1 − β2)·g²``,
    ``θ ← θ − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)``.

    Args:
      step: ``t``, counting this step from 1. Hogwild workers pass the shared update count + 1,
        so the bias correction follows the updates the statistics have actually seen.
    """
    if step < 1:
        raise ValueError(f"adam step counts from 1; got {step}")
    beta1, beta2 = betas
    step_size = lr / (1.0 - beta1**step)
    bias2_sqrt = (1.0 - beta2**step) ** 0.5
    for p, g, m, v in zip(params, grads, exp_avg, exp_avg_sq, strict=True):
        m.lerp_(g, 1.0 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
        p.addcdiv_(m, (v.sqrt() / bias2_sqrt).add_(eps), value=-step_size)
