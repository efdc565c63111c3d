"""The predictron through the core: the maze env family, training, exact resume, `zoo eval`, export,
a leaderboard ranked by held-out mse, and the refusals (enjoy, a return board, non-maze envs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_predictron import maze_batch, maze_connectivity

from zoo_core.cli.main import main
from zoo_core.errors import ZooError
from zoo_core.host.session import resolve
from zoo_core.running.training import resume, train

ENV = "Predictron/Maze20-v0"
# Small and fast: 2 core steps of 4 channels, 8 mazes an update, a 40-maze held-out set.
TINY = [
    "predictron.k=2", "predictron.channels=4", "predictron.hidden=8", "predictron.batch_size=8",
    "run.eval_every=32", "run.eval_episodes=40", "run.log_every=16", "run.checkpoint_every=32",
]


def zoo(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_env_is_one_seeded_maze_per_episode_with_its_labels():
    env = resolve("predictron", ENV).make_env(training=False)
    obs, info = env.reset(seed=5)
    again, info2 = env.reset(seed=5)
    expected_obs, expected_targets = maze_batch(5, 1)
    assert np.array_equal(obs, expected_obs[0]) and np.array_equal(again, obs)
    assert np.array_equal(info["targets"], expected_targets[0]) and np.array_equal(info2["targets"], info["targets"])
    assert info["targets"].tolist() == maze_connectivity(obs[None, 0] > 0)[0].tolist()
    _, reward, terminated, truncated, _ = env.step(0)
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert env.spec.kwargs == {"size": 20, "density": 0.3}  # a leaderboard protocol pins them


def test_a_run_resumes_exactly_and_is_judged_by_held_out_mse(tmp_path):
    whole = train("predictron", ENV, steps=64, seed=4, out=tmp_path / "whole", overrides=TINY)
    assert whole.final.protocol.metric == "mse" and whole.final.protocol.lower_is_better
    assert len(whole.final.returns) == 40 and all(0.0 <= e <= 1.0 for e in whole.final.returns)
    # The best/ agent holds the lowest periodic mse, not the highest.
    means = [row["eval_mean"] for row in whole.evaluations]
    assert whole.best == min(means)

    train("predictron", ENV, steps=32, seed=4, out=tmp_path / "part", overrides=TINY)
    resumed = resume(tmp_path / "part", steps=64)
    assert resumed.final.returns == whole.final.returns
    a = load_file(tmp_path / "whole" / "checkpoints" / "step_000000000064" / "model.safetensors")
    b = load_file(tmp_path / "part" / "checkpoints" / "step_000000000064" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("variant", [
    ["predictron.use_lambda=false", "predictron.usage_weighting=false", "predictron.consistency_updates=0"],
    ["predictron.shared=false", "predictron.consistency_updates=2"],
    ["predictron.architecture=convnet", "predictron.usage_weighting=false", "predictron.consistency_updates=0"],
    ["predictron.architecture=resnet", "predictron.shared=false", "predictron.usage_weighting=false",
     "predictron.consistency_updates=0"],
])
def test_every_arm_of_the_comparison_trains(tmp_path, variant):
    result = train("predictron", ENV, steps=16, seed=0, out=tmp_path / "run", overrides=[*TINY, *variant])
    assert np.isfinite(result.final.summary["mean"])


def test_a_convnet_baseline_refuses_predictron_options():
    with pytest.raises(ZooError, match="a convnet baseline has no preturns"):
        train("predictron", ENV, steps=16, seed=0, out=None, overrides=[*TINY, "predictron.architecture=convnet"])


def test_eval_export_and_a_leaderboard_ranked_by_mse(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    train("predictron", ENV, steps=32, seed=1, out=run, overrides=TINY)
    code, out, _ = zoo(capsys, "eval", str(run), "--which", "latest", "--episodes", "25", "--no-progress")
    assert code == 0 and "mean mse" in out and "over 25 held-out items" in out
    saved = json.loads((run / "results-eval-latest.json").read_text())
    assert saved["protocol"]["metric"] == "mse" and len(saved["episode_returns"]) == 25

    code, _, err = zoo(capsys, "enjoy", str(run), "--which", "latest")
    assert code == 2 and "judged by mse on a held-out set" in err and "Traceback" not in err

    agent = tmp_path / "agent"
    code, _, err = zoo(capsys, "export", str(run), "--which", "latest", "--out", str(agent), "--episodes", "30")
    assert code == 0, err
    assert not (agent / "replay.mp4").exists()  # nothing to film
    card = (agent / "README.md").read_text()
    assert "type: mse" in card and "30 held-out items" in card
    # agent.pt is the traced predictor: the same predictions as the agent.
    from zoo_core.publishing.load import load

    loaded = load(agent)
    obs, _ = maze_batch(123, 3)
    traced = torch.jit.load(str(agent / "agent.pt"))
    assert np.allclose(traced(torch.as_tensor(obs)).detach().numpy(), loaded.predict(obs), atol=1e-5)

    boards = tmp_path / "boards"
    boards.mkdir()
    probe = resolve("predictron", ENV).make_env(training=False)
    from zoo_core.publishing.leaderboard import env_description

    board = {"format": 1, "description": "test", "entries": [], "protocol": {
        "env_id": ENV, "episodes": 20, "seed": 5_000_000, "epsilon": 0.0, "max_steps": None,
        "metric": "mse", "lower_is_better": True, **env_description(probe),
        "bootstrap": {"reps": 200, "confidence": 0.95, "seed": 0, "stratum_size": 10}}}
    (boards / "Predictron_Maze20-v0.json").write_text(json.dumps(board))
    monkeypatch.setenv("ZOO_LEADERBOARDS_DIR", str(boards))
    monkeypatch.setenv("COLUMNS", "200")
    longer = tmp_path / "longer"
    train("predictron", ENV, steps=160, seed=1, out=longer, overrides=TINY)
    other = tmp_path / "other"
    zoo(capsys, "export", str(longer), "--which", "latest", "--out", str(other), "--episodes", "5")
    for folder, name in ((agent, "short"), (other, "long")):
        code, out, err = zoo(capsys, "leaderboard", "submit", str(folder), "--name", name, "--no-progress")
        assert code == 0 and "held-out items (mse)" in out, err
    doc = json.loads((boards / "Predictron_Maze20-v0.json").read_text())
    by_name = {e["name"]: e for e in doc["entries"]}
    lower = min(by_name, key=lambda n: by_name[n]["iqm"])
    code, out, _ = zoo(capsys, "leaderboard", "show", ENV, "--no-progress")
    assert code == 0 and "lowest first" in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("│ 1", "┃ 1", "| 1", "1 "))]
    assert rows and lower in rows[0], out
    code, out, _ = zoo(capsys, "leaderboard", "verify", "--no-progress")
    assert code == 0 and "2 of 2 entries reproduce" in out

    # A return leaderboard refuses a predictor (and the predictron is refused by any return board).
    doc["protocol"].pop("metric")
    doc["protocol"].pop("lower_is_better")
    doc["entries"] = []
    (boards / "Predictron_Maze20-v0.json").write_text(json.dumps(doc))
    code, _, err = zoo(capsys, "leaderboard", "submit", str(agent), "--no-progress")
    assert code == 2 and "the protocol scores return" in err and "judged by mse" in err


def test_the_predictron_trains_only_on_prediction_tasks(tmp_path):
    with pytest.raises(ZooError, match="reads images"):
        train("predictron", "CartPole-v1", steps=16, seed=0, out=tmp_path / "x", overrides=TINY)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())



def test_the_predictions_figure_draws_held_out_mazes(tmp_path, capsys):
    import runpy

    run = tmp_path / "run"
    train("predictron", ENV, steps=16, seed=0, out=run, overrides=TINY)
    script = Path(__file__).parents[1] / "scripts" / "predictions_figure.py"
    main_fn = runpy.run_path(str(script))["main"]
    assert main_fn([str(run), str(tmp_path / "f.png"), "--mazes", "2"]) == 0
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert main_fn([str(tmp_path / "nothing"), str(tmp_path / "g.png")]) == 2 and not (tmp_path / "g.png").exists()
