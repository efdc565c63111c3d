"""Projection of a categorical distribution onto a fixed support, a pure function."""

from __future__ import annotations

import torch


def categorical_l2_project(z_p: torch.Tensor, probs: torch.Tensor, z_q: torch.Tensor) -> torch.Tensor:
    """Project categorical distributions onto a fixed support (Bellemare et al. 2017, eq. 7).

    Each atom ``z_p[b, j]`` with mass ``probs[b, j]`` is clipped to ``[z_q[0], z_q[-1]]`` and its
    mass split between the two neighbouring atoms of ``z_q`` in proportion to closeness (linear
    interpolation); mass outside the support lands on the end atoms. This is the Cramér / L2
    projection of rlax's ``categorical_l2_project``, written with a triangular kernel: atom
    ``z_q[i]`` receives ``max(0, 1 - |z_p - z_q[i]| / d)`` of each mass, where ``d`` is the gap to
    the neighbour on ``z_p``'s side. No loop over the batch or the atoms.

    Args:
      z_p: ``[B, N]`` support of the distributions to project (any order, any values).
      probs: ``[B, N]`` their probabilities.
      z_q: ``[M]`` the target support, strictly increasing (not necessarily evenly spaced).

    Returns:
      ``[B, M]`` projected probabilities; a row sums to what the same row of ``probs`` summed to.
    """
    z_q = z_q.to(z_p.dtype)
    gap = z_q[1:] - z_q[:-1]  # [M - 1]
    zero = gap.new_zeros(1)
    inv_gap = 1.0 / gap
    # Reciprocal gap to the next atom (0 past the last one) and to the previous (0 before the first).
    inv_next = torch.cat([inv_gap, zero])  # [M]
    inv_prev = torch.cat([zero, inv_gap])  # [M]
    z_p = z_p.clamp(z_q[0], z_q[-1])
    delta = z_p.unsqueeze(1) - z_q[None, :, None]  # [B, M, N]: source atom minus target atom
    above = delta >= 0
    dist = torch.where(above, delta * inv_next[:, None], -delta * inv_prev[:, None])  # >= 0, in gaps
    weight = (1.0 - dist).clamp(0.0, 1.0)  # [B, M, N] triangular kernel
    return (weight * probs.unsqueeze(1)).sum(-1)
