"""zoo-popart inside IMPALA: the value-head contract, the network spec, actors, checkpoints and
exact resume of ``impala+popart``, frozen statistics reproducing plain IMPALA, rewards x1024
reproducing x1 once the initial statistics scale too, and the refusal of ``dqn+popart``."""

from __future__ import annotations

import csv

import pytest
import torch
from safetensors.torch import load_file
from zoo_popart import PopArt
from zoo_popart.layer import popart_value
from zoo_popart.plugin import PopArtConfig, zoo_network_spec

import zoo_core
from zoo_core.api import NetworkSpec
from zoo_core.errors import ZooError
from zoo_core.host.session import build_agent, env_signature, resolve

# Small and fast (as zoo-impala's own tests): 2 actors x 2 envs x 10 steps, 2 unrolls per update
# = 40 env steps per update.
SMALL = [
    "impala.num_actors=2", "impala.envs_per_actor=2", "impala.unroll_length=10", "impala.batch_size=2",
    "impala.hidden=16,16", "run.eval_every=0", "run.eval_episodes=2", "run.log_every=40",
]


def _agent(recipe: str, overrides: list[str]):
    setup = resolve(recipe, "CartPole-v1", overrides)
    return setup, build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)


def _weights(run, step):
    return load_file(str(run / f"checkpoints/step_{step:012d}/model.safetensors"))


def _progress(run):
    rows = list(csv.DictReader(open(run / "progress.csv")))
    return [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]


# --- the value-head contract (zoo_core.learning.networks) ------------------------------------------------


