"""Typed hyperparameters: --set parsing, validation, sections, JSON round trip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from zoo_core.agents.dqn import DQNConfig
from zoo_core.errors import ZooError
from zoo_core.host.config import param, resolve_config
from zoo_core.host.run_config import RunConfig

CLASSES = {"dqn": DQNConfig, "run": RunConfig}


@dataclass(frozen=True)
class PluginCfg:
    alpha: float = param(0.5, "priority exponent")
    mode: Literal["proportional", "rank"] = param("proportional", "variant")
    eps: float | None = param(None, "optional")
    num_envs: int = param(3, "clashes with run.num_envs on purpose")


def test_values_are_parsed_by_field_type():
    cfg = resolve_config(
        CLASSES,
        [],
        ["lr=2.5e-4", "double_q=false", "hidden=64,32", "batch_size=128", "run.eval_every=7", "torso=mlp"],
        primary="dqn",
    )
    assert cfg["dqn"].lr == 2.5e-4 and isinstance(cfg["dqn"].lr, float)
    assert cfg["dqn"].double_q is False
    assert cfg["dqn"].hidden == (64, 32)
    assert cfg["dqn"].batch_size == 128
    assert cfg["run"].eval_every == 7
    assert cfg["dqn"].torso == "mlp"


def test_integer_literal_for_float_field_is_a_float():
    assert resolve_config(CLASSES, [], ["lr=1"], primary="dqn")["dqn"].lr == 1.0


def test_bare_key_of_another_section_is_found():
    assert resolve_config(CLASSES, [], ["keep_checkpoints=5"], primary="dqn")["run"].keep_checkpoints == 5


def test_layers_apply_in_order_and_overrides_win():
    cfg = resolve_config(CLASSES, [{"dqn": {"lr": 0.1, "gamma": 0.5}}, {"dqn": {"lr": 0.2}}], ["gamma=0.9"], "dqn")
    assert (cfg["dqn"].lr, cfg["dqn"].gamma) == (0.2, 0.9)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lrr=1e-3", "unknown hyperparameter 'lrr'"),
        ("lr=fast", "dqn.lr must be a number; got 'fast'"),
        ("batch_size=1.5", "dqn.batch_size must be an integer"),
        ("double_q=maybe", "dqn.double_q must be true or false"),
        ("nosuch.lr=1", "unknown hyperparameter 'nosuch.lr'; valid sections: dqn, run"),
        ("lr", "--set expects key=value"),
        ("lr=nan", "dqn.lr must be finite"),
        ("loss_reduction=median", "dqn.loss_reduction must be one of mean, sum"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ZooError, match=None) as info:
        resolve_config(CLASSES, [], [override], primary="dqn")
    assert message in str(info.value)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ZooError) as info:
        resolve_config(CLASSES, [], ["lrr=1"], primary="dqn")
    assert "valid keys in 'dqn':" in str(info.value) and "lr" in str(info.value)


def test_plugin_section_literal_optional_and_ambiguity():
    classes = dict(CLASSES, per=PluginCfg)
    cfg = resolve_config(classes, [], ["per.mode=rank", "per.eps=none", "alpha=0.7"], primary="dqn")
    assert cfg["per"] == PluginCfg(alpha=0.7, mode="rank", eps=None)
    with pytest.raises(ZooError, match="'num_envs' is ambiguous; write one of: run.num_envs, per.num_envs"):
        resolve_config(classes, [], ["num_envs=2"], primary="dqn")


def test_json_round_trip_and_validation_of_saved_configs():
    cfg = resolve_config(CLASSES, [], ["hidden=8,8", "lr=0.01"], primary="dqn")
    saved = cfg.to_json()
    assert saved["dqn"]["hidden"] == (8, 8) or saved["dqn"]["hidden"] == [8, 8]
    again = resolve_config(CLASSES, [saved], [], primary="dqn")
    assert again["dqn"] == cfg["dqn"] and again["run"] == cfg["run"]
    bad = {"dqn": dict(saved["dqn"], lr="0.01; import os")}
    with pytest.raises(ZooError, match="dqn.lr must be a number"):
        resolve_config(CLASSES, [bad], [], primary="dqn")


def test_a_recipe_tunes_per_env_id_over_its_family():
    from zoo_core.host.recipes import Recipe
    from zoo_core.host.session import resolve

    acrobot, cartpole = resolve("dqn", "Acrobot-v1").config["dqn"], resolve("dqn", "CartPole-v1").config["dqn"]
    assert (acrobot.lr, acrobot.batch_size, acrobot.target_update_interval) == (6.3e-4, 128, 250)
    assert (cartpole.lr, cartpole.batch_size) == (2.3e-3, 64)
    assert acrobot.hidden == cartpole.hidden == (256, 256)  # the family's layer still applies
    recipe = Recipe("r", "dqn", env_config={"gymnasium": {"dqn": {"lr": 1.0}}, "Env-v0": {"dqn": {"lr": 2.0}}})
    assert recipe.env_layers("gymnasium", "pkg.mod:Env-v0") == [{"dqn": {"lr": 1.0}}, {"dqn": {"lr": 2.0}}]
    assert recipe.env_layers("minatar", "Other-v0") == []
