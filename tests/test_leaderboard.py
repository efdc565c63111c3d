"""Leaderboards: protocol and statistics, submit re-evaluates, verify catches any edit, show, render."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TINY, assert_one_line_error
from safetensors.torch import load_file, save_file

from zoo_core.cli.main import main
from zoo_core.envs import make_env
from zoo_core.host.session import installed_catalog
from zoo_core.publishing.leaderboard import (
    Board,
    Bootstrap,
    env_description,
    protocol_hash,
    rank,
    score,
    strata,
    verified_score,
)
from zoo_core.running.checkpoint import write_manifest

EPISODES = 8  # the test CartPole protocol: few episodes, so each evaluation takes a fraction of a second


@pytest.fixture(scope="module")
def agent_dir(tmp_path_factory) -> Path:
    """A tiny CartPole agent folder: model.safetensors + config.json + manifest.json, nothing else."""
    from zoo_core.running.training import train

    root = tmp_path_factory.mktemp("lb")
    result = train("dqn", "CartPole-v1", steps=300, seed=0, out=root / "run", overrides=TINY)
    ckpt = next((result.run_dir / "checkpoints").iterdir())
    folder = root / "agent"
    folder.mkdir()
    for name in ("model.safetensors", "config.json"):
        shutil.copy(ckpt / name, folder / name)
    write_manifest(folder)
    return folder


def _boards(root: Path) -> Path:
    """A copy of the repo's leaderboards, without their entries, with a short CartPole protocol."""
    root.mkdir()
    for path in (ROOT / "leaderboards").glob("*.json"):
        doc = json.loads(path.read_text())
        doc["entries"] = []
        (root / path.name).write_text(json.dumps(doc))
    doc = json.loads((root / "CartPole-v1.json").read_text())
    doc["protocol"].update(episodes=EPISODES)
    doc["protocol"]["bootstrap"].update(stratum_size=4)
    (root / "CartPole-v1.json").write_text(json.dumps(doc))
    return root


