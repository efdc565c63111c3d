"""The impala recipe end to end: actor processes, policy lag, exact resume, solving CartPole."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_impala.actor import ActorSpec, make_actor, sample_actions

import zoo_core
from zoo_core.errors import ZooError

# Small and fast: 2 actors x 2 envs x 10 steps, 2 unrolls per update = 40 env steps per update.
SMALL = [
    "impala.num_actors=2", "impala.envs_per_actor=2", "impala.unroll_length=10", "impala.batch_size=2",
    "impala.hidden=16,16", "run.eval_every=0", "run.eval_episodes=2", "run.log_every=40",
]


def _weights(run, step):
    return load_file(str(run / f"checkpoints/step_{step:012d}/model.safetensors"))


def test_training_is_deterministic_and_resumes_exactly(tmp_path):
    settings = SMALL + ["run.checkpoint_every=400", "run.keep_checkpoints=5"]
    zoo_core.train("impala", "CartPole-v1", 800, seed=3, out=tmp_path / "a", overrides=settings)
    zoo_core.train("impala", "CartPole-v1", 400, seed=3, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=800)
    a, b = _weights(tmp_path / "a", 800), _weights(tmp_path / "b", 800)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # And the run moved: the weights at 400 differ from those at 800.
    mid = _weights(tmp_path / "a", 400)
    assert not all(torch.equal(a[k], mid[k]) for k in a)
    rows_a = list(csv.DictReader(open(tmp_path / "a/progress.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b/progress.csv")))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]  # noqa: E731
    assert strip(rows_a) == strip(rows_b)


def test_policy_lag_is_logged_and_follows_the_schedule(tmp_path):
    # 4 actors, 2 unrolls per update: an actor refreshed at update u is consumed again at u + 2.
    settings = SMALL + ["impala.num_actors=4", "run.checkpoint_every=0"]
    zoo_core.train("impala", "CartPole-v1", 400, seed=0, out=tmp_path / "r", overrides=settings)
    rows = list(csv.DictReader(open(tmp_path / "r/progress.csv")))
    assert [float(r["policy_lag"]) for r in rows][-3:] == [2.0, 2.0, 2.0]
    assert float(rows[0]["policy_lag"]) == 0.0  # update 1: unrolls made on the initial parameters
    assert all(np.isfinite(float(r["entropy"])) for r in rows)


def test_unrolls_carry_what_the_learner_needs():
    setup = zoo_core.host.session.resolve("impala", "CartPole-v1", SMALL)
    from zoo_core.host.session import build_agent, env_signature

    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    spec = ActorSpec("impala", ("CartPole-v1",), setup.config.to_json(), agent.spec.to_json(), 0, 2, 50, 0.9)
    actor = make_actor(spec, index=1)
    unroll = actor.unroll(agent.parameters_for_actors(), version=7)
    assert unroll.obs.shape == (51, 2, 4) and unroll.first.shape == (51, 2)
    assert unroll.a_tm1.shape == (50, 2) and unroll.mu_logits.shape == (50, 2, 2)
    assert unroll.version == 7 and unroll.actor == 1 and unroll.first[0].all()
    # The behaviour logits are the network's at the recorded observations.
    with torch.no_grad():
        logits, *_ = agent.network(torch.as_tensor(unroll.obs[:-1]), torch.zeros(50, 2), ())
    np.testing.assert_allclose(unroll.mu_logits, logits.numpy(), rtol=1e-6, atol=1e-6)
    # CartPole ends only by termination within 50 steps: discount 0 exactly there, and the next
    # observation starts an episode.
    ended = unroll.discount_t == 0
    assert ended.any()
    np.testing.assert_array_equal(ended, unroll.first[1:])
    np.testing.assert_allclose(unroll.discount_t[~ended], 0.9)
    assert [e[0] for e in unroll.episodes] and all(e[0] in (2, 3) for e in unroll.episodes)
    # The next unroll starts where this one stopped.
    again = actor.unroll(agent.parameters_for_actors(), version=8)
    np.testing.assert_array_equal(again.obs[0], unroll.obs[-1])
    np.testing.assert_array_equal(again.first[0], unroll.first[-1])


def test_actor_state_round_trips_exactly():
    setup = zoo_core.host.session.resolve("impala", "CartPole-v1", SMALL)
    from zoo_core.host.session import build_agent, env_signature

    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    spec = ActorSpec("impala", ("CartPole-v1",), setup.config.to_json(), agent.spec.to_json(), 0, 2, 30, 0.99)
    params = agent.parameters_for_actors()
    a = make_actor(spec, 0)
    a.unroll(params, 0)
    saved = a.get_state()
    expected = a.unroll(params, 1)
    b = make_actor(spec, 0)
    b.set_state(saved)
    got = b.unroll(params, 1)
    for name in ("obs", "first", "a_tm1", "r_t", "discount_t", "mu_logits"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


def test_sample_actions_follows_the_softmax():
    rng = np.random.Generator(np.random.PCG64(0))
    logits = np.log(np.array([[0.7, 0.2, 0.1]] * 20_000))
    counts = np.bincount(sample_actions(logits, rng), minlength=3) / 20_000
    np.testing.assert_allclose(counts, [0.7, 0.2, 0.1], atol=0.01)


def test_a_checkpoint_for_other_actors_is_refused(tmp_path):
    zoo_core.train("impala", "CartPole-v1", 80, seed=0, out=tmp_path / "r", overrides=SMALL)
    from zoo_impala.loop import ActorLearnerLoop

    from zoo_core.host.session import build_agent, resolve
    from zoo_core.running.checkpoint import latest_checkpoint, load_checkpoint
    from zoo_core.running.loops import LoopState  # noqa: F401

    tensors, docs = load_checkpoint(latest_checkpoint(tmp_path / "r/checkpoints"))
    setup = resolve("impala", "CartPole-v1", SMALL + ["impala.num_actors=3"])
    agent = build_agent(setup, docs["config"]["signature"], 0)
    loop_tensors = {k[5:]: v for k, v in tensors["train_state"].items() if k.startswith("loop.")}
    with pytest.raises(ZooError, match="checkpoint has 2 actors; this run has impala.num_actors=3"):
        ActorLearnerLoop(agent, setup, 0, (loop_tensors, docs["train_state"]["env"]))


def test_impala_solves_cartpole(tmp_path):
    # The recipe's classic-control defaults; training stops at the first evaluation >= 475.
    result = zoo_core.train(
        "impala", "CartPole-v1", 300_000, seed=0, out=tmp_path / "run",
        overrides=["run.target_return=475", "run.checkpoint_every=0"],
    )
    assert result.best_eval_mean >= 475, result.evaluations


def test_multi_task_actors_play_their_own_games_and_log_per_task_returns(tmp_path):
    tasks = "MinAtar/Breakout-v1,MinAtar/Freeway-v1"
    settings = [
        "impala.num_actors=2", "impala.envs_per_actor=2", "impala.unroll_length=10", "impala.batch_size=2",
        f"impala.tasks={tasks}", "run.obs_channels=10", "run.eval_every=0", "run.eval_episodes=1",
        "run.log_every=40", "run.checkpoint_every=0", "popart.beta=0.1",
    ]
    zoo_core.train("impala+popart", "MinAtar/Breakout-v1", 3000, seed=0, out=tmp_path / "r", overrides=settings)
    rows = list(csv.DictReader(open(tmp_path / "r/progress.csv")))
    assert "return@MinAtar/Breakout-v1" in rows[-1] and "return@MinAtar/Freeway-v1" in rows[-1]
    # Freeway episodes last 2500 steps, so only Breakout's actor (0) has finished games by now.
    assert float(rows[-1]["return@MinAtar/Breakout-v1"]) >= 0
    assert rows[-1]["return@MinAtar/Freeway-v1"] == "nan"
    weights = _weights(tmp_path / "r", 3000)
    # One value output and one set of PopArt statistics per task; each moved on its own targets.
    mu = weights["value.mu"]
    assert mu.shape == (2,) and bool((mu != 0).all()) and mu[0] != mu[1]


def test_more_tasks_than_actors_is_refused(tmp_path):
    with pytest.raises(ZooError, match="3 tasks need at least as many actors"):
        zoo_core.train("impala", "MinAtar/Breakout-v1", 100, out=tmp_path / "r", overrides=[
            "impala.tasks=MinAtar/Breakout-v1,MinAtar/Freeway-v1,MinAtar/Asterix-v1", "run.obs_channels=10",
        ])


@pytest.mark.parametrize("core", ["none", "gru"])
def test_export_traces_the_greedy_policy_unless_it_has_memory(tmp_path, core):
    from zoo_core.publishing.agent_folder import export_agent

    zoo_core.train("impala", "CartPole-v1", 80, seed=0, out=tmp_path / "r",
                   overrides=SMALL + [f"impala.recurrent={core}"])
    folder = export_agent(tmp_path / "r", tmp_path / "agent", which="latest", episodes=2, video=False)
    agent = zoo_core.load(folder)
    if core == "gru":
        assert not (folder / "agent.pt").exists()
        assert agent.act.recurrent  # evaluation carries one state per episode
        return
    traced = torch.jit.load(str(folder / "agent.pt"))  # our own file, written just above
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(traced(torch.as_tensor(obs)).numpy(), agent.act(obs))


def test_the_learner_keeps_every_tensor_on_its_device_and_actors_get_host_arrays():
    """Unrolls from a CPU actor, learned on another device (torch's ``meta``, which refuses any CPU
    tensor mixed with its own, as a GPU would): the loss and every gradient end up there, and the
    parameters sent to actors are host arrays whatever the learner's device."""
    from zoo_impala.unroll import stack

    from zoo_core.host.session import build_agent, env_signature

    setup = zoo_core.host.session.resolve("impala", "CartPole-v1", SMALL)
    signature = env_signature(setup.make_env(training=True))
    host = build_agent(setup, signature, seed=0)
    spec = ActorSpec("impala", ("CartPole-v1",), setup.config.to_json(), host.spec.to_json(), 0, 2, 10, 0.9)
    actor = make_actor(spec, index=0)
    unrolls = [actor.unroll(host.parameters_for_actors(), version=0) for _ in range(2)]
    meta = torch.device("meta")
    agent = build_agent(setup, signature, seed=0, device=meta)
    assert agent.device == meta and {p.device for p in agent.network.parameters()} == {meta}
    loss, _ = agent.loss(stack(unrolls, meta))
    assert loss.total.device == meta
    loss.total.backward()
    assert all(p.grad is not None and p.grad.device == meta for p in agent.network.parameters())
    arrays = host.parameters_for_actors()
    assert arrays.keys() == agent.network.state_dict().keys()
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
