"""The auxiliary tasks inside agents: every subset on the IMPALA base, the DQN family where they fit,
clear refusals where they do not, head clashes named, and exact resume with the auxiliary replay in
the checkpoint."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import zoo_core
from zoo_core import hookimpl
from zoo_core.errors import PluginError, ZooError
from zoo_core.host.session import build_agent, env_signature, resolve

ENV = "MiniGrid/DoorKey-5x5-v0"
TASKS = ("pixel_control", "reward_prediction", "value_replay")
# Small and fast: 1 actor x 2 envs x 5 steps per unroll, one unroll per update = 10 frames an update.
SMALL = [
    "impala.num_actors=1", "impala.envs_per_actor=2", "impala.unroll_length=5", "impala.batch_size=1",
    "impala.recurrent=lstm", "impala.recurrent_size=16", "run.eval_every=0", "run.eval_episodes=1",
    "run.log_every=20", "pixel_control.batch_size=2", "value_replay.batch_size=2", "reward_prediction.batch_size=4",
]


def _subsets():
    return [c for k in range(1, 4) for c in itertools.combinations(TASKS, k)]


def _sets(recipe: str) -> list[str]:
    return [s for s in SMALL if s.split(".")[0] in ("impala", "run") or s.split(".")[0] in recipe]


def _progress(run):
    rows = list(csv.DictReader(open(run / "progress.csv")))
    return [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]


def test_the_minigrid_family_gives_the_egocentric_view_as_pixels():
    env = resolve("impala", ENV).make_env(training=True)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 56, 56) and obs.dtype == np.uint8 and env.action_space.n == 7
    assert env.observation_space.shape == (3, 56, 56)
    with pytest.raises(ZooError, match="did you mean MiniGrid/DoorKey-5x5-v0"):
        resolve("impala", "MiniGrid/DoorKey-5x5-v9").make_env(training=True)


@pytest.mark.parametrize("tasks", _subsets(), ids=lambda t: "+".join(t))
def test_every_subset_trains_on_the_impala_base(tmp_path, tasks):
    recipe = "impala+" + "+".join(tasks)
    result = zoo_core.train(recipe, ENV, 40, seed=1, out=tmp_path / "r", overrides=_sets(recipe))
    agent = result.agent
    expected = {t for t in tasks if t != "value_replay"}
    assert set(agent.network.aux) == expected  # value replay trains the agent's own value: no head
    assert set(agent.aux.last) == set(tasks)  # every task added a loss at the last update
    assert all(np.isfinite(v) and v >= 0 for v in agent.aux.last.values())
    rows = _progress(tmp_path / "r")
    assert rows and all(np.isfinite(float(r["aux_loss"])) for r in rows)
    weights = load_file(str(tmp_path / "r/checkpoints/step_000000000040/model.safetensors"))
    assert {k.split(".")[1] for k in weights if k.startswith("aux.")} == expected


def test_a3c_workers_train_with_all_three(tmp_path):
    sets = ["a3c.num_workers=2", "a3c.envs_per_worker=2", "a3c.unroll_length=5", "a3c.recurrent=lstm",
            "a3c.recurrent_size=16", "run.eval_every=0", "run.eval_episodes=1", "run.log_every=20",
            "pixel_control.batch_size=2", "value_replay.batch_size=2", "reward_prediction.batch_size=4"]
    result = zoo_core.train("a3c+" + "+".join(TASKS), ENV, 60, seed=1, out=tmp_path / "r", overrides=sets)
    rows = list(csv.DictReader(open(tmp_path / "r/progress.csv")))
    assert {f"aux_{t}" for t in TASKS} <= set(rows[0])
    last = rows[-1]
    assert all(np.isfinite(float(last[f"aux_{t}"])) for t in TASKS), last
    heads = {k.split(".")[1] for k in result.agent.network.state_dict() if k.startswith("aux.")}
    assert heads == {"pixel_control", "reward_prediction"}


def test_the_unreal_recipe_is_impala_with_an_lstm_and_all_three():
    setup = resolve("unreal", ENV)
    assert setup.plugins == ("impala", *TASKS)
    cfg = setup.config["impala"]
    assert (cfg.recurrent, cfg.recurrent_size) == ("lstm", 256)
    assert (setup.config["pixel_control"].discount, setup.config["pixel_control"].cell_size) == (0.9, 4)
    assert setup.config["reward_prediction"].frames == 3 and setup.config["value_replay"].weight == 1.0


def test_on_minatar_pixel_control_takes_2x2_cells_of_the_10x10_frame():
    setup = resolve("unreal", "MinAtar/Breakout-v1")
    assert setup.config["pixel_control"].cell_size == 2 and setup.config["impala"].recurrent == "lstm"
    agent = build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    assert agent.network.aux["pixel_control"].grid == (5, 5)


def test_dqn_takes_pixel_control_and_reward_prediction(tmp_path):
    sets = ["learning_starts=40", "batch_size=8", "buffer_size=500", "run.eval_every=0", "run.eval_episodes=1",
            "run.log_every=50", "pixel_control.batch_size=2", "reward_prediction.batch_size=4"]
    result = zoo_core.train("dqn+pixel_control+reward_prediction", ENV, 150, seed=0, out=tmp_path / "d",
                            overrides=sets)
    agent = result.agent
    assert set(agent.aux.last) == {"pixel_control", "reward_prediction"}
    assert len(agent.aux.replay) >= 1  # 150 steps cut into sequences of 20


@pytest.mark.parametrize("recipe, algorithm, fits", [
    ("dqn+value_replay", "dqn", "impala, a3c"),
    ("r2d2+pixel_control", "r2d2", "impala, a3c, dqn"),
])
def test_where_a_task_does_not_fit_it_is_refused(recipe, algorithm, fits):
    name = recipe.split("+")[1]
    with pytest.raises(ZooError, match=rf"plugin '{name}' does not fit algorithm '{algorithm}' \(it fits: {fits}\)"):
        resolve(recipe, ENV)


def test_pixel_control_needs_images():
    setup = resolve("impala+pixel_control", "CartPole-v1")
    with pytest.raises(ZooError, match=r"pixel_control: pixel control needs image observations \[C, H, W\]"):
        build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)
    setup = resolve("impala+pixel_control", ENV, ["pixel_control.cell_size=5"])
    with pytest.raises(ZooError, match="a 56x56 frame does not split into cells of 5 pixels"):
        build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)


class Clash:
    """A plugin that adds an auxiliary head under pixel control's name."""

    @hookimpl
    def zoo_network_spec(self, spec, config):
        spec.add_aux_head("pixel_control", "pixel_control", "clash", cell_size=4)