def zoo(capsys, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI in this process (same code as the console script) and capture its output."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["zoo", *args], code, out, err)


@pytest.fixture
def lb(tmp_path, monkeypatch, agent_dir) -> Path:
    """A fresh leaderboards folder (ZOO_LEADERBOARDS_DIR) and a copy of the agent folder in tmp_path."""
    monkeypatch.setenv("ZOO_LEADERBOARDS_DIR", str(_boards(tmp_path / "boards")))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapped names
    shutil.copytree(agent_dir, tmp_path / "agent")
    return tmp_path / "boards"


def test_score_is_hand_checkable_and_strata_are_seed_blocks():
    returns = [0.0, 10, 10, 10, 10, 10, 10, 100]
    s = score(returns, Bootstrap(reps=500, stratum_size=4))
    assert s["mean"] == 20.0 and s["std"] == math.sqrt(925.0) and s["iqm"] == 10.0
    assert s == score(returns, Bootstrap(reps=500, stratum_size=4))  # fixed rng seed: exactly reproducible
    assert strata(10, 4).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    # Constant within each block of 4 seeds: every stratified resample is the same multiset, so the
    # interval collapses to the IQM of [1,1,1,1,5,5,5,5] = mean(1,1,5,5) = 3. Unstratified, it would not.
    assert score([1.0] * 4 + [5.0] * 4, Bootstrap(stratum_size=4))["ci"] == [3.0, 3.0]
    assert score([1.0] * 4 + [5.0] * 4, Bootstrap(stratum_size=8))["ci"] != [3.0, 3.0]
    entries = [{"name": "b", "iqm": 1.0, "mean": 2.0}, {"name": "a", "iqm": 1.0, "mean": 2.0},
               {"name": "c", "iqm": 3.0, "mean": 0.0}, {"name": "d", "iqm": 1.0, "mean": 5.0}]
    assert [e["name"] for e in rank(entries)] == ["c", "d", "a", "b"]
    p = {"env_id": "CartPole-v1", "episodes": 100, "bootstrap": {"seed": 0}}
    assert protocol_hash(p) == protocol_hash(dict(reversed(list(p.items()))))
    assert protocol_hash(p) != protocol_hash({**p, "episodes": 99})


def test_shipped_protocols_describe_what_the_zoo_builds():
    boards = {b.env_id: b for b in map(Board.read, sorted((ROOT / "leaderboards").glob("*.json")))}
    assert set(boards) == {"CartPole-v1", "Acrobot-v1", "MinAtar/Breakout-v1", "ALE/Pong-v5", "Predictron/Maze20-v0",
                           "Sokoban/Room6x6-v0"}
    for env_id, board in boards.items():
        env = make_env(env_id, training=False, families=list(installed_catalog().env_families.values()))
        assert env_description(env) == {k: board.protocol[k] for k in ("wrappers", "env_kwargs", "time_limit")}
        env.close()
        assert board.bootstrap == Bootstrap() and board.path.name == env_id.replace("/", "_") + ".json"
    assert boards["CartPole-v1"].eval_protocol.episodes == boards["Acrobot-v1"].eval_protocol.episodes == 100
    assert boards["MinAtar/Breakout-v1"].eval_protocol.epsilon == 0.0
    pong = boards["ALE/Pong-v5"].protocol
    assert pong["epsilon"] == 0.001 and pong["env_kwargs"]["repeat_action_probability"] == 0.25
    assert pong["max_steps"] == 27_000 and "EpisodicLife" not in pong["wrappers"]
    maze = boards["Predictron/Maze20-v0"]
    assert (maze.metric, maze.lower_is_better, maze.eval_protocol.episodes) == ("mse", True, 1000)
    assert maze.protocol["env_kwargs"] == {"size": 20, "density": 0.3}
    sokoban = boards["Sokoban/Room6x6-v0"]
    assert sokoban.success and sokoban.eval_protocol.sample and not boards["CartPole-v1"].success
    assert sokoban.protocol["env_kwargs"] == {"height": 6, "width": 6, "boxes": 1, "max_steps": 40}


def test_submit_then_verify_catches_every_edit(lb, tmp_path, capsys):
    agent = tmp_path / "agent"
    proc = zoo(capsys, "leaderboard", "submit", str(agent), "--name", "tiny")
    assert proc.returncode == 0, proc.stderr
    board_file = lb / "CartPole-v1.json"
    doc = json.loads(board_file.read_text())
    (entry,) = doc["entries"]
    assert entry["name"] == "tiny" and entry["agent"] == str(agent.resolve()) and entry["commit"] is None
    assert len(entry["episode_returns"]) == len(entry["episode_lengths"]) == EPISODES
    assert entry["mean"] == pytest.approx(np.mean(entry["episode_returns"]), abs=1e-12)
    derived = {k: entry[k] for k in ("mean", "std", "iqm", "ci")}
    assert derived == score(entry["episode_returns"], Bootstrap(stratum_size=4))
    assert entry["ci"][0] <= entry["ci"][1]
    manifest = json.loads((agent / "manifest.json").read_text())["files"]
    assert entry["files"] == {n: manifest[n]["sha256"] for n in ("model.safetensors", "config.json")}
    assert entry["protocol_sha256"] == protocol_hash(doc["protocol"])
    assert entry["zoo_version"] == "0.1.0" and entry["plugin_versions"]["core"] == "0.1.0"

    again = zoo(capsys, "leaderboard", "submit", str(agent), "--name", "other")
    assert_one_line_error(again, "already on the CartPole-v1 leaderboard as 'tiny'", "--replace")
    assert zoo(capsys, "leaderboard", "submit", str(agent), "--name", "tiny", "--replace").returncode == 0

    ok = zoo(capsys, "leaderboard", "verify")
    assert ok.returncode == 0 and "1 of 1 entries reproduce" in ok.stdout, ok.stderr
    original = board_file.read_text()

    def verify_fails(*needles: str) -> None:
        proc = zoo(capsys, "leaderboard", "verify", "CartPole-v1")
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("FAIL CartPole-v1 'tiny'")
        for needle in needles:
            assert needle in line, line

    edited = json.loads(original)
    edited["entries"][0]["mean"] += 0.5
    board_file.write_text(json.dumps(edited))
    verify_fails(f"mean recorded {entry['mean'] + 0.5}, re-evaluated {entry['mean']}")

    edited = json.loads(original)
    edited["entries"][0]["episode_returns"][3] += 1.0
    board_file.write_text(json.dumps(edited))
    verify_fails("episode returns differ in 1 of 8 episodes (episode 3:")

    board_file.write_text(original)
    tensors = load_file(agent / "model.safetensors")
    first = sorted(tensors)[0]
    tensors[first] = tensors[first] + 0.01
    save_file(tensors, str(agent / "model.safetensors"))
    write_manifest(agent)  # a consistent folder, just not the model that was scored
    verify_fails("model.safetensors sha256 is")
    (agent / "model.safetensors").write_bytes(b"garbage")  # and one that no longer passes its manifest
    verify_fails("cannot re-evaluate", "sha256 mismatch")


def test_show_render_and_verified_score(lb, tmp_path, capsys):
    agent = tmp_path / "agent"
    assert verified_score(agent) is None
    assert zoo(capsys, "leaderboard", "submit", str(agent)).returncode == 0  # name defaults to "agent"

    shown = zoo(capsys, "leaderboard", "show", "CartPole-v1")
    assert shown.returncode == 0 and "agent" in shown.stdout and "✓" in shown.stdout, shown.stderr
    plain = zoo(capsys, "leaderboard", "show", "CartPole-v1", "--no-verify")
    assert plain.returncode == 0 and "agent" in plain.stdout and "✓" not in plain.stdout

    out = tmp_path / "site"
    assert zoo(capsys, "leaderboard", "render", "--out", str(out)).returncode == 0
    page = (out / "index.html").read_text()
    assert all(env in page for env in ("CartPole-v1", "Acrobot-v1", "MinAtar/Breakout-v1", "ALE/Pong-v5"))
    assert '<img src="CartPole-v1.png"' in page and "No entries yet." in page
    assert (out / "CartPole-v1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["CartPole-v1.png", "index.html"]

    entry = json.loads((lb / "CartPole-v1.json").read_text())["entries"][0]
    found = verified_score(agent)
    assert found is not None and found["leaderboard"] == found["env_id"] == "CartPole-v1"
    assert {k: found[k] for k in ("mean", "std", "iqm", "ci")} == {k: entry[k] for k in ("mean", "std", "iqm", "ci")}
    assert found["episodes"] == EPISODES
    doc = json.loads((lb / "CartPole-v1.json").read_text())
    doc["protocol"]["episodes"] = EPISODES + 1  # a changed protocol: the old score no longer counts
    (lb / "CartPole-v1.json").write_text(json.dumps(doc))
    assert verified_score(agent) is None
    failed = zoo(capsys, "leaderboard", "show", "CartPole-v1")
    assert failed.returncode == 1 and "✗" in failed.stdout and "another protocol" in failed.stderr


def test_env_without_leaderboard_is_a_one_line_error(lb, tmp_path, capsys):
    (lb / "CartPole-v1.json").unlink()
    proc = zoo(capsys, "leaderboard", "submit", str(tmp_path / "agent"))
    assert_one_line_error(proc, "no leaderboard for CartPole-v1", "ALE/Pong-v5, Acrobot-v1, MinAtar/Breakout-v1")
    assert_one_line_error(zoo(capsys, "leaderboard", "show", "Pendulum-v1"), "no leaderboard for Pendulum-v1")
    assert_one_line_error(zoo(capsys, "leaderboard", "submit", str(tmp_path / "nope")), "no such agent folder")
