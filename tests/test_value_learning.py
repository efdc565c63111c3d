"""The pure TD functions against hand-computed values."""

from __future__ import annotations

import torch

from zoo_core.learning.exploration import EpsilonGreedy, linear_schedule
from zoo_core.learning.value_learning import double_q_learning, huber_loss, polyak_update, q_learning

Q_TM1 = torch.tensor([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
A_TM1 = torch.tensor([1, 0, 0])
R_T = torch.tensor([1.0, 0.0, -1.0])
DISCOUNT_T = torch.tensor([0.9, 0.5, 0.0])
Q_T = torch.tensor([[4.0, 2.0], [1.0, 3.0], [10.0, 10.0]])
Q_T_SELECTOR = torch.tensor([[0.0, 1.0], [5.0, 0.0], [0.0, 1.0]])


def test_q_learning_hand_computed():
    # row 0: 1 + 0.9*max(4,2)=4.6 - q(1)=2 -> 2.6; row 1: 0 + 0.5*3 - 0.5 = 1.0; row 2: -1 + 0 - 3 = -4
    td = q_learning(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T)
    assert torch.allclose(td, torch.tensor([2.6, 1.0, -4.0]))


def test_double_q_learning_uses_selector_argmax_and_value_net():
    # row 0: selector picks a=1 -> 1 + 0.9*2 - 2 = 0.8; row 1: picks 0 -> 0 + 0.5*1 - 0.5 = 0.0
    # row 2: terminal -> -1 - 3 = -4
    td = double_q_learning(Q_TM1, A_TM1, R_T, DISCOUNT_T, Q_T, Q_T_SELECTOR)
    assert torch.allclose(td, torch.tensor([0.8, 0.0, -4.0]))


def test_targets_carry_no_gradient():
    q_tm1 = Q_TM1.clone().requires_grad_(True)
    q_t = Q_T.clone().requires_grad_(True)
    q_learning(q_tm1, A_TM1, R_T, DISCOUNT_T, q_t).sum().backward()
    assert q_t.grad is None
    assert torch.equal(q_tm1.grad, torch.tensor([[0.0, -1.0], [-1.0, 0.0], [-1.0, 0.0]]))


def test_huber_loss_hand_computed():
    x = torch.tensor([0.0, 0.5, -1.0, 3.0, -2.5])
    assert torch.allclose(huber_loss(x, 1.0), torch.tensor([0.0, 0.125, 0.5, 2.5, 2.0]))
    assert torch.allclose(huber_loss(torch.tensor([3.0]), 2.0), torch.tensor([4.0]))  # 2*(3-1)


def test_polyak_and_hard_updates():
    online, target = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        online.weight.fill_(1.0), online.bias.fill_(2.0), target.weight.fill_(0.0), target.bias.fill_(0.0)
    polyak_update(target, online, 0.25)
    assert torch.allclose(target.weight, torch.full((1, 2), 0.25)) and torch.allclose(target.bias, torch.tensor([0.5]))
    polyak_update(target, online, 1.0)
    assert torch.equal(target.weight, online.weight) and torch.equal(target.bias, online.bias)


def test_linear_schedule_and_epsilon_greedy():
    assert linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert abs(linear_schedule(1.0, 0.1, 100, 50) - 0.55) < 1e-12
    assert linear_schedule(1.0, 0.1, 100, 500) == __import__("pytest").approx(0.1, abs=1e-15)
    policy = EpsilonGreedy(3, 0.0, 0.0, 1)
    rng = __import__("numpy").random.default_rng(0)
    q = __import__("numpy").array([[0.0, 5.0, 1.0], [9.0, 0.0, 1.0]])
    assert policy.actions(lambda: q, 0, rng, 2).tolist() == [1, 0]
