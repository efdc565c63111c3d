"""Custom environments: ``module:EnvId``, ``--gym-packages``, env families of any installed plugin,
what ``zoo envs`` lists, and one-line errors for envs that cannot be built."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import gymnasium as gym
import pytest
from conftest import TINY, assert_one_line_error, make_site, run_zoo, zoo_in_process

from zoo_core.envs.custom import split_env_id, with_gym_packages
from zoo_core.errors import ZooError
from zoo_core.host.session import env_signature, resolve

ENV_MODULE = """
    import gymnasium as gym
    import numpy as np


    class Guess(gym.Env):
        observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self, render_mode=None):
            self.render_mode = render_mode

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self.t = 0
            return np.zeros(3, np.float32), {}

        def step(self, action):
            self.t += 1
            return np.full(3, 0.1 * self.t, np.float32), float(action), False, self.t >= 20, {}


    class Broken(Guess):
        def __init__(self, render_mode=None):
            raise RuntimeError("no licence file found")


    gym.register("{name}Guess-v0", entry_point=Guess)
    gym.register("{name}Broken-v0", entry_point=Broken)
"""


@pytest.fixture
def env_module(tmp_path, monkeypatch, request):
    """A module registering ``<Name>Guess-v0`` and ``<Name>Broken-v0`` (a fresh name per test, so
    gymnasium's registry and sys.modules start without it); both are removed afterwards."""
    name = "".join(part.title() for part in request.node.name.split("_")[1:4])
    module = f"my_envs_{name.lower()}"
    site = tmp_path / "user_code"
    site.mkdir()
    (site / f"{module}.py").write_text(textwrap.dedent(ENV_MODULE).replace("{name}", name))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.chdir(tmp_path)
    yield module, name
    sys.modules.pop(module, None)
    for env_id in (f"{name}Guess-v0", f"{name}Broken-v0"):
        gym.envs.registry.pop(env_id, None)


def _sets(*extra: str) -> list[str]:
    out = []
    for s in [*TINY, "learning_starts=20", "run.eval_episodes=1", *extra]:
        out += ["--set", s]
    return out


def test_split_env_id():
    assert split_env_id("CartPole-v1") == (None, "CartPole-v1")
    assert split_env_id("pkg.envs:My-v0") == ("pkg.envs", "My-v0")
    for bad in (":My-v0", "pkg:", "a:b:c"):
        with pytest.raises(ZooError, match="is not MODULE:ENV_ID"):
            split_env_id(bad)


def test_module_colon_id_trains_and_a_new_process_rebuilds_it(env_module, tmp_path, capsys):
    module, name = env_module
    env_id = f"{module}:{name}Guess-v0"
    run = tmp_path / "run"
    proc = zoo_in_process(capsys, "train", "dqn", "--env", env_id, "--steps", "60", "--out", str(run), *_sets())
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "config.json").read_text())["env_id"] == env_id
    # A fresh process has never imported the module: the recorded id imports it again.
    evaluated = run_zoo("eval", str(run), "--episodes", "1", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.startswith(f"{env_id}: mean")
    # A shared agent folder's files never make the zoo import a module; the user names it.
    agent = tmp_path / "agent"
    proc = zoo_in_process(capsys, "export", str(run), "--out", str(agent), "--which", "latest", "--episodes", "1",
                          "--no-video", "--gym-packages", module)
    assert proc.returncode == 0, proc.stderr
    assert_one_line_error(zoo_in_process(capsys, "eval", str(agent), "--episodes", "1"),
                          f"names the module '{module}'", f"--gym-packages {module}")
    proc = zoo_in_process(capsys, "eval", str(agent), "--episodes", "1", "--gym-packages", module)
    assert proc.returncode == 0 and proc.stdout.startswith(f"{env_id}: mean"), proc.stderr


def test_gym_packages_are_imported_and_recorded_in_the_env_id(env_module, tmp_path, capsys):
    module, name = env_module
    run = tmp_path / "run"
    proc = zoo_in_process(capsys, "train", "dqn", "--gym-packages", module, "--env", f"{name}Guess-v0",
                          "--steps", "60", "--out", str(run), *_sets())
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run / "config.json").read_text())["env_id"] == f"{module}:{name}Guess-v0"
    resumed = run_zoo("resume", str(run), "--steps", "80", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr


def test_with_gym_packages_keeps_ids_it_did_not_register(env_module):
    module, name = env_module
    assert with_gym_packages("CartPole-v1", [module]) == "CartPole-v1"
    assert with_gym_packages(f"{module}:{name}Guess-v0", [module]) == f"{module}:{name}Guess-v0"
    with pytest.raises(ZooError, match="cannot import module 'no_such_module_zoo' \\(from --gym-packages\\)"):
        with_gym_packages("X-v0", ["no_such_module_zoo"])


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ("{module}:{name}Broken-v0", ["its constructor raised RuntimeError: no licence file found"]),
        ("no_such_module_zoo:Guess-v0", ["cannot import module 'no_such_module_zoo'", "ModuleNotFoundError"]),
        ("{name}Guess-v0", ["unknown environment", "--env MODULE:", "--gym-packages MODULE"]),
    ],
)
def test_custom_env_errors_are_one_line(env_module, capsys, tmp_path, env, needles):
    module, name = env_module
    env = env.format(module=module, name=name)
    proc = zoo_in_process(capsys, "train", "dqn", "--env", env, "--steps", "60", "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, *needles)
    assert_one_line_error(zoo_in_process(capsys, "train", "dqn", "--env", env, "--dry-run"), *needles)


ENV_ONLY = """
    import gymnasium as gym
    import numpy as np
    from zoo_core.api import EnvFamily

    class Line(gym.Env):
        observation_space = gym.spaces.Box(0.0, 1.0, (4,), np.float32)
        action_space = gym.spaces.Discrete(3)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(4, np.float32), {}

        def step(self, action):
            return np.zeros(4, np.float32), 0.0, True, False, {}

    def make(env_id, *, training, render_mode=None):
        return Line()

    from zoo_core import hookimpl

    @hookimpl
    def zoo_register_envs(register):
        register(EnvFamily("toys", "Toy/", make, lambda: ["Toy/Line-v0"], "a plugin's own envs"))
"""


def test_a_plugins_env_family_serves_any_recipe(tmp_path, monkeypatch):
    """An installed plugin that only registers envs need not be named in the recipe (dqn+envonly)."""
    import importlib

    site = make_site(tmp_path, {"envonly": ENV_ONLY})
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    try:
        setup = resolve("dqn", "Toy/Line-v0")
        assert setup.plugins == () and setup.family.name == "toys"
        env = setup.make_env(training=True)
        assert env_signature(env)["num_actions"] == 3
    finally:
        sys.modules.pop("fake_zoo_envonly", None)


def test_zoo_envs_lists_only_what_train_accepts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    proc = zoo_in_process(capsys, "envs")
    assert proc.returncode == 0
    assert "CartPole-v1" in proc.stdout and "Acrobot-v1" in proc.stdout
    for refused in ("Pendulum-v1", "MountainCarContinuous-v0", "Blackjack-v1", "FrozenLake-v1", "Taxi-v4"):
        assert refused not in proc.stdout
    assert "mymodule:MyEnv-v0" in proc.stdout


def test_envs_train_refuses_are_one_line(capsys):
    with pytest.raises(ZooError, match="needs array observations"):
        env_signature(gym.make("Blackjack-v1"))
    assert_one_line_error(zoo_in_process(capsys, "train", "dqn", "--env", "Pendulum-v1", "--dry-run"),
                          "needs a discrete action space")
