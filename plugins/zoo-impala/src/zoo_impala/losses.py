"""IMPALA's actor-critic loss on V-trace targets (Espeholt et al. 2018, section 4.2).

Pure torch; no zoo or pluggy imports. Time-major `[T, B]` like `vtrace`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zoo_impala.vtrace import vtrace

__all__ = ["ImpalaLoss", "importance_ratios", "impala_loss"]


def importance_ratios(pi_logits_tm1: torch.Tensor, mu_logits_tm1: torch.Tensor, a_tm1: torch.Tensor) -> torch.Tensor:
    """ρ = π(a|x) / μ(a|x) `[T, B]` from learner logits and behaviour logits `[T, B, A]`, actions `[T, B]`.

    Computed as exp(log π − log μ), detached: ratios only weight the targets.
    """
    with torch.no_grad():
        log_pi = F.log_softmax(pi_logits_tm1, dim=-1).gather(-1, a_tm1.unsqueeze(-1)).squeeze(-1)
        log_mu = F.log_softmax(mu_logits_tm1, dim=-1).gather(-1, a_tm1.unsqueeze(-1)).squeeze(-1)
        return torch.exp(log_pi - log_mu)


@dataclass(frozen=True)
class ImpalaLoss:
    """The loss and its parts, each a scalar; `total` is what the learner differentiates."""

    total: torch.Tensor
    policy: torch.Tensor
    baseline: torch.Tensor
    entropy: torch.Tensor
    vs: torch.Tensor | None = None
    """[T, B] the V-trace value targets on the true scale (what PopArt's statistics track)."""


def impala_loss(
    pi_logits_tm1: torch.Tensor,
    v_tm1: torch.Tensor,
    bootstrap_value: torch.Tensor,
    mu_logits_tm1: torch.Tensor,
    a_tm1: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    *,
    baseline_cost: float = 0.5,
    entropy_cost: float = 0.01,
    lambda_: float = 1.0,
    clip_rho_threshold: float = 1.0,
    clip_pg_rho_threshold: float = 1.0,
    v_norm_tm1: torch.Tensor | None = None,
    normalize: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> ImpalaLoss:
    """Policy gradient on V-trace advantages + baseline regression to `vs` − entropy bonus.

    total = Σ_{t,b} [ −A_t·log π(a_t|x_t) + baseline_cost·½(vs_t − V(x_t))² − entropy_cost·H(π(·|x_t)) ] / B,
    summed over time and averaged over the batch (the paper's sum over the unroll).

    Args:
      pi_logits_tm1: [T, B, A] learner policy logits at the unroll's states (with gradient).
      v_tm1: [T, B] learner values V(x_s) (with gradient).
      bootstrap_value: [B] learner value of the state after the unroll.
      mu_logits_tm1: [T, B, A] the behaviour policy's logits, as the actor recorded them.
      a_tm1: [T, B] int64 actions taken.
      r_t: [T, B] rewards.
      discount_t: [T, B] γ, 0 at episode ends.
      v_norm_tm1: [T, B] with `normalize`: the values on the normalised scale (with gradient), for
        PopArt (Hessel et al. 2019). V-trace runs on the true scale (`v_tm1`, then detached); the
        baseline regresses `v_norm_tm1` to `normalize(vs)` and the advantages are divided by σ.
      normalize: `[T, B] -> [T, B]` maps true-scale values to the normalised scale, `(x − μ)/σ`.
    """
    if pi_logits_tm1.shape != mu_logits_tm1.shape or pi_logits_tm1.dim() != 3:
        raise ValueError(f"logits must be [T, B, A] and alike; got {tuple(pi_logits_tm1.shape)} and "
                         f"{tuple(mu_logits_tm1.shape)}")
    rho = importance_ratios(pi_logits_tm1, mu_logits_tm1, a_tm1)
    v_t = torch.cat([v_tm1[1:], bootstrap_value.unsqueeze(0)], dim=0).detach()
    vs, pg_adv = vtrace(v_tm1.detach(), v_t, r_t, discount_t, rho, lambda_, clip_rho_threshold,
                        clip_pg_rho_threshold)
    batch = v_tm1.shape[1]
    log_pi = F.log_softmax(pi_logits_tm1, dim=-1)
    log_pi_a = log_pi.gather(-1, a_tm1.unsqueeze(-1)).squeeze(-1)
    targets = vs
    if normalize is not None:
        if v_norm_tm1 is None:
            raise ValueError("normalize needs v_norm_tm1, the values on the normalised scale")
        # An advantage is a difference of values, so only σ applies: n(a) − n(0) = a/σ.
        pg_adv = normalize(pg_adv) - normalize(torch.zeros_like(pg_adv))
        vs, v_tm1 = normalize(vs), v_norm_tm1
    policy = -(pg_adv * log_pi_a).sum() / batch
    baseline = 0.5 * ((vs - v_tm1) ** 2).sum() / batch
    entropy = -(log_pi.exp() * log_pi).sum() / batch  # H summed over the unroll, mean over the batch
    total = policy + baseline_cost * baseline - entropy_cost * entropy
    return ImpalaLoss(total, policy.detach(), baseline.detach(), entropy.detach(), targets)