def test_two_plugins_adding_one_head_fail_naming_both():
    setup = resolve("impala+pixel_control", ENV, extra=[Clash()])
    with pytest.raises(PluginError, match="plugins 'clash' and 'pixel_control' both add the auxiliary head "
                                          "'pixel_control'"):
        build_agent(setup, env_signature(setup.make_env(training=True)), seed=0)


def test_unreal_resumes_exactly_with_its_auxiliary_replay(tmp_path):
    recipe = "impala+" + "+".join(TASKS)
    sets = _sets(recipe) + ["run.checkpoint_every=40", "run.keep_checkpoints=5"]
    zoo_core.train(recipe, ENV, 80, seed=2, out=tmp_path / "a", overrides=sets)
    zoo_core.train(recipe, ENV, 40, seed=2, out=tmp_path / "b", overrides=sets)
    saved = load_file(str(tmp_path / "b/checkpoints/step_000000000040/train_state.safetensors"))
    assert saved["aux.replay.obs"].shape[1:] == (6, 3, 56, 56)  # 4 sequences of 5 steps so far
    zoo_core.resume(tmp_path / "b", steps=80)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000080/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000080/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _progress(tmp_path / "a") == _progress(tmp_path / "b")


def test_dqn_resumes_exactly_mid_sequence(tmp_path):
    # Checkpoints at 70 steps: the chunker holds 10 of a 20-step sequence.
    sets = ["learning_starts=30", "batch_size=8", "buffer_size=500", "run.eval_every=0", "run.eval_episodes=1",
            "run.log_every=35", "run.checkpoint_every=70", "run.keep_checkpoints=5", "pixel_control.batch_size=2"]
    zoo_core.train("dqn+pixel_control", ENV, 140, seed=4, out=tmp_path / "a", overrides=sets)
    zoo_core.train("dqn+pixel_control", ENV, 70, seed=4, out=tmp_path / "b", overrides=sets)
    zoo_core.resume(tmp_path / "b", steps=140)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000140/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000140/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _progress(tmp_path / "a") == _progress(tmp_path / "b")