def test_popart_value_factory_fits_the_value_head_contract():
    head = popart_value(8, 2, beta=0.5, min_sigma=1e-3)
    assert isinstance(head, PopArt) and head.beta == 0.5 and head.min_sigma == 1e-3
    x = torch.randn(5, 3, 8)  # [T, B, F]
    normalized, unnormalized = head(x)
    assert normalized.shape == unnormalized.shape == (5, 3, 2)
    with torch.no_grad():
        head.mu.copy_(torch.tensor([1.0, -2.0]))
        head.nu.copy_(torch.tensor([5.0, 13.0]))  # sigma = sqrt(5 - 1) = 2, sqrt(13 - 4) = 3
    # (3 - 1) / 2 = 1, (4 + 2) / 3 = 2; (-1 - 1) / 2 = -1, (-2 + 2) / 3 = 0
    targets = torch.tensor([[[3.0, 4.0], [-1.0, -2.0]]])  # [1, 2, K=2]
    torch.testing.assert_close(head.normalize(targets), torch.tensor([[[1.0, 2.0], [-1.0, 0.0]]]))
    normalized, unnormalized = head(x)
    torch.testing.assert_close(head.normalize(unnormalized), normalized, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[\.\.\., 2\]"):
        head.normalize(torch.zeros(4, 3))
    # update_stats(targets [N], task [N]): only task 1 has rows, so output 0 keeps its statistics.
    head.update_stats(torch.tensor([10.0, 20.0]), torch.tensor([1, 1]))
    torch.testing.assert_close(head.mu, torch.tensor([1.0, 0.5 * -2.0 + 0.5 * 15.0]))
    torch.testing.assert_close(head.nu, torch.tensor([5.0, 0.5 * 13.0 + 0.5 * 250.0]))


def test_impala_popart_network_has_the_head_and_keeps_true_values_through_update_stats():
    setup, agent = _agent("impala+popart", SMALL + ["popart.beta=0.5", "popart.min_sigma=0.01"])
    assert agent.spec.head_args == {"value": "popart", "num_tasks": 1, "beta": 0.5, "min_sigma": 0.01}
    head = agent.network.value
    assert isinstance(head, PopArt) and head.beta == 0.5 and head.min_sigma == 0.01
    obs, first = torch.randn(6, 4, 4), torch.zeros(6, 4)  # [T, B, obs]
    with torch.no_grad():
        _, v_norm, v, _ = agent.network(obs, first, ())
        # Returns a thousand times the untrained values' scale, as V-trace gives them: [N], task [N].
        head.update_stats(1000 * (1 + torch.rand(24)), torch.zeros(24, dtype=torch.int64))
        _, v_norm_after, v_after, _ = agent.network(obs, first, ())
    assert float(head.mu[0]) > 500 and float(head.sigma[0]) > 100
    # POP keeps the true-scale values to float32 rounding at the statistics' scale (|mu| + sigma).
    torch.testing.assert_close(v_after, v, rtol=0, atol=1e-5 * float(head.mu[0] + head.sigma[0]))
    assert not torch.allclose(v_norm_after, v_norm)  # the head now works on the new scale
    torch.testing.assert_close(head.normalize(v_after), v_norm_after, rtol=1e-4, atol=1e-4)


def test_popart_keeps_the_algorithms_number_of_tasks():
    _, agent = _agent("impala+popart", SMALL + ["impala.tasks=CartPole-v1,CartPole-v0"])
    assert agent.spec.head_args["num_tasks"] == 2
    assert agent.network.value.mu.shape == (2,)


def test_actors_get_the_statistics_and_bootstrap_with_true_values():
    from zoo_impala.actor import ActorSpec, make_actor

    setup, agent = _agent("impala+popart", SMALL + ["popart.beta=0.5"])
    agent.network.value.update_stats(300 + torch.arange(8.0), torch.zeros(8, dtype=torch.int64))
    spec = ActorSpec("impala+popart", ("CartPole-v1",), setup.config.to_json(), agent.spec.to_json(), 0, 2, 20, 0.99)
    actor = make_actor(spec, index=0)
    actor.unroll(agent.parameters_for_actors(), version=1)
    mine, theirs = agent.network.state_dict(), actor.net.state_dict()
    assert set(theirs) == set(mine) and {"value.mu", "value.nu"} <= set(theirs)
    assert all(torch.equal(mine[k], theirs[k]) for k in mine)
    obs = torch.randn(1, 3, 4)
    with torch.no_grad():
        _, _, v_learner, _ = agent.network(obs, torch.zeros(1, 3), ())
        _, v_norm_actor, v_actor, _ = actor.net(obs, torch.zeros(1, 3), ())
    torch.testing.assert_close(v_actor, v_learner, rtol=0, atol=0)
    # The value the actor folds into a time-limit's reward is the true-scale one: POP kept it near
    # the untrained head's (about 0), while the normalised output sits near (0 - mu) / sigma = -1.
    assert float((v_actor - v_norm_actor).abs().min()) > 0.5


# --- training -----------------------------------------------------------------------------------


def _learn_in_process(recipe: str, overrides: list[str], updates: int, seed: int = 0):
    """``updates`` learner steps on unrolls from two in-process actors (the loop's round robin,
    without its processes): the learner's arithmetic end to end, in a second."""
    from zoo_impala.actor import ActorSpec, make_actor

    setup = resolve(recipe, "CartPole-v1", SMALL + overrides)
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=seed)
    cfg = setup.config["impala"]
    spec = ActorSpec(recipe, ("CartPole-v1",), setup.config.to_json(), agent.spec.to_json(), seed,
                     cfg.envs_per_actor, cfg.unroll_length, cfg.gamma)
    actors = [make_actor(spec, i) for i in range(cfg.num_actors)]
    losses = []
    for update in range(updates):
        params = agent.parameters_for_actors()
        agent.learn([actors[(update * cfg.batch_size + j) % len(actors)].unroll(params, agent.updates)
                     for j in range(cfg.batch_size)])
        losses.append(agent.last)
    return agent, losses


def test_frozen_statistics_learn_exactly_as_plain_impala():
    # beta 0 keeps mu = 0, sigma = 1: normalising is then the identity, so every update, sampled
    # action and weight must be plain IMPALA's, bit for bit.
    plain, plain_losses = _learn_in_process("impala", [], updates=6)
    popart, popart_losses = _learn_in_process("impala+popart", ["popart.beta=0"], updates=6)
    a, b = plain.network.state_dict(), popart.network.state_dict()
    assert set(b) - set(a) == {"value.mu", "value.nu"}
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert float(b["value.mu"][0]) == 0.0 and float(b["value.nu"][0]) == 1.0
    assert plain_losses == popart_losses


