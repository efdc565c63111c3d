"""zoo-noisy: the noise by hand, the layer's forward and gradients, and the plugin in an agent."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn
from zoo_noisy import NoisyGreedy, NoisyLinear, factorise, factorised_noise, signed_sqrt

import zoo_core
from zoo_core.fast.plain import PlainNetwork
from zoo_core.learning.networks import LinearHead

TINY = ["train_freq=1", "gradient_steps=1", "learning_starts=100", "buffer_size=2000", "batch_size=16",
        "hidden=32,32", "run.eval_every=0", "run.eval_episodes=2", "run.checkpoint_every=0"]


# --- noise --------------------------------------------------------------------------------------


def test_signed_sqrt_hand_computed():
    x = torch.tensor([-4.0, -0.25, 0.0, 1.0, 9.0])
    assert torch.equal(signed_sqrt(x), torch.tensor([-2.0, -0.5, 0.0, 1.0, 3.0]))


def test_factorise_hand_computed():
    eps_w, eps_b = factorise(torch.tensor([4.0, -1.0, 0.25]), torch.tensor([9.0, -4.0]))
    # f(eps_in) = [2, -1, 0.5], f(eps_out) = [3, -2]
    assert torch.equal(eps_w, torch.tensor([[6.0, -3.0, 1.5], [-4.0, 2.0, -1.0]]))
    assert torch.equal(eps_b, torch.tensor([3.0, -2.0]))


def test_factorised_noise_shapes_and_factorisation():
    eps_w, eps_b = factorised_noise(5, 3, torch.Generator().manual_seed(7))
    assert eps_w.shape == (3, 5) and eps_b.shape == (3,)
    # The same draws, in the documented order: eps_in [p] first, then eps_out [q].
    gen = torch.Generator().manual_seed(7)
    eps_in, eps_out = torch.randn(5, generator=gen), torch.randn(3, generator=gen)
    assert torch.equal(eps_w, torch.outer(signed_sqrt(eps_out), signed_sqrt(eps_in)))
    assert torch.equal(eps_b, signed_sqrt(eps_out))
    assert int(torch.linalg.matrix_rank(eps_w)) == 1


def test_factorised_noise_uses_the_global_generator_by_default():
    torch.manual_seed(3)
    first = factorised_noise(4, 2)
    torch.manual_seed(3)
    second = factorised_noise(4, 2)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


# --- layer --------------------------------------------------------------------------------------


def test_initialisation_follows_the_paper():
    torch.manual_seed(0)
    layer = NoisyLinear(16, 3, sigma0=0.5)  # sigma = 0.5 / sqrt(16) = 0.125 exactly
    assert torch.equal(layer.weight_sigma, torch.full((3, 16), 0.125))
    assert torch.equal(layer.bias_sigma, torch.full((3,), 0.125))
    for mu in (layer.weight_mu, layer.bias_mu):  # U[-1/sqrt(16), 1/sqrt(16)] = U[-0.25, 0.25]
        assert float(mu.detach().abs().max()) <= 0.25 and float(mu.detach().std()) > 0
    assert [name for name, _ in layer.named_parameters()] == ["weight_mu", "weight_sigma", "bias_mu", "bias_sigma"]
    assert list(layer.buffers()) == []


def test_zero_sigma_equals_nn_linear_with_the_same_mu():
    torch.manual_seed(0)
    layer = NoisyLinear(6, 4)
    with torch.no_grad():
        layer.weight_sigma.zero_()
        layer.bias_sigma.zero_()
    plain = nn.Linear(6, 4)
    with torch.no_grad():
        plain.weight.copy_(layer.weight_mu)
        plain.bias.copy_(layer.bias_mu)
    x = torch.randn(5, 6)
    assert torch.equal(layer(x), plain(x))


def test_forward_hand_computed():
    layer = NoisyLinear(2, 1)
    with torch.no_grad():
        layer.weight_mu.copy_(torch.tensor([[1.0, -1.0]]))
        layer.weight_sigma.copy_(torch.tensor([[0.5, 0.25]]))
        layer.bias_mu.fill_(2.0)
        layer.bias_sigma.fill_(1.0)
    torch.manual_seed(11)
    y = layer(torch.tensor([[4.0, 8.0]]))
    torch.manual_seed(11)
    eps_in, eps_out = signed_sqrt(torch.randn(2)), signed_sqrt(torch.randn(1))
    # W = mu + sigma * eps_out eps_in^T; y = W x + mu_b + sigma_b eps_out
    w0 = 1.0 + 0.5 * float(eps_out[0] * eps_in[0])
    w1 = -1.0 + 0.25 * float(eps_out[0] * eps_in[1])
    expected = 4.0 * w0 + 8.0 * w1 + 2.0 + float(eps_out[0])
    assert float(y.detach()) == pytest.approx(expected, rel=1e-6)


def test_training_forwards_resample_and_eval_uses_the_mean():
    torch.manual_seed(0)
    layer = NoisyLinear(8, 3)
    x = torch.randn(4, 8)
    assert not torch.equal(layer(x), layer(x))
    layer.eval()
    rng_before = torch.get_rng_state()
    y1, y2 = layer(x), layer(x)
    assert torch.equal(y1, y2) and torch.equal(y1, F.linear(x, layer.weight_mu, layer.bias_mu))
    assert torch.equal(torch.get_rng_state(), rng_before)  # evaluation draws no noise


def test_gradients_reach_mu_and_sigma():
    torch.manual_seed(0)
    layer = NoisyLinear(5, 2)
    layer(torch.randn(3, 5)).pow(2).sum().backward()
    for p in layer.parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="sigma0"):
        NoisyLinear(3, 2, sigma0=-1.0)
    with pytest.raises(ValueError, match="positive"):
        NoisyLinear(0, 2)


@pytest.mark.parametrize("atoms", [1, 51])
def test_heads_with_noisy_layers_for_scalar_and_distributional_values(atoms):
    head = LinearHead(8, 3, atoms, NoisyLinear)
    assert head(torch.randn(2, 8)).shape == (2, 3, atoms)
    dueling = pytest.importorskip("zoo_dueling")
    streams = dueling.DuelingHead(8, 3, atoms, NoisyLinear, hidden=4)
    assert streams(torch.randn(2, 8)).shape == (2, 3, atoms)
    assert sum(isinstance(m, NoisyLinear) for m in streams.modules()) == 4


# --- exploration --------------------------------------------------------------------------------


def test_exploration_is_greedy_and_draws_nothing():
    policy = NoisyGreedy(3)
    rng = np.random.default_rng(0)
    before = rng.bit_generator.state
    actions = policy.actions(lambda: np.array([[0.0, 2.0, 1.0], [5.0, -1.0, 0.0]]), 10, rng, 2)
    assert actions.tolist() == [1, 0] and actions.dtype == np.int64
    assert rng.bit_generator.state == before
    assert policy.epsilon(0) == 0.0 and policy.epsilon(10**6) == 0.0


# --- in an agent --------------------------------------------------------------------------------


def test_noisy_dqn_trains(tmp_path):
    result = zoo_core.train("dqn+noisy", "CartPole-v1", 400, seed=0, out=tmp_path / "r", overrides=TINY)
    agent = result.agent
    assert agent.spec.linear == "noisy" and agent.spec.claims["linear"] == "noisy"
    assert agent.spec.linear_args == {"sigma0": 0.5}
    for net in (agent.network, agent.target):
        assert not any(type(m) is nn.Linear for m in net.modules())
        assert sum(isinstance(m, NoisyLinear) for m in net.modules()) == 3
    # The fast path is only for plain blocks: a noisy network takes the autograd path.
    assert PlainNetwork.of(agent.network) is None and agent.learner.plain is None
    assert isinstance(agent.exploration, NoisyGreedy)
    assert agent.metrics()["epsilon"] == 0.0 and agent.exploration.epsilon(0) == 0.0
    assert agent.updates == 301
    for layer in (m for m in agent.network.modules() if isinstance(m, NoisyLinear)):
        init = 0.5 / math.sqrt(layer.in_features)
        assert not torch.equal(layer.weight_sigma, torch.full_like(layer.weight_sigma, init))
    # Acting draws fresh noise every time.
    obs = np.zeros((1, 4), dtype=np.float32)
    assert not np.array_equal(agent.q_values(obs), agent.q_values(obs))
    assert np.isfinite(result.final.summary["mean"])


def test_sigma0_option_and_dueling_composition():
    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("dqn+noisy+dueling", "CartPole-v1", ["hidden=8", "dueling.hidden=4", "noisy.sigma0=0.2"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    head = agent.network.head
    assert agent.spec.head == "dueling" and agent.spec.linear == "noisy"
    for stream in (head.value, head.advantage):
        assert isinstance(stream[0], NoisyLinear) and isinstance(stream[2], NoisyLinear)
    first = agent.network.torso.body[0]  # p = 4: sigma = 0.2 / 2
    assert isinstance(first, NoisyLinear) and torch.allclose(first.weight_sigma, torch.tensor(0.1))
    assert agent.q_values(np.zeros((2, 4), dtype=np.float32)).shape == (2, 2)


def test_resume_is_exact(tmp_path):
    settings = TINY + ["run.checkpoint_every=200", "run.keep_checkpoints=5"]
    zoo_core.train("dqn+noisy", "CartPole-v1", 400, seed=0, out=tmp_path / "a", overrides=settings)
    zoo_core.train("dqn+noisy", "CartPole-v1", 200, seed=0, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=400)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000400/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000400/model.safetensors"))
    assert sorted(a) == sorted(b) and any("weight_sigma" in k for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_composes_with_dueling_and_c51(tmp_path):
    pytest.importorskip("zoo_dueling")
    pytest.importorskip("zoo_c51")
    result = zoo_core.train("dqn+noisy+dueling+c51", "CartPole-v1", 200, seed=0, out=tmp_path / "r",
                            overrides=TINY + ["run.eval_episodes=1"])
    agent = result.agent
    atoms = agent.spec.num_atoms
    assert atoms > 1 and agent.updates == 101 and np.isfinite(float(agent.last_loss))
    assert isinstance(agent.network.head.advantage, NoisyLinear)
    assert agent.network.head.advantage.out_features == 2 * atoms


def test_actor_critic_agents_are_refused_and_sigma0_must_be_a_scale():
    from zoo_core.errors import ZooError
    from zoo_core.host.session import resolve

    # NoisyGreedy replaces ε-greedy, which only the value-based agents explore with.
    with pytest.raises(ZooError, match=r"plugin 'noisy' does not fit algorithm 'impala' \(it fits: dqn, r2d2\)"):
        resolve("impala+noisy", "CartPole-v1")
    with pytest.raises(ZooError, match="noisy.sigma0 must be >= 0; got -0.5"):
        resolve("dqn+noisy", "CartPole-v1", ["noisy.sigma0=-0.5"])
