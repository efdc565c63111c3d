"""The dueling aggregation, a pure function."""

from __future__ import annotations

import torch


def dueling_aggregate(value: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """Combine a state value and action advantages into action values (Wang et al. 2016, eq. 9).

    ``Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a')``. Subtracting the mean makes the split
    identifiable without changing the greedy action. With a value distribution (C51) the
    aggregation runs per atom over logits: ``value [B, atoms]``, ``advantages [B, A, atoms]``.

    Args:
      value: ``[B, atoms]`` (``atoms = 1`` for scalar values).
      advantages: ``[B, A, atoms]``.

    Returns:
      ``[B, A, atoms]`` action values (or logits, per atom).
    """
    return value.unsqueeze(1) + advantages - advantages.mean(dim=1, keepdim=True)
