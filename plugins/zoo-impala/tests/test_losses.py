"""IMPALA's loss: importance ratios, and the loss's parts and gradients by hand."""

from __future__ import annotations

import math

import pytest
import torch
from zoo_impala.losses import impala_loss, importance_ratios


def test_importance_ratios_by_hand():
    pi = torch.log(torch.tensor([[[0.2, 0.8]], [[0.5, 0.5]]]))  # [T=2, B=1, A=2]
    mu = torch.log(torch.tensor([[[0.4, 0.6]], [[0.25, 0.75]]]))
    a = torch.tensor([[1], [0]])
    torch.testing.assert_close(importance_ratios(pi, mu, a), torch.tensor([[0.8 / 0.6], [0.5 / 0.25]]))


def test_on_policy_one_step_loss_by_hand():
    # T = 1, B = 1, two actions; pi = mu (rho = 1): vs = r + g V' = 1 + .5*2 = 2, adv = vs - V = 2 - 0.5
    logits = torch.tensor([[[0.0, math.log(3.0)]]], requires_grad=True)  # pi = [.25, .75]
    v = torch.tensor([[0.5]], requires_grad=True)
    out = impala_loss(logits, v, torch.tensor([2.0]), logits.detach(), torch.tensor([[1]]),
                      torch.tensor([[1.0]]), torch.tensor([[0.5]]), baseline_cost=0.5, entropy_cost=0.1)
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert out.policy.item() == pytest.approx(-1.5 * math.log(0.75))
    assert out.baseline.item() == pytest.approx(0.5 * 1.5**2)
    assert out.entropy.item() == pytest.approx(entropy)
    assert out.total.item() == pytest.approx(-1.5 * math.log(0.75) + 0.5 * 0.5 * 1.5**2 - 0.1 * entropy)
    out.total.backward()
    # d/dV of .5 * .5 (vs - V)^2 = -.5 (vs - V): the target vs is constant
    assert v.grad.item() == pytest.approx(-0.5 * 1.5)
    # d/dlogits of -adv log pi(a=1) = -adv (onehot - pi); entropy term adds -c dH/dlogits
    p = torch.tensor([0.25, 0.75])
    log_p = torch.log(p)
    d_entropy = -p * (log_p + entropy)  # dH/dlogits for a softmax
    expected = -1.5 * (torch.tensor([0.0, 1.0]) - p) - 0.1 * d_entropy
    torch.testing.assert_close(logits.grad[0, 0], expected)


def test_off_policy_ratios_are_clipped_in_the_advantage():
    # pi(a) = .75, mu(a) = .25: rho = 3, clipped to 1 in both targets and advantage
    pi = torch.tensor([[[0.0, math.log(3.0)]]])
    mu = torch.tensor([[[math.log(3.0), 0.0]]])
    args = (torch.tensor([[0.5]]), torch.tensor([2.0]), mu, torch.tensor([[1]]), torch.tensor([[1.0]]),
            torch.tensor([[0.5]]))
    clipped = impala_loss(pi, *args, entropy_cost=0.0)
    assert clipped.policy.item() == pytest.approx(-1.5 * math.log(0.75))
    loose = impala_loss(pi, *args, entropy_cost=0.0, clip_rho_threshold=10.0, clip_pg_rho_threshold=10.0)
    assert loose.policy.item() == pytest.approx(-3 * 1.5 * math.log(0.75))
    with pytest.raises(ValueError, match="logits"):
        impala_loss(pi[0], *args)
