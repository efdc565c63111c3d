"""The I2A agent in the zoo: trained by IMPALA's learner with its environment model loaded once (a
saved agent carries it in its weights), the rollout policy distilled, the paper's arms (copy model,
standard agent) from one torso, clear refusals of a missing or foreign model, exact resume, and a
Sokoban leaderboard that ranks by solved levels."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_i2a.env_model import load_model, new_model, save_model

import zoo_core
from zoo_core.api import load, registry_model
from zoo_core.errors import ZooError
from zoo_core.host.session import build_agent, env_signature, resolve

ENV = "Sokoban/Room6x6-v0"
# Small and fast: 1 actor x 2 envs x 5 steps per unroll, one unroll per update = 10 frames an update.
SMALL = [
    "impala.num_actors=1", "impala.envs_per_actor=2", "impala.unroll_length=5", "impala.batch_size=1",
    "run.eval_every=0", "run.eval_episodes=2", "run.log_every=20", "i2a.depth=2", "i2a.encoding=8",
    "i2a.rollout_channels=4", "i2a.channels=8", "i2a.features=16",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model") / "m"
    save_model(new_model((3, 24, 24), 5, channels=4, seed=3), folder, {"env_id": ENV})
    return folder


def _progress(run):
    rows = list(csv.DictReader(open(run / "progress.csv")))
    return [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]


def test_i2a_trains_with_its_model_loaded_and_the_rollout_policy_distilled(tmp_path, model_dir):
    run = tmp_path / "r"
    result = zoo_core.train("i2a", ENV, 40, seed=1, out=run, overrides=[*SMALL, f"i2a.model={model_dir}"])
    torso = result.agent.network.torso
    model, _ = load_model(model_dir)
    assert all(torch.equal(a, b) for a, b in zip(torso.env_model.state_dict().values(),
                                                 model.state_dict().values(), strict=True))  # frozen: unchanged
    assert np.isfinite(result.agent.aux.last["i2a"]) and result.agent.aux.last["i2a"] > 0
    spec = json.loads((run / "config.json").read_text())["network"]
    assert spec["torso"] == "i2a" and spec["torso_args"]["imagination"] == "learned"
    weights = (model_dir / "model.safetensors").read_bytes()
    assert spec["torso_args"]["model_sha256"] == hashlib.sha256(weights).hexdigest()
    assert "success_rate" in json.loads((run / "results.json").read_text())  # Sokoban says which levels were solved

    # A saved agent carries its model: it loads and acts with the model's folder gone.
    moved = tmp_path / "moved"
    shutil.move(str(model_dir), str(moved))
    try:
        agent = load(run / "best" if (run / "best").exists() else run)
        assert torch.equal(agent.network.torso.env_model.cell_head.weight, model.cell_head.weight)
        obs = np.stack([resolve("i2a", ENV).make_env(training=False).reset(seed=s)[0] for s in range(3)])
        assert agent.act(obs).shape == (3,)
    finally:
        shutil.move(str(moved), str(model_dir))


@pytest.mark.parametrize("arm", ["copy", "none"])
def test_the_copy_model_and_the_standard_agent_need_no_model(tmp_path, arm):
    result = zoo_core.train("i2a", ENV, 20, seed=1, out=tmp_path / "r", overrides=[*SMALL, f"i2a.model={arm}"])
    torso = result.agent.network.torso
    assert torso.imagination == arm and (torso.env_model is None) == (arm == "none")
    assert ("i2a" in result.agent.aux.last) == (arm == "copy")  # nothing to distil without rollouts


def test_a_missing_or_foreign_model_is_refused(tmp_path):
    other = tmp_path / "m7"
    save_model(new_model((3, 28, 28), 5, channels=4), other, {"env_id": "Sokoban/Room7x7-v0"})
    cases = [("", "i2a.model is not set"), (str(tmp_path / "nowhere"), "no such folder"),
             (str(other), "models Sokoban/Room7x7-v0 (frames [3, 28, 28], 5 actions), not the agent's env"),
             ("registry:nope", "no bundled model 'nope' in the registry; bundled: sokoban-room6x6-bad-model")]
    for value, message in cases:
        with pytest.raises(ZooError, match=re.escape(message)):
            zoo_core.train("i2a", ENV, 10, seed=1, out=tmp_path / "x", overrides=[*SMALL, f"i2a.model={value}"])


def test_envs_other_than_sokoban_are_refused_in_one_line(tmp_path):
    with pytest.raises(ZooError, match=re.escape("i2a reads Sokoban's RGB frames ([3, H, W] of 4-pixel cells, "
                                                 "the Sokoban/ envs); this env gives observations [4]")):
        zoo_core.train("i2a", "CartPole-v1", 10, seed=1, out=tmp_path / "x", overrides=["i2a.model=none"])


def test_the_recipe_imagines_with_the_bundled_model_on_the_6x6_room():
    setup = resolve("i2a", ENV)
    env = setup.make_env(training=True)
    agent = build_agent(setup, env_signature(env), seed=0)
    assert setup.config["i2a"].model == "registry:sokoban-room6x6-model"
    bundled, _ = load_model(registry_model("sokoban-room6x6-model"))
    assert torch.equal(agent.network.torso.env_model.cell_head.weight, bundled.cell_head.weight)


def test_i2a_resumes_exactly(tmp_path, model_dir):
    sets = [*SMALL, f"i2a.model={model_dir}", "run.checkpoint_every=20", "run.keep_checkpoints=5"]
    zoo_core.train("i2a", ENV, 40, seed=2, out=tmp_path / "a", overrides=sets)
    zoo_core.train("i2a", ENV, 20, seed=2, out=tmp_path / "b", overrides=sets)
    zoo_core.resume(tmp_path / "b", steps=40)
    a = load_file(str(tmp_path / "a/checkpoints/step_000000000040/model.safetensors"))
    b = load_file(str(tmp_path / "b/checkpoints/step_000000000040/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert _progress(tmp_path / "a") == _progress(tmp_path / "b")


def test_the_sokoban_board_ranks_by_solved_levels_and_verifies_them(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    from zoo_core.cli.main import main

    boards = tmp_path / "boards"
    boards.mkdir()
    shipped = Path(__file__).resolve().parents[3] / "leaderboards" / "Sokoban_Room6x6-v0.json"
    doc = json.loads(shipped.read_text())
    assert doc["protocol"]["success"] is True and doc["protocol"]["sample"] is True
    doc["protocol"]["episodes"], doc["entries"] = 20, []
    (boards / shipped.name).write_text(json.dumps(doc))
    monkeypatch.setenv("ZOO_LEADERBOARDS_DIR", str(boards))
    zoo_core.train("i2a", ENV, 20, seed=1, out=tmp_path / "r", overrides=[*SMALL, "i2a.model=none"])
    export = ["export", str(tmp_path / "r"), "--which", "latest", "--out", str(tmp_path / "agent"), "--no-video"]
    assert main(export) == 0
    assert main(["leaderboard", "submit", str(tmp_path / "agent"), "--name", "tiny"]) == 0
    entry = json.loads((boards / shipped.name).read_text())["entries"][0]
    assert len(entry["episode_successes"]) == 20
    assert entry["success_rate"] == sum(entry["episode_successes"]) / 20
    assert "success" in capsys.readouterr().out
    assert main(["leaderboard", "verify", "Sokoban/Room6x6-v0"]) == 0

    board = json.loads((boards / shipped.name).read_text())
    board["entries"][0]["episode_successes"][0] ^= True  # one level's outcome edited
    board["entries"][0]["success_rate"] = sum(board["entries"][0]["episode_successes"]) / 20
    (boards / shipped.name).write_text(json.dumps(board))
    capsys.readouterr()
    assert main(["leaderboard", "verify", "Sokoban/Room6x6-v0"]) != 0
    assert "episode successes differ in 1 of 20 episodes" in capsys.readouterr().err
