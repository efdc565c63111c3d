"""A3C's loss: the n-step advantage actor-critic of Mnih et al. (2016), algorithm S3.

Pure torch; no zoo or pluggy imports. Time-major ``[T, B]`` like :func:`zoo_impala.impala_loss`.
"""

from __future__ import annotations

import torch

from zoo_impala.losses import ImpalaLoss, impala_loss

__all__ = ["a3c_loss"]


def a3c_loss(
    pi_logits_tm1: torch.Tensor,
    v_tm1: torch.Tensor,
    bootstrap_value: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    *,
    baseline_cost: float = 0.5,
    entropy_cost: float = 0.01,
) -> ImpalaLoss:
    """Policy gradient on n-step advantages + baseline regression to n-step returns − entropy bonus.

    The unroll was played by the parameters being differentiated (A3C is on-policy), so this is
    :func:`impala_loss` with the behaviour logits set to the current ones: every importance ratio
    is exactly 1 (``exp(log π − log π)``), and with λ = 1 V-trace's targets become the n-step
    bootstrapped returns ``R_s = Σ_{k=s}^{T-1} (Π_{j=s}^{k-1} γ_j) r_k + (Π_{j=s}^{T-1} γ_j) V(x_T)``
    and its advantages ``r_s + γ_s R_{s+1} − V(x_s) = R_s − V(x_s)``: the paper's targets, each
    step looking ahead to the end of the unroll (an episode end, ``γ = 0``, cuts the sum).

    Args:
      pi_logits_tm1: [T, B, A] policy logits at the unroll's states (with gradient).
      v_tm1: [T, B] values V(x_s) (with gradient).
      bootstrap_value: [B] value of the state after the unroll.
      a_tm1: [T, B] int64 actions taken.
      r_t: [T, B] rewards.
      discount_t: [T, B] γ, 0 at episode ends.

    Returns:
      The total (summed over time, averaged over ``B``) and its parts; ``vs`` holds the returns ``R``.
    """
    return impala_loss(
        pi_logits_tm1, v_tm1, bootstrap_value, pi_logits_tm1.detach(), a_tm1, r_t, discount_t,
        baseline_cost=baseline_cost, entropy_cost=entropy_cost, lambda_=1.0,
    )
