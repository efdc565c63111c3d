"""``run.device``: how it resolves, that it reaches the learner, and that checkpoints are device-free.

No GPU is needed: the learner's path is checked on torch's ``meta`` device, which refuses any CPU
tensor left in a computation with a device's, as a GPU would.
"""

from __future__ import annotations

import pytest
import torch
from conftest import TINY, assert_one_line_error, run_zoo
from safetensors.torch import load_file

import zoo_core
from zoo_core.errors import ZooError
from zoo_core.fast.learner import FusedLearner
from zoo_core.host import session
from zoo_core.host.session import build_agent, env_signature, resolve
from zoo_core.learning.devices import resolve_device, to_device, to_host
from zoo_core.learning.learner import AutogradLearner, TensorBatch
from zoo_core.running.loops import StepLoop

META = torch.device("meta")
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")


def test_auto_is_cuda_only_where_torch_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ZooError, match="run.device=cuda, but torch .* sees no CUDA device"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda") == resolve_device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ZooError, match="run.device must be one of auto, cpu, cuda"):
        resolve_device("tpu")


def test_host_arrays_move_without_a_copy_on_the_cpu():
    array = torch.arange(6.0).numpy()
    tensor = to_device(array, torch.device("cpu"))
    assert tensor.data_ptr() == array.ctypes.data  # a view, as torch.from_numpy
    assert to_device(array, META).device == META
    assert to_host(tensor) is not None and to_host(tensor).tolist() == array.tolist()


@NO_CUDA
@pytest.mark.parametrize("recipe", ["dqn", "impala", "alphazero"])
def test_cuda_without_a_gpu_is_one_line_and_leaves_no_run(recipe, tmp_path):
    env = "Game/TicTacToe-v0" if recipe == "alphazero" else "CartPole-v1"
    out = tmp_path / "r"
    proc = run_zoo("train", recipe, "--env", env, "--steps", "100", "--out", str(out), "--no-progress",
                   "--set", "run.device=cuda", cwd=tmp_path)
    assert_one_line_error(proc, "run.device=cuda", "sees no CUDA device")
    assert not out.exists()


def test_run_device_reaches_the_builder(monkeypatch):
    asked = []
    monkeypatch.setattr(session, "resolve_device", lambda name: asked.append(name) or torch.device("cpu"))
    setup = resolve("dqn", "CartPole-v1", TINY + ["run.device=cpu"])
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    assert asked == ["cpu"] and agent.device == torch.device("cpu")
    assert isinstance(agent.learner, FusedLearner)  # the CPU keeps the fused learner


def test_a3c_refuses_cuda(monkeypatch):
    monkeypatch.setattr(session, "resolve_device", lambda name: torch.device("cpu"))  # as if there were a GPU
    setup = resolve("a3c", "CartPole-v1", ["run.device=cuda"])
    with pytest.raises(ZooError, match="a3c runs on the CPU"):
        build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)


@pytest.mark.parametrize("recipe", ["dqn", "dqn+c51+dueling+noisy+per", "r2d2", "r2d2+c51"])
def test_the_dqn_familys_learner_keeps_every_tensor_on_its_device(recipe):
    """A batch sampled on the host and learned on another device: the loss and every gradient end up
    there, so no part of the loss (the C51 support, a recurrent core's zeros, n-step indices) stayed
    on the CPU. The fused learner is a CPU path: elsewhere the agent trains through autograd."""
    env = "POMDP/CartPole-v1" if recipe.startswith("r2d2") else "CartPole-v1"
    settings = TINY + ["run.num_envs=2", "n_step=2"] + (["burn_in=2", "learn_length=4", "overlap=2"]
                                                        if "r2d2" in recipe else [])
    setup = resolve(recipe, env, settings)
    signature = env_signature(setup.make_env(training=True))
    host = build_agent(setup, signature, seed=0)
    for _ in StepLoop(host, setup, seed=0).turns(until=300):  # fills the host agent's replay
        pass
    agent = build_agent(setup, signature, seed=0, device=META)
    assert type(agent.learner) is AutogradLearner
    assert {p.device for p in [*agent.network.parameters(), *agent.target.parameters()]} == {META}
    batch = host.replay.sample(agent.cfg.batch_size, host.rng)
    if recipe.startswith("r2d2"):
        loss, priority = agent.loss(batch)
        agent.learner.zero_grad()
        loss.backward()
    else:
        loss, priority = agent._autograd_grads(batch, TensorBatch.of(batch, host.replay.prioritized, META))
    assert loss.device == META and priority.device == META
    assert all(p.grad is not None and p.grad.device == META for p in agent.network.parameters())


def test_a_run_made_with_cuda_loads_and_resumes_on_the_cpu(tmp_path, monkeypatch):
    # Train "on a GPU" (run.device=cuda in the run's config, the learner on the CPU), then leave the GPU.
    settings = TINY + ["run.checkpoint_every=200", "run.keep_checkpoints=5"]
    with monkeypatch.context() as m:
        m.setattr(session, "resolve_device", lambda name: torch.device("cpu"))
        zoo_core.train("dqn", "CartPole-v1", 200, seed=1, out=tmp_path / "gpu",
                       overrides=[*settings, "run.device=cuda"])
    zoo_core.train("dqn", "CartPole-v1", 400, seed=1, out=tmp_path / "cpu", overrides=[*settings, "run.device=cpu"])
    agent = zoo_core.load(tmp_path / "gpu")  # loading for acting is always on the CPU
    obs, _ = agent.setup.make_env(training=False).reset(seed=0)
    assert agent.device == torch.device("cpu") and isinstance(agent.act(obs), int)
    if not torch.cuda.is_available():
        with pytest.raises(ZooError, match="sees no CUDA device"):
            zoo_core.resume(tmp_path / "gpu", steps=400)
    zoo_core.resume(tmp_path / "gpu", steps=400, device="cpu")
    a = load_file(str(tmp_path / "gpu/checkpoints/step_000000000400/model.safetensors"))
    b = load_file(str(tmp_path / "cpu/checkpoints/step_000000000400/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)  # the device is not part of what is learned
