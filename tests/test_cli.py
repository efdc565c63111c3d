"""The `zoo` command end to end, and its one-line errors."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import pytest
from conftest import TINY, assert_one_line_error, run_zoo


def _sets(settings):
    out = []
    for s in settings:
        out += ["--set", s]
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "dqn-cartpole"
    settings = [s for s in TINY if not s.startswith(("run.eval_every", "run.checkpoint_every"))]
    proc = run_zoo(
        "train",
        "dqn",
        "--env",
        "CartPole-v1",
        "--steps",
        "600",
        "--seed",
        "1",
        "--out",
        str(out),
        *_sets(settings + ["run.eval_every=300", "run.checkpoint_every=300", "lr=1e-3"]),
    )
    assert proc.returncode == 0, proc.stderr
    assert "final evaluation over 2 episodes" in proc.stdout
    return out


def test_train_writes_a_complete_run(run_dir):
    doc = json.loads((run_dir / "config.json").read_text())
    assert doc["recipe"] == "dqn" and doc["env_id"] == "CartPole-v1" and doc["seed"] == 1
    assert doc["config"]["dqn"]["lr"] == 1e-3 and doc["config"]["dqn"]["hidden"] == [32, 32]
    assert doc["command"].startswith("zoo train dqn --env CartPole-v1") or doc["command"] == "python API"
    assert doc["plugin_versions"]["core"] == "0.1.0"
    rows = list(csv.DictReader(open(run_dir / "progress.csv")))
    assert [int(r["env_steps"]) for r in rows] == [100, 200, 300, 400, 500, 600]
    assert float(rows[-1]["updates"]) == 501  # one update per step from step 100
    evals = list(csv.DictReader(open(run_dir / "eval.csv")))
    assert [int(r["env_steps"]) for r in evals] == [300, 600]
    results = json.loads((run_dir / "results.json").read_text())
    assert len(results["episode_returns"]) == 2
    assert results["mean"] == pytest.approx(sum(results["episode_returns"]) / 2)
    assert {"std", "iqm", "protocol"} <= results.keys()
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert (run_dir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (run_dir / "best" / "model.safetensors").exists()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step_000000000300", "step_000000000600"]


def test_resume_continues_and_eval_and_enjoy(run_dir, tmp_path):
    proc = run_zoo("resume", str(run_dir), "--steps", "800")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(run_dir / "progress.csv")))
    assert [int(r["env_steps"]) for r in rows] == [100, 200, 300, 400, 500, 600, 700, 800]
    assert json.loads((run_dir / "config.json").read_text())["total_steps"] == 800

    out = tmp_path / "res.json"
    proc = run_zoo("eval", str(run_dir), "--episodes", "3", "--seed", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "CartPole-v1: mean" in proc.stdout
    res = json.loads(out.read_text())
    assert res["protocol"]["seed"] == 5 and len(res["episode_returns"]) == 3

    video = tmp_path / "replay.mp4"
    proc = run_zoo("enjoy", str(run_dir), "--video", str(video), "--max-steps", "50")
    assert proc.returncode == 0, proc.stderr
    frames = list(iio.imiter(video))
    assert 2 <= len(frames) <= 51


def test_listing_commands():
    proc = run_zoo("recipes", "-v")
    assert proc.returncode == 0 and "dqn" in proc.stdout and "dqn.lr" in proc.stdout and "run.eval_every" in proc.stdout
    proc = run_zoo("envs")
    assert proc.returncode == 0
    assert "CartPole-v1" in proc.stdout and "ALE/" in proc.stdout and "MinAtar/" in proc.stdout
    proc = run_zoo("plugins")
    assert proc.returncode == 0 and "core" in proc.stdout and "loaded" in proc.stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["train", "dqx", "--env", "CartPole-v1"], ["unknown recipe 'dqx'", "valid recipes: a3c, alphazero, dqn"]),
        (["train", "dqn", "--env", "CartPol-v1"], ["unknown environment 'CartPol-v1'", "CartPole-v1"]),
        (["train", "dqn", "--env", "CartPole-v1", "--set", "lrr=1"], ["unknown hyperparameter 'lrr'"]),
        (["train", "dqn", "--env", "CartPole-v1", "--set", "lr=fast"], ["dqn.lr must be a number"]),
        (["train", "dqn", "--env", "CartPole-v1", "--steps", "-5"], ["--steps", "positive integer"]),
        (["train", "dqn"], ["--env"]),
        (["resume", "/nonexistent/run"], ["not a zoo run directory"]),
        (["eval", "/nonexistent/agent"], ["no checkpoint at /nonexistent/agent"]),
        ([], ["required"]),
        (["fly"], ["invalid choice"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needles):
    assert_one_line_error(run_zoo(*args), *needles)


def test_train_refuses_to_overwrite_a_run(run_dir):
    proc = run_zoo("train", "dqn", "--env", "CartPole-v1", "--steps", "10", "--out", str(run_dir))
    assert_one_line_error(proc, "already holds a run", "zoo resume")