def test_rewards_times_1024_learn_bit_identically_once_the_initial_statistics_scale_too(monkeypatch):
    # Everything else in impala+popart is scale-equivariant: V-trace is linear in rewards and
    # values, the loss sees (vs - mu) / sigma and advantages / sigma, and ART/POP commute with
    # scaling. Only the initial statistics (mu 0, sigma 1) are in absolute units. Start sigma at
    # 1024 for rewards x1024 (a power of two, so scaling is exact in floating point) and the run
    # is the x1 run, bit for bit, with mu x1024 and nu x1024**2.
    x1, x1_losses = _learn_in_process("impala+popart", ["popart.beta=0.1"], updates=6)

    import zoo_popart.plugin

    def scaled_value(in_features: int, num_outputs: int = 1, **args) -> PopArt:
        head = popart_value(in_features, num_outputs, **args)
        head.nu.fill_(1024.0**2)
        return head

    monkeypatch.setattr(zoo_popart.plugin, "popart_value", scaled_value)
    x1024, x1024_losses = _learn_in_process("impala+popart", ["popart.beta=0.1", "run.reward_scale=1024"], updates=6)
    a, b = x1.network.state_dict(), x1024.network.state_dict()
    assert float(a["value.mu"][0]) > 1  # the statistics did move
    torch.testing.assert_close(b.pop("value.mu"), 1024 * a.pop("value.mu"), rtol=0, atol=0)
    torch.testing.assert_close(b.pop("value.nu"), 1024**2 * a.pop("value.nu"), rtol=0, atol=0)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert x1_losses == x1024_losses
    # With the default start (sigma 1 at both scales) the first update already differs.
    monkeypatch.undo()
    default, default_losses = _learn_in_process("impala+popart", ["popart.beta=0.1", "run.reward_scale=1024"],
                                                updates=1)
    assert default_losses[0] != x1_losses[0]


def test_impala_popart_trains_moves_its_statistics_and_resumes_exactly(tmp_path):
    # Through zoo_core.train: actor processes, checkpoints, resume (one actor: process start-up
    # is most of this test's time).
    settings = SMALL + ["impala.num_actors=1", "popart.beta=0.1", "run.checkpoint_every=200",
                        "run.keep_checkpoints=5"]
    zoo_core.train("impala+popart", "CartPole-v1", 400, seed=3, out=tmp_path / "a", overrides=settings)
    zoo_core.train("impala+popart", "CartPole-v1", 200, seed=3, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=400)
    a, b = _weights(tmp_path / "a", 400), _weights(tmp_path / "b", 400)
    assert set(a) == set(b) and {"value.mu", "value.nu"} <= set(a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _progress(tmp_path / "a") == _progress(tmp_path / "b")
    # The statistics moved from (0, 1) towards CartPole's returns (about 10 per episode early on)
    # and kept moving between the two checkpoints.
    mid = _weights(tmp_path / "a", 200)
    mu, nu = float(a["value.mu"][0]), float(a["value.nu"][0])
    assert mu > 2 and nu - mu * mu > 2, (mu, nu)
    assert float(mid["value.mu"][0]) != mu and float(mid["value.nu"][0]) != nu


def test_dqn_and_a3c_with_popart_are_refused():
    for algorithm in ("dqn", "a3c"):
        refusal = rf"plugin 'popart' does not fit algorithm '{algorithm}' \(it fits: impala\)"
        with pytest.raises(ZooError, match=refusal):
            resolve(f"{algorithm}+popart", "CartPole-v1")
    # The spec edit still guards a Q-network, for algorithms zoo_fits' list cannot foresee (a third party's).
    spec = NetworkSpec(obs_shape=(4,), num_actions=2)
    with pytest.raises(ZooError, match="popart is wired into actor-critic value heads only.*'linear' head"):
        zoo_network_spec(spec=spec, config={"popart": PopArtConfig()})
