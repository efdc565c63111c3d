"""Real signals to real process groups: a terminal's Ctrl-C, a scheduler's SIGTERM, and a second
process asking for a folder that is in use.

Each run starts in a new session so that signalling its group reaches its workers as a terminal's
Ctrl-C would, and nothing else.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import TINY, run_zoo

from zoo_core.running import checkpoint as ckpt

LONG = "1000000"  # steps no test run reaches: only a signal ends it
QUIET = ["run.checkpoint_every=0", "run.checkpoint_minutes=0", "run.eval_every=0"]

ALGORITHMS = {
    "dqn": ("CartPole-v1", TINY),
    "r2d2": ("POMDP/CartPole-v1", [
        "hidden=16", "recurrent_size=16", "batch_size=4", "burn_in=2", "learn_length=4", "overlap=2",
        "buffer_size=200", "learning_starts=100", "train_freq=2", "run.log_every=100",
    ]),
    "impala": ("CartPole-v1", [
        "impala.num_actors=2", "impala.envs_per_actor=2", "impala.unroll_length=10", "impala.batch_size=2",
        "impala.hidden=16,16", "run.log_every=40",
    ]),
    "a3c": ("CartPole-v1", [
        "a3c.num_workers=2", "a3c.envs_per_worker=2", "a3c.unroll_length=10", "a3c.hidden=16,16",
        "run.log_every=40",
    ]),
    "alphazero": ("Game/TicTacToe-v0", [
        "alphazero.parallel_games=8", "alphazero.moves_per_chunk=4", "alphazero.simulations=8",
        "alphazero.learn_start=32", "alphazero.batch_size=16", "alphazero.channels=8", "alphazero.blocks=1",
        "alphazero.value_hidden=8", "run.log_every=32",
    ]),
}


def _start(recipe: str, out: Path, seed: int = 0) -> subprocess.Popen:
    env_id, settings = ALGORITHMS[recipe]
    sets = [f"--set={s}" for s in [*settings, *QUIET]]
    return subprocess.Popen(
        [sys.executable, "-m", "zoo_core.cli.main", "train", recipe, "--env", env_id, "--steps", LONG,
         "--seed", str(seed), "--out", str(out), *sets],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env=dict(os.environ, CI="1"),
    )


def _await_training(proc: subprocess.Popen, run: Path, rows: int = 2, timeout: float = 120.0) -> None:
    """Wait until the run has logged ``rows`` rows (it is past start-up and learning)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended early ({proc.returncode}): {err[-2000:]}")
        try:
            with open(run / "progress.csv") as fh:
                if len(list(csv.DictReader(fh))) >= rows:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run logged nothing in time")


def _stop(proc: subprocess.Popen, signum: int, group: bool) -> tuple[int, str, str]:
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc.returncode, out, err


@pytest.mark.parametrize("recipe", sorted(ALGORITHMS))
def test_ctrl_c_to_the_process_group_checkpoints_and_exits_130(tmp_path, recipe):
    run = tmp_path / "r"
    proc = _start(recipe, run)
    _await_training(proc, run)
    code, out, err = _stop(proc, signal.SIGINT, group=True)
    assert code == 130, err
    assert "Traceback" not in err and "Error" not in err, err  # workers left the signal to their parent
    saved = ckpt.latest_checkpoint(run / "checkpoints")
    assert saved is not None and f"checkpoint saved at {saved}" in err
    assert f"continue with: zoo resume {run}" in err
    assert "step " in out  # compact log rows: stdout is not a terminal
    step = json.loads((saved / "manifest.json").read_text())["step"]
    resumed = run_zoo("resume", str(run), "--steps", str(step + 100), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from step {step}" in resumed.stderr


def test_sigterm_checkpoints_and_exits_143(tmp_path):
    run = tmp_path / "r"
    proc = _start("dqn", run)
    _await_training(proc, run)
    code, out, err = _stop(proc, signal.SIGTERM, group=False)
    assert code == 143, err
    assert "SIGTERM: stopped at step" in err and "Traceback" not in err
    assert ckpt.latest_checkpoint(run / "checkpoints") is not None


def test_one_process_owns_a_run_folder(tmp_path):
    run = tmp_path / "r"
    owner = _start("dqn", run, seed=5)
    try:
        _await_training(owner, run)
        second = run_zoo("train", "dqn", "--env", "CartPole-v1", "--steps", "300", "--seed", "6", "--out", str(run))
        assert second.returncode == 2 and f"PID {owner.pid}" in second.stderr, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        again = run_zoo("resume", str(run))
        assert again.returncode == 2 and f"PID {owner.pid}" in again.stderr, again.stderr
    finally:
        code, _, err = _stop(owner, signal.SIGINT, group=True)
    assert code == 130, err
    assert json.loads((run / "config.json").read_text())["seed"] == 5
    steps = [r["env_steps"] for r in csv.DictReader(open(run / "progress.csv"))]
    assert steps == sorted(set(steps), key=int)  # one writer: no row twice
