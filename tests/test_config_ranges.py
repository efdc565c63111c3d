"""Bad input (issue 13): each hyperparameter's valid range, declared with its field and checked when the
config is resolved; plugins declaring the algorithms they fit; a plugin named twice; tuples written as
``zoo recipes -v`` shows them. Every case is one line on stderr and exit code 2 from ``zoo``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import pytest
from conftest import TINY, assert_one_line_error, run_zoo

from zoo_core import hookimpl
from zoo_core.agents.dqn import DQNConfig
from zoo_core.cli.main import main
from zoo_core.errors import PluginError, ZooError
from zoo_core.host.config import field_range, make_section, param, resolve_config
from zoo_core.host.manager import build_catalog, catalog_manager
from zoo_core.host.recipes import parse_recipe
from zoo_core.host.run_config import RunConfig
from zoo_core.host.session import all_recipes, resolve

CLASSES = {"dqn": DQNConfig, "run": RunConfig}


@dataclass(frozen=True)
class Bounded:
    count: int = param(1, "a count", ge=1)
    rate: float = param(0.1, "a rate", gt=0)
    prob: float = param(0.5, "a probability", ge=0, le=1)
    beta: float = param(0.9, "below one", ge=0, lt=1)
    sizes: tuple[int, ...] = param((8, 8), "sizes", ge=1)
    target: float | None = param(None, "optional", gt=0)
    free: float = param(-3.0, "any number")


def _section(**values):
    return make_section(Bounded, values, "b")


# --- ranges declared with the field -----------------------------------------------------------------


def test_field_range_reads_as_the_bound():
    ranges = {f.name: field_range(f) for f in dataclasses.fields(Bounded)}
    assert ranges == {
        "count": ">= 1", "rate": "> 0", "prob": "in [0, 1]", "beta": "in [0, 1)", "sizes": ">= 1 each",
        "target": "> 0", "free": "",
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"count": 0}, "b.count must be >= 1; got 0"),
        ({"rate": 0.0}, "b.rate must be > 0; got 0.0"),
        ({"prob": 1.5}, "b.prob must be in [0, 1]; got 1.5"),
        ({"prob": -0.1}, "b.prob must be in [0, 1]; got -0.1"),
        ({"beta": 1.0}, "b.beta must be in [0, 1); got 1.0"),
        ({"sizes": (8, 0)}, "b.sizes must be >= 1 each; got [8, 0]"),
        ({"target": -1.0}, "b.target must be > 0; got -1.0"),
    ],
)
def test_values_out_of_range_are_refused_naming_key_bound_and_value(values, message):
    with pytest.raises(ZooError) as info:
        _section(**values)
    assert str(info.value) == message


def test_values_on_the_bounds_and_none_are_accepted():
    cfg = _section(count=1, rate=1e-12, prob=1.0, beta=0.0, sizes=(), target=None, free=-1e9)
    assert (cfg.count, cfg.prob, cfg.beta, cfg.sizes, cfg.target) == (1, 1.0, 0.0, (), None)


def test_a_field_takes_one_lower_and_one_upper_bound_at_most():
    with pytest.raises(TypeError, match="one lower bound"):
        param(1, "x", ge=0, gt=0)


def test_saved_json_is_range_checked_too():
    saved = resolve_config(CLASSES, [], [], primary="dqn").to_json()
    saved["run"]["num_envs"] = 0
    with pytest.raises(ZooError, match=r"run.num_envs must be >= 1; got 0"):
        resolve_config(CLASSES, [saved], [], primary="dqn")


def test_cross_field_checks_run_after_the_ranges():
    with pytest.raises(ZooError, match=r"dqn.eps_end \(0.5\) must be <= dqn.eps_start \(0.1\)"):
        resolve_config(CLASSES, [], ["eps_start=0.1", "eps_end=0.5"], primary="dqn")


def _catalog():
    return build_catalog(catalog_manager())


def test_every_section_s_defaults_are_in_range():
    for section, cls in _catalog().config_classes.items():
        make_section(cls, {}, section)


# Fields where any finite number means something: the ends of C51's support, a target return.
UNBOUNDED = {"c51.v_min", "c51.v_max", "run.target_return"}


def test_every_numeric_field_of_every_section_declares_a_range():
    missing = []
    for section, cls in _catalog().config_classes.items():
        for f in dataclasses.fields(cls):
            numeric = any(t in str(f.type) for t in ("int", "float")) and "bool" not in str(f.type)
            key = f"{section}.{f.name}"
            if numeric and not f.metadata.get("bounds") and key not in UNBOUNDED:
                missing.append(key)
    assert missing == []


def test_every_recipe_s_defaults_are_in_range():
    catalog = _catalog()
    for recipe in catalog.recipes.values():
        layers = [recipe.config, *recipe.env_config.values(), *recipe.ablations.values()]
        for layer in layers:
            resolve_config(catalog.config_classes, [recipe.config, layer], [], primary=recipe.algorithm)


# --- tuples as `zoo recipes -v` shows them -----------------------------------------------------------


@pytest.mark.parametrize("text", ["(64, 64)", "[64,64]", "64,64", " ( 64 , 64 ) "])
def test_tuples_parse_in_every_written_form(text):
    assert resolve_config(CLASSES, [], [f"hidden={text}"], primary="dqn")["dqn"].hidden == (64, 64)


def test_tuples_of_strings_drop_the_quotes_repr_shows():
    @dataclass(frozen=True)
    class Tasks:
        tasks: tuple[str, ...] = param((), "env ids")

    cfg = resolve_config({"t": Tasks}, [], ["t.tasks=('ALE/Pong-v5', \"ALE/Breakout-v5\")"])
    assert cfg["t"].tasks == ("ALE/Pong-v5", "ALE/Breakout-v5")


# --- recipes: a plugin named twice ---------------------------------------------------------------------


def test_a_plugin_named_twice_is_refused():
    recipes = all_recipes()
    with pytest.raises(PluginError, match=r"plugin 'c51' is named twice in recipe 'dqn\+c51\+c51'"):
        parse_recipe("dqn+c51+c51", recipes)
    with pytest.raises(PluginError, match=r"recipe 'rainbow' already has plugin 'per'; leave out '\+per'"):
        parse_recipe("rainbow+per", recipes)
    # Removing and adding back, or an ablation of an added plugin, name it once at a time.
    assert parse_recipe("dqn+dueling-dueling", recipes)[1] == ()
    assert parse_recipe("rainbow-per+per", recipes)[1] == ("dueling", "noisy", "c51", "per")


# --- plugins declare the algorithms they fit -----------------------------------------------------------


def test_every_installed_plugin_declares_algorithms_that_exist():
    catalog = _catalog()
    assert set(catalog.fits) == {"alphazero", "c51", "dueling", "impala", "noisy", "per", "popart", "r2d2", "rainbow",
                                 "pixel_control", "reward_prediction", "value_replay", "unreal", "predictron", "i2a"}
    for plugin, fits in catalog.fits.items():
        assert fits and set(fits) <= set(catalog.algorithms), (plugin, fits)


def test_a_plugin_that_does_not_fit_the_algorithm_is_refused_naming_both():
    with pytest.raises(PluginError) as info:
        resolve("impala+dueling", "CartPole-v1")
    assert str(info.value) == "plugin 'dueling' does not fit algorithm 'impala' (it fits: dqn, r2d2)"


class FitsImpala:
    name = "fits_impala"

    @hookimpl
    def zoo_fits(self):
        return ["impala"]


class FitsAll:
    name = "fits_all"

    @hookimpl
    def zoo_fits(self):
        return None


class FitsBadly:
    name = "fits_badly"

    @hookimpl
    def zoo_fits(self):
        return "dqn"  # a string, not a sequence of names


def test_in_process_plugins_declare_fits_too():
    with pytest.raises(PluginError, match=r"plugin 'fits_impala' does not fit algorithm 'dqn' \(it fits: impala\)"):
        resolve("dqn", "CartPole-v1", extra=[FitsImpala()])
    assert resolve("dqn", "CartPole-v1", extra=[FitsAll()]).plugins == ()
    with pytest.raises(PluginError, match="plugin 'fits_badly' answered zoo_fits with 'dqn'"):
        resolve("dqn", "CartPole-v1", extra=[FitsBadly()])


# --- the CLI: one line on stderr, exit code 2 ----------------------------------------------------------


@pytest.mark.parametrize(
    ("recipe", "settings", "message"),
    [
        ("dqn", ["lr=-1"], "dqn.lr must be > 0; got -1.0"),
        ("dqn", ["run.num_envs=0"], "run.num_envs must be >= 1; got 0"),
        ("dqn", ["target_update_interval=0"], "dqn.target_update_interval must be >= 1; got 0"),
        ("dqn", ["train_freq=0"], "dqn.train_freq must be >= 1; got 0"),
        ("dqn", ["eps_start=2"], "dqn.eps_start must be in [0, 1]; got 2.0"),
        ("dqn", ["gradient_steps=0"], "dqn.gradient_steps must be >= 1; got 0"),
        ("dqn", ["hidden=(64, 0)"], "dqn.hidden must be >= 1 each; got [64, 0]"),
        ("impala+dueling", [], "plugin 'dueling' does not fit algorithm 'impala' (it fits: dqn, r2d2)"),
        ("dqn+c51+c51", [], "plugin 'c51' is named twice in recipe 'dqn+c51+c51'"),
        ("rainbow+per", [], "recipe 'rainbow' already has plugin 'per'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(recipe, settings, message, tmp_path, capsys):
    out = tmp_path / "run"
    sets = [arg for s in settings for arg in ("--set", s)]
    code = main(["train", recipe, "--env", "CartPole-v1", "--steps", "300", "--out", str(out), *sets])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not out.exists()


def test_hidden_as_recipes_shows_it_is_accepted(tmp_path, capsys):
    out = tmp_path / "run"
    sets = [arg for s in [*TINY, "hidden=(64, 64)", "run.eval_episodes=1"] for arg in ("--set", s)]
    assert main(["train", "dqn", "--env", "CartPole-v1", "--steps", "200", "--out", str(out), *sets]) == 0
    assert json.loads((out / "config.json").read_text())["config"]["dqn"]["hidden"] == [64, 64]


def test_the_console_script_prints_one_line(tmp_path):
    proc = run_zoo("train", "dqn", "--env", "CartPole-v1", "--set", "lr=-1", "--out", str(tmp_path / "a"))
    assert_one_line_error(proc, "dqn.lr must be > 0; got -1.0")
    proc = run_zoo("train", "impala+dueling", "--env", "CartPole-v1", "--out", str(tmp_path / "b"))
    assert_one_line_error(proc, "plugin 'dueling' does not fit algorithm 'impala' (it fits: dqn, r2d2)")


def test_recipes_verbose_shows_the_ranges():
    proc = run_zoo("recipes", "-v", env={"COLUMNS": "200"})
    line = next(line for line in proc.stdout.splitlines() if "dqn.eps_start" in line)
    assert "in [0, 1]" in line


def test_every_recipe_s_own_plugins_fit_its_algorithm():
    catalog = _catalog()
    for recipe in catalog.recipes.values():
        for plugin in recipe.plugins:
            assert recipe.algorithm in catalog.fits.get(plugin, (recipe.algorithm,)), (recipe.name, plugin)


def test_zoo_plugins_shows_what_each_plugin_fits(capsys, monkeypatch):
    from zoo_core.cli.main import main

    monkeypatch.setenv("COLUMNS", "200")
    assert main(["plugins"]) == 0
    rows = {line.split("│")[1].strip(): line for line in capsys.readouterr().out.splitlines() if "│" in line}
    assert "dqn, r2d2" in rows["dueling"] and "impala" in rows["popart"] and "any" in rows["core"]
