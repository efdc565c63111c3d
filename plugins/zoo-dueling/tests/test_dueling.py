"""zoo-dueling: the aggregation by hand, the head's shapes, and the plugin in an agent."""

from __future__ import annotations

import pytest
import torch
from zoo_dueling import DuelingHead, dueling_aggregate


def test_aggregation_hand_computed():
    value = torch.tensor([[1.0], [0.0]])  # [B=2, atoms=1]
    advantages = torch.tensor([[[1.0], [2.0], [3.0]], [[-1.0], [1.0], [0.0]]])  # [2, A=3, 1]
    # row 0: mean A = 2 -> Q = 1 + (A - 2) = [0, 1, 2]; row 1: mean 0 -> Q = A
    expected = torch.tensor([[[0.0], [1.0], [2.0]], [[-1.0], [1.0], [0.0]]])
    assert torch.equal(dueling_aggregate(value, advantages), expected)


def test_aggregation_per_atom_for_distributions():
    value = torch.tensor([[10.0, 20.0]])  # [1, atoms=2]
    advantages = torch.tensor([[[1.0, 0.0], [3.0, 4.0]]])  # [1, A=2, atoms=2]
    # atom 0: mean 2 -> [10-1, 10+1]; atom 1: mean 2 -> [20-2, 20+2]
    assert torch.equal(dueling_aggregate(value, advantages), torch.tensor([[[9.0, 18.0], [11.0, 22.0]]]))


def test_greedy_action_is_the_advantages_argmax():
    torch.manual_seed(0)
    value, advantages = torch.randn(5, 1), torch.randn(5, 4, 1)
    q = dueling_aggregate(value, advantages)
    assert torch.equal(q[..., 0].argmax(-1), advantages[..., 0].argmax(-1))


@pytest.mark.parametrize(("hidden", "atoms"), [(0, 1), (16, 1), (8, 51)])
def test_head_shapes(hidden, atoms):
    head = DuelingHead(12, 3, atoms, torch.nn.Linear, hidden=hidden)
    assert head(torch.randn(4, 12)).shape == (4, 3, atoms)


def test_plugin_makes_the_agent_dueling():
    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("dqn+dueling", "CartPole-v1", ["hidden=8", "dueling.hidden=4"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    assert isinstance(agent.network.head, DuelingHead)
    assert agent.spec.head == "dueling" and agent.spec.claims["head"] == "dueling"
    assert agent.network.head.value[0].out_features == 4
    assert agent.q_values(torch.zeros(2, 4).numpy()).shape == (2, 2)


def test_actor_critic_agents_are_refused_and_hidden_must_be_a_size():
    from zoo_core.errors import ZooError
    from zoo_core.host.session import resolve

    with pytest.raises(ZooError, match=r"plugin 'dueling' does not fit algorithm 'impala' \(it fits: dqn, r2d2\)"):
        resolve("impala+dueling", "CartPole-v1")
    with pytest.raises(ZooError, match="dueling.hidden must be >= 0; got -4"):
        resolve("dqn+dueling", "CartPole-v1", ["dueling.hidden=-4"])
