"""V-trace targets and policy-gradient advantages (Espeholt et al. 2018, section 4).

Pure torch; no zoo or pluggy imports. Time-major: index 0 is the oldest step of the unroll.
"""

from __future__ import annotations

import torch

__all__ = ["vtrace"]


def vtrace(
    v_tm1: torch.Tensor,
    v_t: torch.Tensor,
    r_t: torch.Tensor,
    discount_t: torch.Tensor,
    rho_tm1: torch.Tensor,
    lambda_: float = 1.0,
    clip_rho_threshold: float = 1.0,
    clip_pg_rho_threshold: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """V-trace value targets ``vs`` and policy-gradient advantages for one batch of unrolls.

    With ρ̄_s = min(ρ̄, ρ_s), c_s = λ·min(1, ρ_s) and δ_s = ρ̄_s (r_s + γ_s V(x_{s+1}) − V(x_s)),
    eq. 1 of the paper is

        vs_s = V(x_s) + Σ_{t ≥ s} (Π_{i=s}^{t-1} γ_i c_i) δ_t,

    computed backwards as vs_s − V(x_s) = δ_s + γ_s c_s (vs_{s+1} − V(x_{s+1})), with the
    correction after the last step taken as 0 (the unroll bootstraps from V at its end). The
    advantage is clip(ρ_s, ρ̄_pg)·(r_s + γ_s·vs_{s+1} − V(x_s)), where vs after the last step is
    V(x_T). A discount of 0 (an episode end inside the unroll) cuts both the trace and the
    bootstrap there. Targets carry no gradient.

    Args:
      v_tm1: [T, B] (or [T]) V(x_s), the values of the unroll's states.
      v_t: [T, B] V(x_{s+1}), the values of the next states (v_tm1 shifted by one, plus the
        bootstrap value after the last step).
      r_t: [T, B] rewards.
      discount_t: [T, B] γ_s, 0 where the episode terminated at step s.
      rho_tm1: [T, B] importance ratios π(a_s|x_s) / μ(a_s|x_s), unclipped.
      lambda_: λ in [0, 1], the trace-cutting mix of the paper's remark 2.
      clip_rho_threshold: ρ̄ of the value targets.
      clip_pg_rho_threshold: ρ̄ of the policy-gradient advantages.

    Returns:
      (vs [T, B], pg_advantages [T, B]), both detached.
    """
    shapes = {t.shape for t in (v_tm1, v_t, r_t, discount_t, rho_tm1)}
    if len(shapes) != 1 or v_tm1.dim() not in (1, 2):
        raise ValueError(f"vtrace needs five tensors of one shape [T] or [T, B]; got {sorted(map(tuple, shapes))}")
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(f"vtrace lambda_ must be in [0, 1], got {lambda_}")
    with torch.no_grad():
        v_tm1, v_t, r_t, discount_t, rho_tm1 = (x.detach() for x in (v_tm1, v_t, r_t, discount_t, rho_tm1))
        clipped_rho = torch.clamp(rho_tm1, max=clip_rho_threshold)
        c_tm1 = lambda_ * torch.clamp(rho_tm1, max=1.0)
        delta = clipped_rho * (r_t + discount_t * v_t - v_tm1)
        correction = torch.empty_like(v_tm1)
        acc = torch.zeros_like(v_tm1[0])
        for s in range(v_tm1.shape[0] - 1, -1, -1):  # a scan backwards over the unroll (T is short)
            acc = delta[s] + discount_t[s] * c_tm1[s] * acc
            correction[s] = acc
        vs = v_tm1 + correction
        vs_t = torch.cat([vs[1:], v_t[-1:]], dim=0)  # vs_{s+1}, bootstrapping with V after the end
        pg_advantages = torch.clamp(rho_tm1, max=clip_pg_rho_threshold) * (r_t + discount_t * vs_t - v_tm1)
    return vs, pg_advantages
