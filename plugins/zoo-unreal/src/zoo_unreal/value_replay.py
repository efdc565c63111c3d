"""Value function replay (Jaderberg et al. 2016, section 3.3): regress the agent's own value on replayed
sequences, for a critic that sees more than the latest unrolls. Pure torch; no zoo or pluggy imports."""

from __future__ import annotations

import torch

__all__ = ["value_replay_loss"]


def value_replay_loss(v_tm1: torch.Tensor, returns: torch.Tensor) -> torch.Tensor:
    """½ (G_t − V(x_t))² summed over time, averaged over the batch (the actor-critic baseline's
    convention); ``v_tm1``, ``returns`` ``[T, B]``; the returns carry no gradient."""
    return 0.5 * ((returns.detach() - v_tm1) ** 2).sum() / v_tm1.shape[1]
