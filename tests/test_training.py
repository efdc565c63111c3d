"""The training loop on every env family, vectorised envs, interruption, early stopping."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from conftest import TINY
from safetensors.torch import load_file

import zoo_core
from zoo_core import hookimpl
from zoo_core.errors import ZooError
from zoo_core.running import checkpoint as ckpt
from zoo_core.running.loops import StepLoop


def test_step_loop_is_a_generator_of_vector_steps(tmp_path):
    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("dqn", "CartPole-v1", TINY + ["run.num_envs=2"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    turns = list(StepLoop(agent, setup, seed=0).turns(until=300))
    assert len(turns) == 150 and agent.env_steps == 300 and agent.vec_steps == 150
    assert sum(t.updated for t in turns) == 101  # from env step 100 (vec step 50) on, one per vec step
    assert len(agent.replay) >= 300


def test_step_loop_refuses_a_remote_backend():
    from zoo_core.host.session import build_agent, env_signature, resolve

    setup = resolve("dqn", "CartPole-v1", TINY + ["run.backend=ray"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    with pytest.raises(ZooError, match="needs an actor-learner algorithm"):
        StepLoop(agent, setup, seed=0)


def test_vectorised_training_resumes_exactly(tmp_path):
    settings = TINY + ["run.num_envs=2", "run.checkpoint_every=200", "run.keep_checkpoints=5"]
    zoo_core.train("dqn", "CartPole-v1", 400, seed=1, out=tmp_path / "a", overrides=settings)
    zoo_core.train("dqn", "CartPole-v1", 200, seed=1, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=400)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000400/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000400/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_minatar_trains_with_the_minatar_cnn(tmp_path):
    result = zoo_core.train("dqn", "MinAtar/Breakout-v1", 300, seed=0, out=tmp_path / "m",
                            overrides=TINY + ["buffer_size=1000"])
    agent = result.agent
    assert agent.spec.torso == "minatar_cnn" and agent.spec.obs_shape == (4, 10, 10)
    assert agent.updates == 201 and np.isfinite(result.final.summary["mean"])


def test_atari_trains_with_the_nature_cnn(tmp_path):
    result = zoo_core.train("dqn", "ALE/Pong-v5", 200, seed=0, out=tmp_path / "p",
                            overrides=TINY + ["buffer_size=1000", "run.eval_episodes=1"] +
                            ["train_freq=4", "run.eval_every=0"] + ["learning_starts=100"])
    agent = result.agent
    assert agent.spec.torso == "nature_cnn" and agent.spec.obs_shape == (4, 84, 84)
    assert agent.cfg.lr == 6.25e-5  # the Atari family's defaults apply
    assert agent.updates == 26  # vec steps 100, 104, ..., 200
    assert agent.replay.nbytes < 1.1 * 84 * 84 * 1000


class InterruptAt:
    name = "interrupt_at"

    @hookimpl
    def zoo_on_log(self, agent, step, metrics):
        if step == 300:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does; the trainer defers it to the turn's end


def test_ctrl_c_saves_a_checkpoint_first(tmp_path):
    with pytest.raises(KeyboardInterrupt, match="checkpoint saved at .*step_000000000300"):
        zoo_core.train("dqn", "CartPole-v1", 1000, seed=0, out=tmp_path / "r", overrides=TINY,
                       plugins=[InterruptAt()])
    assert ckpt.latest_checkpoint(tmp_path / "r" / "checkpoints").name == "step_000000000300"
    assert zoo_core.resume(tmp_path / "r", steps=400).agent.env_steps == 400


def test_target_return_stops_early(tmp_path):
    result = zoo_core.train("dqn", "CartPole-v1", 5000, seed=0, out=tmp_path / "r",
                            overrides=TINY + ["run.eval_every=100", "run.target_return=9"])
    assert result.agent.env_steps == 100  # any policy lasts at least 9 steps on CartPole
    assert result.evaluations[0]["eval_mean"] >= 9


def test_the_learning_rate_anneals_with_env_steps_and_resumes_exactly(tmp_path):
    settings = TINY + ["lr=1e-3", "lr_end=1e-4", "lr_decay_steps=400", "run.checkpoint_every=200",
                       "run.keep_checkpoints=5"]
    straight = zoo_core.train("dqn", "CartPole-v1", 400, seed=1, out=tmp_path / "a", overrides=settings)
    # The last burst ran at env step 400: lr = 1e-3 + (1e-4 - 1e-3) * 400 / 400.
    assert straight.agent.learner.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    zoo_core.train("dqn", "CartPole-v1", 200, seed=1, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=400)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000400/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000400/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    zoo_core.train("dqn", "CartPole-v1", 400, seed=1, out=tmp_path / "c", overrides=settings[:-5])
    c = load_file(str(tmp_path / "c/checkpoints/step_000000000400/model.safetensors"))
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the schedule changed the updates
