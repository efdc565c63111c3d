"""The optional C++ update (`zoo_core.fast.native`): built on request, bit-identical to the Python path.

The build takes about a minute the first time on this machine (then it is cached under
``ZOO_NATIVE_DIR`` or ``~/.cache/zoo-native``); every other test uses whichever path is present,
which is why the two must agree bit for bit.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import pytest
import torch

from zoo_core.errors import ZooError
from zoo_core.fast import native as native_mod
from zoo_core.fast.plain import PlainLearner
from zoo_core.learning.learner import TensorBatch
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.learning.networks import BUILTIN_MODULES, build_network
from zoo_core.learning.value_distribution import ScalarValue

needs_compiler = pytest.mark.skipif(shutil.which("c++") is None, reason="no C++ compiler on this machine")


@pytest.fixture(scope="module")
def ext():
    native_mod.build()
    module = native_mod.native()
    assert module is not None
    return module


@pytest.fixture
def python_path(monkeypatch):
    """Within the test, learners see no extension (the Python path)."""
    def use(on: bool):
        monkeypatch.setattr(native_mod, "_loaded", native_mod._UNSET if on else None)
    return use


def _learner(hidden, seed=0):
    torch.manual_seed(seed)
    spec = NetworkSpec(obs_shape=(4,), num_actions=3, torso="mlp", torso_args={"hidden": list(hidden)})
    online = build_network(spec, BUILTIN_MODULES)
    target = copy.deepcopy(online).requires_grad_(False)
    with torch.no_grad():  # a target apart from the online network, as after some training
        for p in target.parameters():
            p.add_(torch.randn(p.shape) * 0.1)
    learner = PlainLearner.of(online, target)
    assert learner is not None
    return learner


def _batch(size, weighted, seed=1):
    g = torch.Generator().manual_seed(seed)
    discount = torch.full((size,), 0.99)
    discount[::5] = 0.0  # some terminal transitions
    return TensorBatch(torch.randn(size, 4, generator=g), torch.randint(0, 3, (size,), generator=g),
                       torch.randn(size, generator=g), discount, torch.randn(size, 4, generator=g),
                       torch.rand(size, generator=g) if weighted else None)


@needs_compiler
@pytest.mark.parametrize("hidden", [(32, 32), (7,), (), (16, 16, 16)])
@pytest.mark.parametrize("double_q", [False, True])
@pytest.mark.parametrize("weighted,reduction,size", [(False, "mean", 64), (True, "mean", 32), (False, "sum", 13)])
def test_native_update_is_the_python_path_bit_for_bit(ext, python_path, hidden, double_q, weighted, reduction, size):
    learner, batch, value = _learner(hidden), _batch(size, weighted), ScalarValue(huber_delta=1.0)
    python_path(False)
    loss, priority, grads = learner.grads(value, batch, double_q, reduction)
    python_path(True)
    assert native_mod.native() is ext
    n_loss, n_priority, n_grads = learner.grads(value, batch, double_q, reduction)
    assert torch.equal(loss, n_loss) and torch.equal(priority, n_priority)
    assert len(grads) == len(n_grads) == len(list(learner.online.network.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(grads, n_grads, strict=True))
    # what outlives the update is an ordinary tensor: the clip and the optimiser write to the gradients
    assert not n_loss.is_inference() and not any(g.is_inference() for g in n_grads)
    assert not any(g.requires_grad for g in n_grads)


@needs_compiler
@pytest.mark.parametrize("hidden", [(32, 32), (), (16, 16, 16)])
def test_native_q_values_are_the_python_paths(ext, python_path, hidden):
    from zoo_core.fast.learner import FusedLearner

    learner = _learner(hidden)
    fused = FusedLearner(learner.online.network, learner.target.network, 1e-3, 1e-8)
    for size in (5, 1):  # a batch, and one observation (acting)
        obs = torch.randn(size, 4, generator=torch.Generator().manual_seed(4))
        python_path(False)
        expected = fused.q_values(ScalarValue(), obs)
        python_path(True)
        got = fused.q_values(ScalarValue(), obs)
        assert got.shape == expected.shape == (size, 3) and torch.equal(got, expected)


@needs_compiler
def test_agents_train_the_same_bits_with_and_without_it(ext, python_path):
    from test_speed_parts import _agent, _state

    states = []
    for on in (True, False):
        python_path(on)
        agent = _agent(("target_update_interval=7", "double_q=true"))
        for _ in range(30):
            agent.update()
        states.append(_state(agent) + [torch.as_tensor(agent.explore(_batch(1, False).obs_tm1.numpy()))])
    assert all(torch.equal(a, b) for a, b in zip(*states, strict=True))


def test_zoo_native_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("ZOO_NATIVE", "0")
    monkeypatch.setattr(native_mod, "_loaded", native_mod._UNSET)
    assert native_mod.native() is None
    assert native_mod.status() == "native update: off (ZOO_NATIVE=0)"


def test_nothing_builds_implicitly_and_a_failed_build_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_NATIVE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(native_mod, "_loaded", native_mod._UNSET)
    assert native_mod.native() is None  # not built here: the Python path, no compile
    assert not (tmp_path / "cache").exists()
    assert "not built (zoo native build" in native_mod.status()

    from torch.utils import cpp_extension

    def broken(*args, **kwargs):
        raise RuntimeError("Error building extension 'zoo_native'\nc++: fatal error: no input files")

    monkeypatch.setattr(cpp_extension, "load", broken)
    with pytest.raises(ZooError, match=r"did not build \(Error building extension 'zoo_native'\)") as exc:
        native_mod.build()
    assert "\n" not in str(exc.value)


def test_zoo_native_status_command(monkeypatch, tmp_path):
    env = {"ZOO_NATIVE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "zoo_core.cli.main", "native"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("native update: not built")
    bad = subprocess.run([sys.executable, "-m", "zoo_core.cli.main", "native", "bulid"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


@needs_compiler
def test_a_process_that_looked_before_the_build_finds_it_after(ext, monkeypatch):
    monkeypatch.setattr(native_mod, "_loaded", None)  # it looked while another process was still building
    native_mod.build()  # the library is there: nothing compiles, and the next look finds it
    assert native_mod.native() is ext
