"""A3C: the loss and shared optimisers by hand, then worker processes on shared parameters.

Starting a worker process costs seconds (each imports torch), so the process tests are few and
each checks several things.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
import os
import signal

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_impala.a3c import A3CLoop, crossed
from zoo_impala.a3c_loss import a3c_loss
from zoo_impala.a3c_optim import adam_step_, rmsprop_step_
from zoo_impala.actor import Actor, ActorSpec

import zoo_core
from zoo_core.errors import ZooError
from zoo_core.host.session import build_agent, env_signature, resolve
from zoo_core.running.checkpoint import latest_checkpoint, load_checkpoint

# Small and fast: 2 workers x 2 envs x 10 steps = 20 env steps per applied gradient.
SMALL = [
    "a3c.num_workers=2", "a3c.envs_per_worker=2", "a3c.unroll_length=10", "a3c.hidden=16,16",
    "run.eval_every=0", "run.eval_episodes=2", "run.log_every=40",
]


def _agent(overrides: list[str], seed: int = 0):
    setup = resolve("a3c", "CartPole-v1", overrides)
    return setup, build_agent(setup, env_signature(setup.make_env(training=True)), seed)


def _no_workers_left() -> bool:
    return not [p for p in multiprocessing.active_children() if p.name.startswith("zoo-a3c")]


# --- pure functions ---------------------------------------------------------------------------------


def test_a3c_loss_is_the_n_step_advantage_actor_critic_by_hand():
    # T = 3, B = 1, an episode end after step 1: R_2 = r_2 + g V_boot; R_1 = r_1 (cut); R_0 = r_0 + g R_1.
    g = 0.9
    r = torch.tensor([[1.0], [2.0], [3.0]])
    discount = torch.tensor([[g], [0.0], [g]])
    v = torch.tensor([[0.5], [1.0], [-1.0]], requires_grad=True)
    boot = torch.tensor([4.0])
    logits = torch.log(torch.tensor([[[0.25, 0.75]], [[0.5, 0.5]], [[0.9, 0.1]]])).requires_grad_(True)
    a = torch.tensor([[1], [0], [0]])
    returns = [1.0 + g * 2.0, 2.0, 3.0 + g * 4.0]
    out = a3c_loss(logits, v, boot, a, r, discount, baseline_cost=0.5, entropy_cost=0.1)
    adv = [R - float(x) for R, x in zip(returns, v.detach().flatten(), strict=True)]
    pi_a = [0.75, 0.5, 0.9]
    assert out.vs is not None
    torch.testing.assert_close(out.vs.flatten(), torch.tensor(returns))
    assert out.policy.item() == pytest.approx(-sum(d * math.log(p) for d, p in zip(adv, pi_a, strict=True)))
    assert out.baseline.item() == pytest.approx(0.5 * sum(d * d for d in adv))
    out.total.backward()
    torch.testing.assert_close(v.grad.flatten(), -0.5 * torch.tensor(adv))  # d/dV of .5·.5·(R − V)²


def test_shared_optimiser_steps_are_torch_optims_arithmetic():
    torch.manual_seed(0)
    grads = [[torch.randn(3, 2), torch.randn(2)] for _ in range(4)]
    for kind in ("rmsprop", "adam"):
        ours = [torch.randn(3, 2, generator=torch.Generator().manual_seed(1)), torch.ones(2)]
        theirs = [torch.nn.Parameter(t.clone()) for t in ours]
        if kind == "rmsprop":
            opt = torch.optim.RMSprop(theirs, lr=0.01, alpha=0.9, eps=0.01)
            square_avg = [torch.zeros_like(t) for t in ours]
        else:
            opt = torch.optim.Adam(theirs, lr=0.01, betas=(0.8, 0.99), eps=1e-6)
            m, v = [torch.zeros_like(t) for t in ours], [torch.zeros_like(t) for t in ours]
        for step, gs in enumerate(grads, start=1):
            for p, gr in zip(theirs, gs, strict=True):
                p.grad = gr.clone()
            opt.step()
            if kind == "rmsprop":
                rmsprop_step_(ours, gs, square_avg, lr=0.01, alpha=0.9, eps=0.01)
            else:
                adam_step_(ours, gs, m, v, step=step, lr=0.01, betas=(0.8, 0.99), eps=1e-6)
        for p, q in zip(ours, theirs, strict=True):
            torch.testing.assert_close(p, q.detach(), rtol=1e-6, atol=1e-7)


def test_the_loop_parks_workers_where_the_trainer_evaluates_or_checkpoints():
    assert crossed(1000, 1040, 980) and crossed(1000, 2000, 1999)
    assert not crossed(1000, 1999, 1000) and not crossed(0, 5000, 0)


def test_recipes_that_a3c_cannot_train_are_refused():
    with pytest.raises(ZooError, match="plugin 'popart' does not fit algorithm 'a3c'"):
        resolve("a3c+popart", "CartPole-v1")
    setup, agent = _agent(SMALL + ["run.backend=ray"])
    with pytest.raises(ZooError, match="run as local processes"):
        A3CLoop(agent, setup, 0)


# --- worker processes -------------------------------------------------------------------------------


def test_training_checkpoints_and_resumes_from_the_shared_state(tmp_path):
    settings = SMALL + ["run.checkpoint_every=300", "run.keep_checkpoints=5"]
    run = tmp_path / "run"
    zoo_core.train("a3c", "CartPole-v1", 600, seed=0, out=run, overrides=settings)
    assert _no_workers_left()
    ckpt = latest_checkpoint(run / "checkpoints")
    assert len(list((run / "checkpoints").iterdir())) >= 2  # one at the 300-step boundary, one at the end
    tensors, docs = load_checkpoint(ckpt)
    meta = docs["train_state"]
    # Both workers' gradients reached the shared parameters, which moved from their seeded start.
    assert meta["env_steps"] >= 600 and meta["updates"] == sum(meta["env"]["updates_by_worker"])
    assert all(n > 0 for n in meta["env"]["updates_by_worker"])
    _, fresh = _agent(settings)
    start = fresh.model_tensors()
    assert any(not torch.equal(start[k], v) for k, v in tensors["model"].items())
    # The staleness of every applied gradient is logged: never negative, and above 0 on average
    # with two workers (each applies while the other's updates land on its snapshot).
    rows = list(csv.DictReader(open(run / "progress.csv")))
    staleness = [float(r["staleness"]) for r in rows if r["staleness"]]
    assert staleness and min(staleness) >= 0 and max(float(r["staleness_max"]) for r in rows) >= 1
    assert np.mean(staleness) > 0

    # A resumed agent holds the checkpoint's numbers, still in shared memory for new workers.
    fresh.load_model(tensors["model"])
    fresh.load_train_state({k: v for k, v in tensors["train_state"].items() if not k.startswith("loop.")}, meta)
    for name, t in fresh.network.state_dict().items():
        assert torch.equal(t, tensors["model"][name]) and t.is_shared()
    for slot, ts in fresh.slots.items():
        for name, t in zip(fresh.param_names, ts, strict=True):
            assert torch.equal(t, tensors["train_state"][f"optim.{slot}.{name}"]) and t.is_shared()
    assert fresh.updates == meta["updates"] and fresh.env_steps == meta["env_steps"]

    # zoo resume continues from there: more updates on top of the saved ones, logs carried on.
    result = zoo_core.resume(run, steps=1200)
    assert _no_workers_left()
    assert result.agent.env_steps >= 1200 and result.agent.updates > meta["updates"]
    last = latest_checkpoint(run / "checkpoints")
    meta2 = load_checkpoint(last)[1]["train_state"]
    assert meta2["updates"] == result.agent.updates == sum(meta2["env"]["updates_by_worker"])
    weights = load_file(str(last / "model.safetensors"))
    assert any(not torch.equal(weights[k], v) for k, v in tensors["model"].items())
    rows = list(csv.DictReader(open(run / "progress.csv")))
    steps = [int(r["env_steps"]) for r in rows]
    assert steps == sorted(steps) and steps[-1] >= 1200 and any(s <= meta["env_steps"] for s in steps)


class FailingActor(Actor):
    """Worker 1's actor raises on its third unroll."""

    calls = 0

    def unroll(self, params, version):
        self.calls += 1
        if self.index == 1 and self.calls == 3:
            raise RuntimeError("the env exploded\nsecond line")
        return super().unroll(params, version)


