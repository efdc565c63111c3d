"""V-trace against hand-computed values and against eq. 1 of Espeholt et al. written as a sum."""

from __future__ import annotations

import pytest
import torch
from zoo_impala import vtrace

V_TM1 = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
V_T = torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64)
R_T = torch.tensor([1.0, 0.0, 2.0], dtype=torch.float64)
RHO = torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64)


def _gamma(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def test_by_hand():
    # clipped rho = c = [1, .5, 1]; delta = [1.8, .35, 2.6]
    # vs - v: 2.6, .35 + .9*.5*2.6 = 1.52, 1.8 + .9*1*1.52 = 3.168
    vs, pg = vtrace(V_TM1, V_T, R_T, _gamma(0.9, 0.9, 0.9), RHO)
    torch.testing.assert_close(vs, _gamma(4.168, 3.52, 5.6))
    # pg_s = min(rho, 1) (r + .9 vs_{s+1} - v), vs after the end = v_t[-1] = 4
    torch.testing.assert_close(pg, _gamma(3.168, 0.5 * (0.9 * 5.6 - 2.0), 2.6))


def test_lambda_shortens_the_trace():
    # c = lambda * min(1, rho) = [.5, .25, .5]: 2.6, .35 + .9*.25*2.6 = .935, 1.8 + .9*.5*.935 = 2.22075
    vs, _ = vtrace(V_TM1, V_T, R_T, _gamma(0.9, 0.9, 0.9), RHO, lambda_=0.5)
    torch.testing.assert_close(vs, _gamma(3.22075, 2.935, 5.6))


def test_episode_end_inside_the_unroll_cuts_trace_and_bootstrap():
    # gamma_1 = 0: delta_1 = .5 (0 - 2) = -1, nothing from step 2 flows back past step 1
    vs, pg = vtrace(V_TM1, V_T, R_T, _gamma(0.9, 0.0, 0.9), RHO)
    torch.testing.assert_close(vs, _gamma(1.9, 1.0, 5.6))
    torch.testing.assert_close(pg, _gamma(0.9, -1.0, 2.6))


def test_clipping_thresholds():
    rho = _gamma(3.0, 3.0, 3.0)
    gamma = _gamma(0.9, 0.9, 0.9)
    # rho-bar 2: delta = 2 * [.8+1, .7, 2.6] = [3.6, 1.4, 5.2]; c = min(1, 3) = 1
    vs, pg = vtrace(V_TM1, V_T, R_T, gamma, rho, clip_rho_threshold=2.0, clip_pg_rho_threshold=1.5)
    acc2 = 5.2
    acc1 = 1.4 + 0.9 * acc2
    acc0 = 3.6 + 0.9 * acc1
    torch.testing.assert_close(vs, V_TM1 + _gamma(acc0, acc1, acc2))
    vs_next = torch.cat([vs[1:], V_T[-1:]])
    torch.testing.assert_close(pg, 1.5 * (R_T + gamma * vs_next - V_TM1))
    # on-policy (rho = 1, lambda = 1) V-trace is the n-step return bootstrapped at the end
    vs_on, _ = vtrace(V_TM1, V_T, R_T, gamma, torch.ones(3, dtype=torch.float64))
    torch.testing.assert_close(vs_on[0].item(), 1.0 + 0.9 * 0.0 + 0.81 * 2.0 + 0.729 * 4.0)


def _eq1(v_tm1, v_t, r_t, discount_t, rho, lambda_, rho_bar):
    """Eq. 1 literally: vs_s = V(x_s) + sum_t (prod_{i<t} gamma_i c_i) delta_t."""
    T = v_tm1.shape[0]
    delta = torch.clamp(rho, max=rho_bar) * (r_t + discount_t * v_t - v_tm1)
    c = lambda_ * torch.clamp(rho, max=1.0)
    vs = v_tm1.clone()
    for s in range(T):
        weight = torch.ones_like(v_tm1[0])
        for t in range(s, T):
            vs[s] += weight * delta[t]
            weight = weight * discount_t[t] * c[t]
    return vs


@pytest.mark.parametrize("lambda_", [1.0, 0.7, 0.0])
def test_matches_equation_one_on_random_batches(lambda_):
    g = torch.Generator().manual_seed(0)
    T, B = 7, 5
    v_tm1, v_t, r_t = (torch.randn(T, B, generator=g, dtype=torch.float64) for _ in range(3))
    discount_t = 0.95 * (torch.rand(T, B, generator=g) > 0.2).double()  # some episode ends
    rho = torch.exp(torch.randn(T, B, generator=g, dtype=torch.float64))
    vs, _ = vtrace(v_tm1, v_t, r_t, discount_t, rho, lambda_=lambda_, clip_rho_threshold=1.3)
    torch.testing.assert_close(vs, _eq1(v_tm1, v_t, r_t, discount_t, rho, lambda_, 1.3))


def test_targets_carry_no_gradient_and_bad_input_is_refused():
    v = V_TM1.clone().requires_grad_()
    vs, pg = vtrace(v, V_T, R_T, _gamma(0.9, 0.9, 0.9), RHO)
    assert not vs.requires_grad and not pg.requires_grad
    with pytest.raises(ValueError, match="one shape"):
        vtrace(V_TM1, V_T[:2], R_T, _gamma(0.9, 0.9, 0.9), RHO)
    with pytest.raises(ValueError, match="lambda_"):
        vtrace(V_TM1, V_T, R_T, _gamma(0.9, 0.9, 0.9), RHO, lambda_=1.5)
