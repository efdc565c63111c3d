"""The learner's fast parts against hand-computed values and against the general path, bit for bit.

`zoo_core.fast.plain` runs plain networks without modules or autograd, the scalar value's fused loss
gives the loss gradient without autograd, `FastAdam` calls the fused kernel directly and the fast
`clip_grad_norm` skips a multiply by exactly 1.0. Each must give the same bits as what it replaces, and
an agent with ``fast_learner=false`` (modules, autograd, torch's Adam and clip) learns the same bits.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY
from torch import nn

from zoo_core.errors import NonFiniteError
from zoo_core.fast.adam import FastAdam
from zoo_core.fast.clip import clip_grad_norm
from zoo_core.fast.losses import scalar_loss_and_grad
from zoo_core.fast.plain import PlainLearner, PlainNetwork
from zoo_core.host.session import build_agent, env_signature, resolve
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.learning.networks import BUILTIN_MODULES, build_network
from zoo_core.learning.value_distribution import ScalarValue, TDInputs
from zoo_core.learning.value_learning import huber_loss, huber_loss_grad, q_learning, td_error_grad

# --------------------------------------------------------------------------- pure gradients


def test_huber_loss_grad_hand_computed():
    x = torch.tensor([0.5, 2.0, -3.0, 1.0, -1.0, 0.0])
    grad = torch.tensor([1.0, 1.0, 2.0, 1.0, 1.0, 3.0])
    # |x| < 1: grad * x; beyond: grad * delta * sign(x)
    assert torch.equal(huber_loss_grad(x, grad, 1.0), torch.tensor([0.5, 1.0, -2.0, 1.0, -1.0, 0.0]))
    got = huber_loss_grad(torch.tensor([3.0, 1.5]), torch.tensor([0.5, 2.0]), 2.0)
    assert torch.equal(got, torch.tensor([1.0, 3.0]))  # 0.5 * 2 * sign(3); 2 * 1.5


def test_td_error_grad_hand_computed():
    # td = target - q_tm1[a_tm1]: d td / d q_tm1 is -1 at the action taken
    got = td_error_grad(torch.tensor([1.0, 2.0, -3.0]), torch.tensor([1, 0, 0]), 2)
    assert torch.equal(got, torch.tensor([[0.0, -1.0], [-2.0, 0.0], [3.0, 0.0]]))


def test_pure_gradients_are_autograds_bits():
    g = torch.Generator().manual_seed(0)
    q_tm1 = (torch.randn(37, 3, generator=g) * 2).requires_grad_(True)
    a_tm1 = torch.randint(0, 3, (37,), generator=g)
    r_t, discount_t = torch.randn(37, generator=g), torch.rand(37, generator=g)
    q_t = torch.randn(37, 3, generator=g) * 2
    weights = torch.rand(37, generator=g)
    for delta in (1.0, 0.3):
        td = q_learning(q_tm1, a_tm1, r_t, discount_t, q_t)
        (expected,) = torch.autograd.grad((huber_loss(td, delta) * weights).mean(), q_tm1)
        grad_loss = torch.full((37,), 1.0 / 37) * weights
        got = td_error_grad(huber_loss_grad(td.detach(), grad_loss, delta), a_tm1, 3)
        assert torch.equal(got, expected)


@pytest.mark.parametrize("double_q", [False, True])
def test_scalar_value_loss_and_grad_matches_autograd(double_q):
    g = torch.Generator().manual_seed(1)
    value = ScalarValue(1.0)
    out_tm1 = (torch.randn(16, 2, 1, generator=g) * 3).requires_grad_(True)
    out_t, selector = torch.randn(16, 2, 1, generator=g) * 3, torch.randn(16, 2, 1, generator=g)
    a_tm1, r_t = torch.randint(0, 2, (16,), generator=g), torch.randn(16, generator=g)
    discount_t = torch.rand(16, generator=g)
    sel = selector if double_q else None
    loss_b, priority = value.loss(out_tm1, a_tm1, r_t, discount_t, out_t, sel)
    (expected,) = torch.autograd.grad(loss_b.mean(), out_tm1)
    with torch.no_grad():
        got_loss, got_priority, got = scalar_loss_and_grad(
            value, TDInputs(out_tm1.detach(), a_tm1, r_t, discount_t, out_t, sel), torch.full((16,), 1 / 16)
        )
    assert torch.equal(got_loss, loss_b.detach()) and torch.equal(got_priority, priority)
    assert got.shape == (16, 2, 1) and torch.equal(got, expected)


# --------------------------------------------------------------------------- plain networks


def _network(hidden=(32, 32), atoms=1, linear="linear", modules=BUILTIN_MODULES, seed=0):
    torch.manual_seed(seed)
    spec = NetworkSpec(obs_shape=(4,), num_actions=3, torso="mlp", torso_args={"hidden": list(hidden)},
                       num_atoms=atoms, linear=linear)
    return build_network(spec, modules)


@pytest.mark.parametrize("hidden", [(32, 32), (7,), ()])
@pytest.mark.parametrize("atoms", [1, 5])
def test_plain_network_forward_and_backward_are_autograds_bits(hidden, atoms):
    net = _network(hidden, atoms)
    plan = PlainNetwork.of(net)
    assert plan is not None and plan.valid(training=True)
    obs = torch.randn(64, 4, generator=torch.Generator().manual_seed(2))
    weights = torch.randn(64, 3, atoms, generator=torch.Generator().manual_seed(3))
    out = net(obs)
    (out * weights).sum().backward()
    saved: list[torch.Tensor] = []
    with torch.no_grad():
        got = plan.forward(obs, saved)
        grads = plan.backward(weights, saved)
    assert torch.equal(got, out.detach())
    assert len(grads) == len(list(net.parameters()))
    assert all(torch.equal(p.grad, q) for p, q in zip(net.parameters(), grads, strict=True))


class ScaledLinear(nn.Linear):
    """A plugin-like layer: a Linear subclass the plan must not treat as plain."""

    def forward(self, x):
        return super().forward(x) * 2


def test_plain_network_refuses_other_blocks():
    modules = {**BUILTIN_MODULES, "linear": {**BUILTIN_MODULES["linear"], "scaled": lambda i, o: ScaledLinear(i, o)}}
    assert PlainNetwork.of(_network(linear="scaled", modules=modules)) is None
    net = _network()
    net.head.out = ScaledLinear(32, 3)  # a block swapped after the plan was built is caught too
    assert PlainNetwork.of(net) is None


def test_plain_network_falls_back_when_hooks_or_parameters_change():
    net = _network()
    plan = PlainNetwork.of(net)
    handle = net.torso.register_forward_hook(lambda module, inputs, output: output)
    assert not plan.valid()
    handle.remove()
    assert plan.valid(training=True)
    handle = net.head.out.weight.register_hook(lambda grad: grad * 2)
    assert plan.valid() and not plan.valid(training=True)  # acting is unaffected, learning is
    handle.remove()
    net.torso.body[0].weight.requires_grad_(False)
    assert not plan.valid(training=True)
    net.torso.body[0].weight.requires_grad_(True)
    net.head.out.bias = nn.Parameter(torch.zeros(3))
    assert not plan.valid()
    plan = PlainNetwork.of(_network())
    handle = torch.nn.modules.module.register_module_forward_hook(lambda module, inputs, output: None)
    try:
        assert not plan.valid() and PlainNetwork.of(_network()) is None
    finally:
        handle.remove()
    assert plan.valid()


# --------------------------------------------------------------------------- the agent's update


def _agent(overrides=(), plain=True, steps=300):
    fast = [] if plain else ["fast_learner=false"]
    setup = resolve("dqn", "CartPole-v1", list(TINY) + ["learning_starts=100000"] + list(overrides) + fast)
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    env = setup.make_env(training=True)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(steps):  # fill replay with a fixed random policy
        action = np.array([rng.integers(2)])
        next_obs, reward, term, trunc, _ = env.step(int(action[0]))

        class Step:
            pass

        step = Step()
        step.reward, step.terminated, step.truncated = (np.array([reward], np.float32), np.array([term]),
                                                        np.array([trunc]))
        step.next_obs = next_obs[None]
        agent.observe(obs[None], action, step)
        obs = env.reset()[0] if term or trunc else next_obs
    return agent


def _state(agent):
    optim = agent.optimizer.state_dict()["state"]
    return ([p.detach().clone() for p in agent.network.parameters()] + [p.clone() for p in agent.target.parameters()]
            + [torch.as_tensor(v).clone() for s in optim.values() for v in s.values()])


class Unfused:
    """A value distribution without a fused loss: the plain path backpropagates through ``loss``."""

    def __init__(self):
        self.inner = ScalarValue(1.0)
        self.num_atoms = 1

    def q_values(self, out):
        return self.inner.q_values(out)

    def loss(self, *args):
        return self.inner.loss(*args)


@pytest.mark.parametrize("overrides", [
    (), ("double_q=false",), ("max_grad_norm=0.05",), ("loss_reduction=sum", "batch_size=13"), ("max_grad_norm=0",),
])
@pytest.mark.parametrize("unfused", [False, True])
def test_fast_update_matches_the_general_path_bit_for_bit(overrides, unfused):
    overrides = ("target_update_interval=7",) + overrides
    fast, general = _agent(overrides), _agent(overrides, plain=False)
    assert fast.learner.plain is not None and type(general.learner).__name__ == "AutogradLearner"
    if unfused:
        fast.value = Unfused()
    for _ in range(30):
        fast.update()
        general.update()
    assert all(torch.equal(a, b) for a, b in zip(_state(fast), _state(general), strict=True))
    assert torch.equal(fast.last_loss, general.last_loss)
    # what outlives the update is an ordinary tensor (no inference tensor escapes)
    assert not fast.last_loss.is_inference() and not any(p.grad.is_inference() for p in fast.params)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(fast.params, general.params, strict=True))


def test_fast_update_with_importance_weights_matches_the_general_path():
    agents = [_agent(("double_q=true",)), _agent(("double_q=true",), plain=False)]
    for agent in agents:
        agent.replay.prioritized = True
        sample = agent.replay.sample

        def weighted(batch_size, rng, sample=sample):
            batch = sample(batch_size, rng)
            batch.weights = (0.5 + (batch.indices % 7) / 10).astype(np.float32)
            return batch

        agent.replay.sample = weighted
    for _ in range(20):
        for agent in agents:
            agent.update()
    assert all(torch.equal(a, b) for a, b in zip(_state(agents[0]), _state(agents[1]), strict=True))


def test_fast_update_raises_on_a_non_finite_loss_before_stepping():
    agent = _agent()
    agent.update()
    before = [p.detach().clone() for p in agent.network.parameters()]
    sample = agent.replay.sample

    def poisoned(batch_size, rng):
        batch = sample(batch_size, rng)
        batch.r_t = np.full_like(batch.r_t, np.nan)
        return batch

    agent.replay.sample = poisoned
    with pytest.raises(NonFiniteError):
        agent.update()
    assert all(torch.equal(p, q) for p, q in zip(agent.network.parameters(), before, strict=True))


def test_fast_acting_matches_the_modules():
    agent = _agent(steps=10)
    obs = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = agent.network(torch.from_numpy(obs))[..., 0].numpy()
    assert np.array_equal(agent.q_values(obs), expected)
    assert agent.act(obs[0]) == int(expected[0].argmax())


def test_epsilon_greedy_single_env_path_draws_what_the_batched_path_draws():
    from zoo_core.learning.exploration import EpsilonGreedy

    policy = EpsilonGreedy(3, 1.0, 0.0, 40)
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    q = np.array([[0.1, 0.5, 0.2]])
    for step in range(60):
        eps = policy.epsilon(step)  # the batched path, written out for one env
        explore, random_actions = theirs.random(1) < eps, theirs.integers(0, 3, size=1)
        expected = random_actions if explore.all() else np.where(explore, random_actions, q.argmax(axis=-1))
        got = policy.actions(lambda: q, step, ours, 1)
        assert got.dtype == expected.dtype and got.tolist() == expected.tolist()
    assert ours.bit_generator.state == theirs.bit_generator.state


# --------------------------------------------------------------------------- optimiser and clipping


def _params(seed=0):
    torch.manual_seed(seed)
    return [nn.Parameter(torch.randn(*shape)) for shape in ((8, 3), (8,), (2, 8), (2,))]


def test_fast_adam_is_torch_fused_adam_and_resumes_exactly():
    ours, theirs, resumed = _params(), _params(), _params()
    fast, ref = FastAdam(ours, lr=1e-2), torch.optim.Adam(theirs, lr=1e-2, fused=True)
    g = torch.Generator().manual_seed(0)
    for step in range(20):
        grads = [torch.randn(p.shape, generator=g) for p in ours]
        for p, q, grad in zip(ours, theirs, grads, strict=True):
            p.grad, q.grad = grad.clone(), grad.clone()
        fast.step()
        ref.step()
        if step == 9:  # a checkpoint: copy weights and optimiser state into a fresh pair
            with torch.no_grad():
                for p, q in zip(resumed, ours, strict=True):
                    p.copy_(q)
            saved = fast.state_dict()
            other = FastAdam(resumed, lr=1e-2)
            state = {i: {k: v.clone() for k, v in s.items()} for i, s in saved["state"].items()}
            other.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        elif step > 9:
            for p, grad in zip(resumed, grads, strict=True):
                p.grad = grad.clone()
            other.step()
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs, strict=True))
    assert all(torch.equal(p, q) for p, q in zip(ours, resumed, strict=True))
    state, ref_state = fast.state_dict()["state"], ref.state_dict()["state"]
    assert all(torch.equal(state[i][k], ref_state[i][k]) for i in ref_state for k in ref_state[i])
    assert float(state[0]["step"]) == 20.0


@pytest.mark.parametrize("scale", [1e-3, 1.0, 100.0])
def test_clip_grad_norm_is_torch_clip_grad_norm(scale):
    ours, theirs = _params(1), _params(1)
    g = torch.Generator().manual_seed(1)
    for p, q in zip(ours, theirs, strict=True):
        p.grad = torch.randn(p.shape, generator=g) * scale
        q.grad = p.grad.clone()
    norm = clip_grad_norm(ours, 10.0)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 10.0, foreach=True)
    assert torch.equal(norm, expected)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(ours, theirs, strict=True))


def test_plain_learner_needs_both_networks_plain():
    net, other = _network(), _network(linear="scaled", modules={
        **BUILTIN_MODULES, "linear": {"scaled": lambda i, o: ScaledLinear(i, o)}})
    assert PlainLearner.of(net, other) is None and PlainLearner.of(net, _network()) is not None