def make_failing_actor(spec: ActorSpec, index: int) -> Actor:
    return FailingActor(spec, index)


def test_a_failing_worker_stops_the_run_with_one_line_and_no_orphans(tmp_path, monkeypatch):
    import zoo_impala.a3c

    monkeypatch.setattr(zoo_impala.a3c, "make_actor", make_failing_actor)
    with pytest.raises(ZooError) as info:
        zoo_core.train("a3c", "CartPole-v1", 100_000, seed=0, out=tmp_path / "r", overrides=SMALL)
    assert str(info.value) == "a3c worker 1 failed: RuntimeError: the env exploded"
    assert _no_workers_left()


def test_one_worker_has_no_stale_gradients_and_a_killed_worker_is_reported():
    setup, agent = _agent(SMALL + ["a3c.num_workers=1"])
    loop = A3CLoop(agent, setup, seed=0)
    try:
        turns = list(loop.turns(200))
        assert agent.env_steps >= 200 and agent.updates == loop.updates_by_worker[0] >= 10
        assert list(loop.staleness) and set(loop.staleness) == {0}
        assert all(t.metrics["staleness"] == 0 for t in turns if t.metrics)
        os.kill(loop.procs[0].pid, signal.SIGKILL)
        with pytest.raises(ZooError, match=r"a3c worker 0 died \(exit code -9\)"):
            list(loop.turns(10_000))
    finally:
        loop.close()
    assert _no_workers_left()


def test_a3c_agent_exports_its_greedy_policy_like_impala():
    import numpy as np
    import torch

    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("a3c", "CartPole-v1")
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    obs = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    with torch.no_grad():
        traced = agent.greedy_module()(torch.as_tensor(obs)).numpy()
    np.testing.assert_array_equal(traced, agent.act(obs))
