"""R2D2's pure math against hand-computed values: n-step targets in a sequence, burn-in, priorities."""

from __future__ import annotations

import pytest
import torch
from zoo_r2d2.learning import burn_in_unroll, gather_time, n_step_bootstrap, sequence_priority

from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.learning.networks import BUILTIN_MODULES, build_network


def test_n_step_returns_stop_at_termination_and_at_the_sequence_end():
    r_t = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    discount_t = torch.tensor([[0.9], [0.9], [0.0], [0.9]])  # transition 2 terminates
    stop_t = torch.tensor([[False], [False], [True], [False]])
    g, d, index = n_step_bootstrap(r_t, discount_t, stop_t, n=2)
    assert torch.allclose(g[:, 0], torch.tensor([1 + 0.9 * 2, 2 + 0.9 * 3, 3.0, 4.0]))
    assert torch.allclose(d[:, 0], torch.tensor([0.81, 0.0, 0.0, 0.9]))
    # t=1 runs into the termination (2 steps, weight 0); t=3 has one transition left.
    assert index[:, 0].tolist() == [2, 3, 3, 4]


def test_n_step_returns_after_a_truncation_bootstrap_from_the_final_observation():
    r_t = torch.tensor([[1.0], [2.0], [0.0], [4.0], [5.0]])  # transition 2 leaves a final observation
    discount_t = torch.full((5, 1), 0.5)
    stop_t = torch.tensor([[False], [True], [False], [False], [False]])  # truncated after transition 1
    g, d, index = n_step_bootstrap(r_t, discount_t, stop_t, n=3)
    assert torch.allclose(g[:, 0], torch.tensor([1 + 0.5 * 2, 2.0, 0 + 0.5 * 4 + 0.25 * 5, 4 + 0.5 * 5, 5.0]))
    assert torch.allclose(d[:, 0], torch.tensor([0.25, 0.5, 0.125, 0.25, 0.5]))
    assert index[:, 0].tolist() == [2, 2, 5, 5, 5]


def test_one_step_returns_are_the_transitions_own():
    r_t, discount_t = torch.rand(6, 3), torch.rand(6, 3)
    g, d, index = n_step_bootstrap(r_t, discount_t, torch.rand(6, 3) < 0.5, n=1)
    assert torch.equal(g, r_t) and torch.equal(d, discount_t)
    assert torch.equal(index, torch.arange(1, 7).unsqueeze(-1).expand(6, 3))
    with pytest.raises(ValueError):
        n_step_bootstrap(r_t, discount_t, torch.zeros(6, 3, dtype=torch.bool), n=0)


def test_gather_time_picks_each_sequence_s_own_timestep():
    x = torch.arange(3 * 2 * 2).view(3, 2, 2)  # [T'=3, B=2, A=2]
    index = torch.tensor([[1, 2], [2, 0]])  # [T=2, B=2]
    assert gather_time(x, index).tolist() == [[x[1, 0].tolist(), x[2, 1].tolist()],
                                              [x[2, 0].tolist(), x[0, 1].tolist()]]


def test_sequence_priority_mixes_max_and_mean_over_valid_steps():
    td = torch.tensor([[1.0, 5.0], [3.0, 9.0], [2.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])  # sequence 1's middle step is no transition
    assert torch.allclose(sequence_priority(td, mask, eta=0.9), torch.tensor([0.9 * 3 + 0.1 * 2, 0.9 * 5 + 0.1 * 3]))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_burn_in_gives_no_gradient_and_hands_its_state_on(kind):
    torch.manual_seed(0)
    spec = NetworkSpec(obs_shape=(3,), num_actions=2, torso_args={"hidden": [8]}, recurrent=kind, recurrent_size=5)
    net = build_network(spec, BUILTIN_MODULES)
    obs = torch.randn(7, 2, 3, requires_grad=True)
    first = torch.zeros(7, 2)
    state = tuple(torch.randn(2, 5) for _ in net.core.initial_state(2))
    out = burn_in_unroll(net, obs, first, state, burn_in=3)
    assert out.shape == (4, 2, 2, 1)
    out.sum().backward()
    assert torch.count_nonzero(obs.grad[:3]) == 0  # nothing flows back into the burn-in
    assert torch.count_nonzero(obs.grad[3:]) > 0
    # The same outputs as a full unroll from the stored state (burn-in changes gradients, not values).
    full, _ = net(obs.detach(), first, state)
    assert torch.allclose(out.detach(), full[3:])
    # And the parameter gradients are those of learning on the tail from the burned-in state alone.
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    with torch.no_grad():
        _, mid = net(obs.detach()[:3], first[:3], state)
    tail, _ = net(obs.detach()[3:], first[3:], mid)
    tail.sum().backward()
    assert all(torch.allclose(a, p.grad) for a, p in zip(grads, net.parameters(), strict=True))
