"""The plugin host: per-agent managers, hooks changing agents, roles, failures, autoload."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY, assert_one_line_error, run_zoo

from zoo_core import hookimpl
from zoo_core.errors import PluginError
from zoo_core.host.manager import AUTOLOAD_ENV, build_catalog, catalog_manager, make_manager, plugin_statuses
from zoo_core.host.session import build_agent, env_signature, resolve
from zoo_core.learning.replay import UniformReplay


def _agent(recipe: str = "dqn", extra=(), overrides=()):
    setup = resolve(recipe, "CartPole-v1", list(TINY) + list(overrides), extra)
    env = setup.make_env(training=True)
    return build_agent(setup, env_signature(env), seed=0)


class Narrow:
    """An in-process plugin: one hook that edits the network specification."""

    name = "narrow"

    @hookimpl
    def zoo_network_spec(self, spec, config):
        spec.claim("torso_args", {"hidden": [5, 7]}, self.name)


class AlwaysLeft:
    """An in-process plugin filling the exploration role: always action 0."""

    name = "always_left"

    @hookimpl
    def zoo_exploration(self, config, num_actions):
        class Policy:
            def actions(self, q_fn, step, rng, num_envs):
                return np.zeros(num_envs, dtype=np.int64)

        return Policy()


def test_in_process_plugin_changes_the_network():
    plain = _agent()
    narrowed = _agent(extra=[Narrow()])
    assert [m.out_features for m in plain.network.torso.body if hasattr(m, "out_features")] == [32, 32]
    assert [m.out_features for m in narrowed.network.torso.body if hasattr(m, "out_features")] == [5, 7]
    assert narrowed.spec.claims == {"torso_args": "narrow"}


def test_in_process_plugin_changes_acting():
    agent = _agent(extra=[AlwaysLeft()])
    obs = np.zeros((3, 4), dtype=np.float32)
    assert agent.explore(obs).tolist() == [0, 0, 0]
    # the default ε-greedy at ε=1 picks both actions
    default = _agent()
    picks = {int(a) for _ in range(50) for a in default.explore(obs)}
    assert picks == {0, 1}


def test_two_plugins_claiming_a_role_fail_naming_both():
    class ReplayA:
        name = "replay_a"

        @hookimpl
        def zoo_make_replay(self, config, capacity, obs_shape, obs_dtype, num_envs, frame_stack):
            return UniformReplay(capacity, obs_shape, obs_dtype, num_envs=num_envs)

    class ReplayB(ReplayA):
        name = "replay_b"

    with pytest.raises(PluginError, match="'replay_a' and 'replay_b' both provide the replay buffer"):
        _agent(extra=[ReplayA(), ReplayB()])


def test_two_plugins_editing_one_network_field_fail_naming_both():
    class Other(Narrow):
        name = "other"

    with pytest.raises(PluginError, match="'narrow' and 'other' both change the network's torso_args"):
        _agent(extra=[Narrow(), Other()])


def test_unknown_hook_fails_check_pending():
    class Typo:
        name = "typo"

        @hookimpl
        def zoo_network_specs(self, spec):  # not a hook
            pass

    with pytest.raises(PluginError, match="zoo_network_specs"):
        make_manager(extra=[Typo()])


def test_installed_plugin_loads_only_for_agents_that_name_it(fake_site):
    plain = _agent("dqn")
    widened = _agent("dqn+widen")
    assert plain.network.torso.body[0].out_features == 32
    assert widened.network.torso.body[0].out_features == 17
    assert widened.spec.claims["torso_args"] == "widen"


def test_recipe_from_a_plugin(fake_site):
    assert "tinydqn" in build_catalog(catalog_manager()).recipes
    agent = _agent("tinydqn", overrides=["batch_size=8"])
    assert agent.cfg.batch_size == 8
    assert agent.network.torso.body[0].out_features == 17  # the recipe's plugin list was loaded


def test_broken_plugin_is_reported_not_fatal(fake_site):
    rows = {row.name: row for row in plugin_statuses()}
    assert rows["broken"].status == "failed"
    assert "nonexistent_dep" in rows["broken"].error
    assert rows["widen"].status == "loaded" and rows["widen"].version == "0.0.1"
    assert rows["core"].status == "loaded"
    # the catalog still works without it
    assert "dqn" in build_catalog(catalog_manager()).recipes


def test_agent_needing_a_broken_plugin_names_it(fake_site):
    with pytest.raises(PluginError, match=r"plugin 'broken' failed to load .*nonexistent_dep.*pip install"):
        _agent("dqn+broken")


def test_missing_plugin_error_says_how_to_install():
    with pytest.raises(PluginError, match=r"plugin 'nosuch' is not installed; install it with: pip install zoo-nosuch"):
        _agent("dqn+nosuch")


def test_cli_plugins_lists_failed_plugin(fake_site):
    proc = run_zoo("plugins")
    assert proc.returncode == 0, proc.stderr
    assert "broken" in proc.stdout and "failed" in proc.stdout
    assert "widen" in proc.stdout and "loaded" in proc.stdout


def test_cli_train_with_broken_plugin_is_one_line(fake_site, tmp_path):
    proc = run_zoo("train", "dqn+broken", "--env", "CartPole-v1", "--steps", "10", "--out", str(tmp_path / "r"))
    assert_one_line_error(proc, "plugin 'broken' failed to load", "pip install")


def test_autoload_can_be_disabled(fake_site, monkeypatch):
    monkeypatch.setenv(AUTOLOAD_ENV, "1")
    rows = {row.name: row for row in plugin_statuses()}
    assert rows["widen"].status == "disabled" and rows["broken"].status == "disabled"
    assert "tinydqn" not in build_catalog(catalog_manager()).recipes
    # a plugin named explicitly still loads
    assert _agent("dqn+widen").network.torso.body[0].out_features == 17
