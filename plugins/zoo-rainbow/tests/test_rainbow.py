"""Rainbow as a composition: every subset of its plugins builds and trains; conflicts are named;
a composed agent's checkpoint resumes exactly."""

from __future__ import annotations

import itertools

import pytest
import torch
from safetensors.torch import load_file

import zoo_core
from zoo_core import hookimpl
from zoo_core.errors import PluginError
from zoo_core.host.manager import installed_plugins

PLUGINS = ("dueling", "per", "noisy", "c51")
SMALL = [
    "hidden=32,32", "batch_size=16", "buffer_size=2000", "learning_starts=100", "train_freq=1",
    "gradient_steps=1", "target_update_interval=50", "eps_decay_steps=500", "run.eval_every=0",
    "run.eval_episodes=2", "run.log_every=100", "run.checkpoint_every=0",
]
SUBSETS = [combo for k in range(len(PLUGINS) + 1) for combo in itertools.combinations(PLUGINS, k)]


@pytest.mark.parametrize("combo", SUBSETS, ids=lambda c: "+".join(c) or "none")
def test_every_subset_builds_and_trains(combo, tmp_path):
    recipe = "+".join(("dqn", *combo))
    sets = list(SMALL) + (["c51.v_min=0", "c51.v_max=100"] if "c51" in combo else [])
    result = zoo_core.train(recipe, "CartPole-v1", 300, seed=0, out=tmp_path / "r", overrides=sets)
    agent = result.agent
    assert agent.updates == 201
    assert all(torch.isfinite(p).all() for p in agent.network.parameters())
    assert (agent.spec.head == "dueling") == ("dueling" in combo)
    assert (agent.spec.linear == "noisy") == ("noisy" in combo)
    assert (agent.spec.num_atoms == 51) == ("c51" in combo)
    assert (type(agent.replay).__name__ == "PrioritizedReplay") == ("per" in combo)


def test_rainbow_recipe_composes_all_four():
    from zoo_core.host.session import resolve

    setup = resolve("rainbow", "CartPole-v1")
    assert setup.plugins == PLUGINS
    assert setup.config["dqn"].n_step == 3 and setup.config["dqn"].double_q
    assert setup.config["c51"].v_max == 100.0
    minatar = resolve("rainbow", "MinAtar/Breakout-v1")
    # One update per frame at the MinAtar DQN's rate (the recipe's note says why).
    assert (minatar.config["dqn"].lr, minatar.config["dqn"].train_freq) == (2.5e-4, 1)
    # MinAtar pays 1 per event, like clipped Atari: the Atari support.
    assert (minatar.config["c51"].v_min, minatar.config["c51"].v_max) == (-10.0, 10.0)
    # Breakout's own layer sets Adam's ε over the family's; SpaceInvaders keeps Dopamine's.
    assert minatar.config["dqn"].adam_eps == 1e-8
    assert resolve("rainbow", "MinAtar/SpaceInvaders-v1").config["dqn"].adam_eps == 3.125e-4
    ablated = resolve("rainbow-noisy", "CartPole-v1")
    assert ablated.plugins == ("dueling", "per", "c51")


def test_missing_plugin_is_named(monkeypatch):
    import zoo_core.host.manager as plugins

    eps = {k: v for k, v in installed_plugins().items() if k != "noisy"}
    monkeypatch.setattr(plugins, "installed_plugins", lambda: eps)
    with pytest.raises(PluginError, match=r"plugin 'noisy' is not installed; install it with: pip install"):
        zoo_core.train("rainbow", "CartPole-v1", 10, out="/nonexistent-never-written")


class OtherReplay:
    name = "other_replay"

    @hookimpl
    def zoo_make_replay(self, config, capacity, obs_shape, obs_dtype, num_envs, frame_stack):
        from zoo_core.learning.replay import UniformReplay

        return UniformReplay(capacity, obs_shape, obs_dtype, num_envs=num_envs)


class OtherValue:
    name = "other_value"

    @hookimpl
    def zoo_value_distribution(self, config, num_actions):
        from zoo_core.learning.value_distribution import ScalarValue

        return ScalarValue()


@pytest.mark.parametrize(("plugin", "claimed", "role"), [
    (OtherReplay(), "per", "replay buffer"), (OtherValue(), "c51", "value distribution")])
def test_two_plugins_claiming_one_role_fail_naming_both(plugin, claimed, role, tmp_path):
    first, second = sorted([claimed, plugin.name])
    with pytest.raises(PluginError, match=f"'{first}' and '{second}' both provide the {role}"):
        zoo_core.train(f"dqn+{claimed}", "CartPole-v1", 10, out=tmp_path / "r", overrides=SMALL, plugins=[plugin])


def test_composed_checkpoint_resumes_exactly(tmp_path):
    sets = SMALL + ["run.checkpoint_every=200", "run.keep_checkpoints=5", "c51.v_min=0", "c51.v_max=100"]
    zoo_core.train("rainbow", "CartPole-v1", 400, seed=2, out=tmp_path / "a", overrides=sets)
    zoo_core.train("rainbow", "CartPole-v1", 200, seed=2, out=tmp_path / "b", overrides=sets)
    zoo_core.resume(tmp_path / "b", steps=400)
    for name in ("model", "train_state"):
        a = load_file(str(tmp_path / f"a/checkpoints/step_000000000400/{name}.safetensors"))
        b = load_file(str(tmp_path / f"b/checkpoints/step_000000000400/{name}.safetensors"))
        assert a.keys() == b.keys()
        assert any(k.startswith("replay.per_") for k in a) or name == "model"
        assert all(torch.equal(a[k], b[k]) for k in a), name
