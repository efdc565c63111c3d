"""The `zoo` command end to end, and its one-line errors."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import imageio.v3 as iio
import pytest
from conftest import TINY, assert_one_line_error, run_zoo, zoo_in_process


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
def test_bad_input_is_one_line_and_exit_2(args, needles, tmp_path):
    assert_one_line_error(run_zoo(*args, cwd=tmp_path), *needles)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["train", "dqn"], "zoo: error: the following arguments are required: --env (see `zoo train --help`)"),
        (["eval", "x", "--episodes", "0"],
         "zoo: error: argument --episodes: expected a positive integer, got '0' (see `zoo eval --help`)"),
        (["fly"], "zoo: error: argument command: invalid choice: 'fly'"),
    ],
)
def test_usage_errors_say_zoo_error_once(capsys, args, line):
    proc = zoo_in_process(capsys, *args)
    assert proc.returncode == 2 and proc.stderr.startswith(line), proc.stderr
    assert proc.stderr.count("zoo") == line.count("zoo") and proc.stderr.count("\n") == 1


def test_dry_run_prints_the_resolved_config_and_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = zoo_in_process(capsys, "train", "dqn", "--env", "CartPole-v1", "--seed", "3", "--set", "lr=0.01",
                          "--backend", "local", "--out", str(tmp_path / "run"), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["env_id"] == "CartPole-v1" and doc["env_family"] == "gymnasium" and doc["seed"] == 3
    dqn = doc["config"]["dqn"]
    assert dqn["lr"] == 0.01  # --set wins; the rest are the recipe's CartPole values, not the defaults
    assert dqn["train_freq"] == 256 and dqn["gradient_steps"] == 128 and dqn["hidden"] == [256, 256]
    assert doc["config"]["run"]["backend"] == "local"
    assert doc["signature"]["obs_shape"] == [4] and doc["signature"]["num_actions"] == 2
    assert list(tmp_path.iterdir()) == []
    assert_one_line_error(zoo_in_process(capsys, "train", "dqn", "--env", "CartPole-v1", "--set", "lrr=1",
                                         "--dry-run"), "unknown hyperparameter 'lrr'")


def test_recipes_verbose_shows_the_values_a_recipe_uses_on_an_env(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    proc = zoo_in_process(capsys, "recipes", "dqn", "--env", "CartPole-v1", "-v")
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in proc.stdout.splitlines() if line.startswith("│ ")}
    assert rows["dqn.lr"][:2] == ["0.0023", "0.001"]  # value on CartPole-v1, then the default
    assert rows["dqn.train_freq"][:2] == ["256", "1"] and rows["dqn.gradient_steps"][:2] == ["128", "1"]
    assert "dqn on CartPole-v1 (gymnasium family)" in proc.stdout
    proc = zoo_in_process(capsys, "recipes", "-v")
    assert proc.returncode == 0 and "[dqn] defaults" in proc.stdout and "zoo recipes RECIPE --env ENV -v" in proc.stdout
    assert_one_line_error(zoo_in_process(capsys, "recipes", "--env", "CartPole-v1"), "zoo recipes RECIPE --env ENV")


def test_eval_and_enjoy_write_beside_a_run_and_nowhere_unasked(run_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in ("SDL_VIDEODRIVER", "SDL_AUDIODRIVER"):
        monkeypatch.delenv(name, raising=False)  # restored after; rendering may set them
    final = (run_dir / "results.json").read_bytes()
    proc = zoo_in_process(capsys, "eval", str(run_dir), "--episodes", "2", "--which", "best")
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "results.json").read_bytes() == final  # the run's own final evaluation is kept
    written = json.loads((run_dir / "results-eval-best.json").read_text())
    assert len(written["episode_returns"]) == 2 and proc.stdout.rstrip().endswith("results-eval-best.json")
    proc = zoo_in_process(capsys, "eval", str(run_dir), "--episodes", "1", "--env", "gymnasium:CartPole-v1")
    assert proc.returncode == 0 and (run_dir / "results-eval-latest-gymnasium_CartPole-v1.json").is_file(), proc.stderr
    proc = zoo_in_process(capsys, "eval", str(run_dir / "best"), "--episodes", "2")  # an agent folder
    assert proc.returncode == 0 and "->" not in proc.stdout
    proc = zoo_in_process(capsys, "enjoy", str(run_dir), "--max-steps", "20")
    assert proc.returncode == 0, proc.stderr
    assert (run_dir / "replay-latest.mp4").is_file()
    proc = zoo_in_process(capsys, "enjoy", str(run_dir / "best"), "--max-steps", "20")
    assert proc.returncode == 0 and "pass --video FILE.mp4" in proc.stdout
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory


def test_rendering_on_a_headless_machine_prints_no_sdl_noise(run_dir, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "SDL_VIDEODRIVER", "SDL_AUDIODRIVER")}
    proc = subprocess.run([sys.executable, "-m", "zoo_core.cli.main", "enjoy", str(run_dir), "--max-steps", "10",
                           "--video", str(tmp_path / "v.mp4")], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(env, CI="1"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr  # no "error: XDG_RUNTIME_DIR is invalid or not set"


def test_train_refuses_to_overwrite_a_run(run_dir):
    proc = run_zoo("train", "dqn", "--env", "CartPole-v1", "--steps", "10", "--out", str(run_dir))
    assert_one_line_error(proc, "already holds a run", "zoo resume")
