"""zoo-c51: the projection and the loss by hand, the value distribution, and the plugin in an agent."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from zoo_c51 import C51Value, categorical_double_q_learning, categorical_l2_project, categorical_q_learning
from zoo_c51.value import c51_loss_and_grad

from zoo_core.errors import ZooError
from zoo_core.learning.value_distribution import TDInputs

Z3 = torch.tensor([0.0, 1.0, 2.0])


def _logits(*rows):
    """``[B, A, M]`` logits whose softmax is exactly the given probabilities."""
    return torch.tensor(rows).log()


def _close(a, b):
    torch.testing.assert_close(a, torch.as_tensor(b, dtype=a.dtype), rtol=0, atol=1e-6)


# --- projection ---------------------------------------------------------------------------------


def test_projection_is_the_identity_on_its_own_support():
    probs = torch.tensor([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    _close(categorical_l2_project(Z3.expand(2, 3), probs, Z3), probs)


def test_point_mass_between_atoms_splits_linearly():
    # 0.25 is a quarter of the way from atom 0 to atom 1: 3/4 stays on 0, 1/4 goes to 1.
    out = categorical_l2_project(torch.tensor([[0.25]]), torch.tensor([[1.0]]), Z3)
    _close(out, [[0.75, 0.25, 0.0]])
    out = categorical_l2_project(torch.tensor([[1.9]]), torch.tensor([[1.0]]), Z3)
    _close(out, [[0.0, 0.1, 0.9]])


def test_mass_outside_the_support_goes_to_the_end_atoms():
    z_p = torch.tensor([[-5.0, 7.0, 2.0, 0.0]])
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    # -5 -> atom 0 (0.1), 7 and 2 -> atom 2 (0.2 + 0.3), 0 -> atom 0 (0.4)
    _close(categorical_l2_project(z_p, probs, Z3), [[0.5, 0.0, 0.5]])


def test_non_uniform_support():
    z_q = torch.tensor([0.0, 1.0, 5.0])
    # 3.0 is halfway from 1 to 5; 0.5 halfway from 0 to 1; 4.0 is 3/4 of the way from 1 to 5.
    z_p = torch.tensor([[3.0, 0.5, 4.0]])
    probs = torch.tensor([[0.4, 0.2, 0.4]])
    expected = [[0.1, 0.2 + 0.1 + 0.1, 0.2 + 0.3]]
    _close(categorical_l2_project(z_p, probs, z_q), expected)


def test_batch_rows_are_independent_and_sum_to_one():
    torch.manual_seed(0)
    z_q = torch.tensor([-3.0, -1.0, 0.0, 0.5, 4.0])
    z_p = torch.randn(6, 7) * 4
    probs = torch.softmax(torch.randn(6, 7), dim=-1)
    out = categorical_l2_project(z_p, probs, z_q)
    assert out.shape == (6, 5)
    assert (out >= 0).all()
    _close(out.sum(-1), torch.ones(6))
    for b in range(6):
        _close(out[b : b + 1], categorical_l2_project(z_p[b : b + 1], probs[b : b + 1], z_q))


# --- loss ---------------------------------------------------------------------------------------

# Target net at s_t: action 0 has mean 0.75, action 1 has mean 1.25.
P_T = [[0.5, 0.25, 0.25], [0.25, 0.25, 0.5]]
P_TM1 = [[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]


def _ce(target, probs):
    return -sum(t * math.log(p) for t, p in zip(target, probs, strict=True))


def test_loss_by_hand():
    logits_tm1, logits_t = _logits(P_TM1), _logits(P_T)
    r, d = torch.tensor([0.5]), torch.tensor([0.5])
    # a* = 1 (mean 1.25); z_t = 0.5 + 0.5 * [0, 1, 2] = [0.5, 1.0, 1.5] with probs [0.25, 0.25, 0.5]:
    # 0.5 -> 0.125 on atom 0 and 0.125 on 1; 1.0 -> 0.25 on 1; 1.5 -> 0.25 on 1 and 0.25 on 2.
    target = [0.125, 0.625, 0.25]
    loss = categorical_q_learning(Z3, logits_tm1, torch.tensor([0]), r, d, logits_t)
    _close(loss, [_ce(target, P_TM1[0])])
    loss = categorical_q_learning(Z3, logits_tm1, torch.tensor([1]), r, d, logits_t)
    _close(loss, [_ce(target, P_TM1[1])])


def test_termination_collapses_the_target_onto_the_clipped_reward():
    logits_tm1, logits_t = _logits(P_TM1, P_TM1, P_TM1), _logits(P_T, P_T, P_T)
    r = torch.tensor([1.3, 5.0, -1.0])
    loss = categorical_q_learning(Z3, logits_tm1, torch.tensor([0, 0, 1]), r, torch.zeros(3), logits_t)
    expected = [_ce([0.0, 0.7, 0.3], P_TM1[0]), -math.log(P_TM1[0][2]), -math.log(P_TM1[1][0])]
    _close(loss, expected)


def test_double_q_uses_the_selectors_means():
    logits_tm1, logits_t = _logits(P_TM1), _logits(P_T)
    r, d, a = torch.tensor([0.5]), torch.tensor([0.5]), torch.tensor([0])
    # The selector prefers action 0, whose target probs [0.5, 0.25, 0.25] on [0.5, 1, 1.5] project to
    # [0.25, 0.25 + 0.25 + 0.125, 0.125].
    selector = torch.tensor([[1.0, 0.0]])
    loss = categorical_double_q_learning(Z3, logits_tm1, a, r, d, logits_t, selector)
    _close(loss, [_ce([0.25, 0.625, 0.125], P_TM1[0])])

    value = C51Value(3, 0.0, 2.0)
    selector_out = _logits([[0.1, 0.1, 0.8], [0.8, 0.1, 0.1]])  # means 1.7 and 0.3: picks action 0
    loss, priority = value.loss(logits_tm1, a, r, d, logits_t, selector_out)
    _close(loss, [_ce([0.25, 0.625, 0.125], P_TM1[0])])
    _close(priority, loss)
    loss, _ = value.loss(logits_tm1, a, r, d, logits_t, None)  # the target's own means pick action 1
    _close(loss, [_ce([0.125, 0.625, 0.25], P_TM1[0])])


def test_gradient_flows_only_through_out_tm1():
    value = C51Value(3, 0.0, 2.0)
    out_tm1 = _logits(P_TM1).requires_grad_(True)
    out_t = _logits(P_T).requires_grad_(True)
    selector = _logits(P_T).requires_grad_(True)
    loss, priority = value.loss(out_tm1, torch.tensor([0]), torch.tensor([0.5]), torch.tensor([0.5]), out_t, selector)
    assert not priority.requires_grad
    loss.sum().backward()
    assert out_t.grad is None and selector.grad is None
    # d CE / d logits = softmax - target on the action taken, zero elsewhere.
    expected = torch.tensor([[[0.2 - 0.125, 0.3 - 0.625, 0.5 - 0.25], [0.0, 0.0, 0.0]]])
    _close(out_tm1.grad, expected)


@pytest.mark.parametrize("double_q", [True, False])
def test_loss_and_grad_matches_autograd_bit_for_bit(double_q):
    torch.manual_seed(1)
    value = C51Value(11, -3.0, 4.0)
    b, a = 9, 3
    out_tm1 = (torch.randn(b, a, 11) * 2).requires_grad_(True)
    out_t, selector = torch.randn(b, a, 11), torch.randn(b, a, 11) if double_q else None
    a_tm1, r_t = torch.randint(0, a, (b,)), torch.randn(b) * 3
    discount_t = torch.where(torch.rand(b) < 0.3, 0.0, 0.99)
    grad_loss = torch.full((b,), 1.0 / b) * torch.rand(b)
    loss, priority = value.loss(out_tm1, a_tm1, r_t, discount_t, out_t, selector)
    (grad,) = torch.autograd.grad((loss * grad_loss).sum(), out_tm1)
    with torch.inference_mode():
        fast_loss, fast_priority, fast_grad = c51_loss_and_grad(
            value, TDInputs(out_tm1.detach(), a_tm1, r_t, discount_t, out_t, selector), grad_loss
        )
    assert torch.equal(fast_loss, loss.detach()) and torch.equal(fast_priority, priority)
    assert torch.equal(fast_grad, grad)


# --- value distribution -------------------------------------------------------------------------


def test_q_values_are_the_expected_values():
    value = C51Value(3, 0.0, 2.0)
    _close(value.support, [0.0, 1.0, 2.0])
    _close(value.q_values(_logits(P_T, P_TM1)), [[0.75, 1.25], [1.3, 0.6]])
    assert C51Value().num_atoms == 51 and C51Value().support[25].item() == pytest.approx(0.0, abs=1e-6)


def test_state_dict_round_trip_and_mismatch():
    value = C51Value(5, -2.0, 2.0)
    state = value.state_dict()
    assert state["support"] == [-2.0, -1.0, 0.0, 1.0, 2.0]
    C51Value(5, -2.0, 2.0).load_state_dict(state)
    C51Value(5, -2.0, 2.0).load_state_dict({})
    with pytest.raises(ZooError, match="support"):
        C51Value(5, -2.0, 3.0).load_state_dict(state)
    with pytest.raises(ZooError, match="support"):
        C51Value(7, -2.0, 2.0).load_state_dict(state)


def test_bad_support_is_refused():
    with pytest.raises(ZooError, match="v_min"):
        C51Value(51, 1.0, 1.0)
    with pytest.raises(ZooError, match="num_atoms"):
        C51Value(1, 0.0, 1.0)


# --- in an agent --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import zoo_core

    out = tmp_path_factory.mktemp("c51") / "r"
    overrides = ["train_freq=1", "gradient_steps=1", "learning_starts=100", "buffer_size=2000", "batch_size=16",
                 "hidden=32,32", "run.eval_every=0", "run.eval_episodes=2", "run.checkpoint_every=0",
                 "c51.v_max=100", "c51.v_min=0"]
    return zoo_core.train("dqn+c51", "CartPole-v1", 400, seed=0, out=out, overrides=overrides)


def test_trains_in_an_agent(trained):
    agent = trained.agent
    assert isinstance(agent.value, C51Value)
    assert agent.updates > 0 and math.isfinite(float(agent.last_loss))
    assert agent.spec.num_atoms == 51
    out = agent.network(torch.zeros(3, 4))
    assert out.shape == (3, 2, 51)
    _close(agent.value.support, torch.linspace(0.0, 100.0, 51))
    q = agent.q_values(np.zeros((3, 4), dtype=np.float32))
    assert q.shape == (3, 2) and ((q >= 0) & (q <= 100)).all()


def test_checkpoint_restores_the_support(trained):
    import zoo_core
    from zoo_core.running.checkpoint import latest_checkpoint, load_checkpoint

    loaded = zoo_core.load(trained.run_dir)
    assert isinstance(loaded.value, C51Value)
    _close(loaded.value.support, torch.linspace(0.0, 100.0, 51))
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.q_values(obs), trained.agent.q_values(obs))

    _, docs = load_checkpoint(latest_checkpoint(trained.run_dir / "checkpoints"))
    saved = docs["train_state"]["value"]
    _close(torch.tensor(saved["support"]), torch.linspace(0.0, 100.0, 51))
    loaded.value.load_state_dict(saved)
    with pytest.raises(ZooError, match="support"):
        C51Value(51, -10.0, 10.0).load_state_dict(saved)


def test_fast_learner_matches_the_general_update():
    """The core's plain-network learner (through C51's fused loss) and autograd agree exactly."""
    from zoo_core.host.session import build_agent, env_signature, resolve
    from zoo_core.learning.learner import TensorBatch

    setup = resolve("dqn+c51", "CartPole-v1", ["hidden=16", "batch_size=8", "c51.num_atoms=7"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    plain = agent.learner.plain
    assert plain is not None  # a plain mlp and head: the fused path applies
    rng = np.random.default_rng(0)
    obs_tm1, obs_t = (torch.from_numpy(rng.normal(size=(8, 4)).astype(np.float32)) for _ in range(2))
    a_tm1 = torch.from_numpy(rng.integers(0, 2, 8))
    r_t = torch.ones(8)
    discount_t = torch.tensor([0.99] * 6 + [0.0] * 2)
    weights = torch.from_numpy(rng.uniform(0.5, 1.0, 8).astype(np.float32))
    for double_q in (True, False):
        batch = TensorBatch(obs_tm1, a_tm1, r_t, discount_t, obs_t, weights)
        loss, priority, grads = plain.grads(agent.value, batch, double_q, "mean")
        autograd_only = SimpleNamespace(loss=agent.value.loss, q_values=agent.value.q_values)  # no fused loss
        ref_loss, ref_priority, ref_grads = plain.grads(autograd_only, batch, double_q, "mean")
        assert torch.equal(loss, ref_loss) and torch.equal(priority, ref_priority)
        assert all(torch.equal(g, h) for g, h in zip(grads, ref_grads, strict=True))


def test_composes_with_dueling():
    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("dqn+c51+dueling", "CartPole-v1", ["hidden=8", "dueling.hidden=4"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    assert type(agent.network.head).__name__ == "DuelingHead"
    assert agent.spec.num_atoms == 51
    assert agent.network(torch.zeros(2, 4)).shape == (2, 2, 51)
    assert agent.q_values(np.zeros((2, 4), dtype=np.float32)).shape == (2, 2)


def test_bad_support_is_refused_when_the_config_is_resolved():
    from zoo_core.host.session import resolve

    with pytest.raises(ZooError, match="c51.num_atoms must be >= 2; got 1"):
        resolve("dqn+c51", "CartPole-v1", ["c51.num_atoms=1"])
    with pytest.raises(ZooError, match="c51.v_min must be below c51.v_max; got v_min=5.0, v_max=1.0"):
        resolve("dqn+c51", "CartPole-v1", ["c51.v_min=5", "c51.v_max=1"])
    with pytest.raises(ZooError, match=r"plugin 'c51' does not fit algorithm 'a3c' \(it fits: dqn, r2d2\)"):
        resolve("a3c+c51", "CartPole-v1")
