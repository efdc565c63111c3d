"""Gradient clipping without ``clip_grad_norm_``'s per-call grouping."""

from __future__ import annotations

import torch


def clip_grad_norm(params: list[torch.nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale gradients so their global L2 norm is at most ``max_norm``; return the norm before.

    The arithmetic of ``torch.nn.utils.clip_grad_norm_`` (same coefficient, same epsilon) without
    its per-call grouping, for one device and dtype.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    # Well below max_norm the coefficient is exactly 1.0 and the multiply changes no bit: skip
    # both (the margin dwarfs float32 rounding; a NaN norm fails the test and takes the ops).
    if float(total) + 1e-6 < max_norm * (1.0 - 1e-5):
        return total
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    torch._foreach_mul_(grads, coef)
    return total
