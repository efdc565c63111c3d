"""Discounted n-step returns, the recursion value replay and pixel control share. Pure torch."""

from __future__ import annotations

import torch

__all__ = ["nstep_returns"]


def nstep_returns(r_t: torch.Tensor, discount_t: torch.Tensor, bootstrap: torch.Tensor) -> torch.Tensor:
    """G_t = r_t + discount_t · G_{t+1} backwards over time, from ``G_T = bootstrap``.

    Args:
      r_t: ``[T, B, ...]`` rewards (any trailing axes: pixel control's ``[G, G]`` grid).
      discount_t: ``[T, B]``, 0 where an episode ended, so a return never crosses into the next one.
      bootstrap: ``[B, ...]`` the value after the last step.

    Returns:
      ``[T, B, ...]``.
    """
    trailing = (1,) * (r_t.dim() - 2)
    g = bootstrap
    out = []
    for t in range(r_t.shape[0] - 1, -1, -1):
        g = r_t[t] + discount_t[t].view(-1, *trailing) * g
        out.append(g)
    return torch.stack(out[::-1])
