"""A run folder's life: one owner, refused targets, interrupts, dead ends, damaged and partial
checkpoints, and what resume says and restores."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import pytest
import torch
from conftest import TINY
from safetensors.torch import load_file

import zoo_core
from zoo_core import hookimpl
from zoo_core.cli.main import main
from zoo_core.errors import CheckpointError, RunInterrupted, ZooError
from zoo_core.running import checkpoint as ckpt
from zoo_core.running.run_folder import LOCK, RunFolder


def _ckpt_names(run: Path) -> list[str]:
    return [p.name for p in ckpt.list_checkpoints(run / "checkpoints")]


def _same_checkpoint(a: Path, b: Path) -> None:
    for name in ("model.safetensors", "train_state.safetensors"):
        ta, tb = load_file(str(a / name)), load_file(str(b / name))
        assert ta.keys() == tb.keys()
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{name}: {key} differs"


# --- one owner per run folder -----------------------------------------------------------------------


def test_a_held_folder_is_refused_naming_the_holder(tmp_path):
    run = tmp_path / "r"
    with RunFolder.new(run):
        with pytest.raises(ZooError, match=f"in use by another zoo process \\(PID {os.getpid()}\\)"):
            zoo_core.train("dqn", "CartPole-v1", 200, out=run, overrides=TINY)
    zoo_core.train("dqn", "CartPole-v1", 200, out=run, overrides=TINY)  # released: the folder is free
    with RunFolder.existing(run):
        with pytest.raises(ZooError, match=f"PID {os.getpid()}"):
            zoo_core.resume(run, steps=300)
    assert not (run / "checkpoints" / "step_000000000300").exists()


# --- --out never lands on the user's files ----------------------------------------------------------


def test_train_refuses_a_folder_of_user_files_and_leaves_them(tmp_path, capsys):
    mine = tmp_path / "d"
    mine.mkdir()
    (mine / "results.json").write_text("mine\n")
    assert main(["train", "dqn", "--env", "CartPole-v1", "--steps", "300", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "not empty and holds no zoo run" in err and err.count("\n") == 1
    assert sorted(p.name for p in mine.iterdir()) == ["results.json"]
    assert (mine / "results.json").read_text() == "mine\n"


@pytest.mark.parametrize("target", ["afile.txt", "afile.txt/sub", "/proc/zoo-cannot/run"])
def test_an_impossible_out_is_one_line(tmp_path, capsys, target):
    (tmp_path / "afile.txt").write_text("notes\n")
    out = target if target.startswith("/") else str(tmp_path / target)
    assert main(["train", "dqn", "--env", "CartPole-v1", "--steps", "300", "--out", out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert (tmp_path / "afile.txt").read_text() == "notes\n"


def test_an_empty_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    result = zoo_core.train("dqn", "CartPole-v1", 200, out=tmp_path / "empty", overrides=TINY)
    assert result.agent.env_steps == 200 and (tmp_path / "empty" / "config.json").is_file()


# --- dead ends ----------------------------------------------------------------------------------------


class Crash:
    """Raises where a bad setting would: in the middle of training, before any checkpoint."""

    name = "crash"

    def __init__(self, at: int):
        self.at = at

    @hookimpl
    def zoo_on_log(self, agent, step, metrics):
        if step == self.at:
            raise RuntimeError("boom")


class BrokenEnv:
    name = "broken_env"

    @hookimpl
    def zoo_make_env(self, env_id, training, render_mode):
        raise ZooError("could not make the env")


def test_a_run_that_never_checkpointed_starts_over_and_says_so(tmp_path, capsys):
    run, fresh = tmp_path / "r", tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="boom"):
        zoo_core.train("dqn", "CartPole-v1", 400, seed=2, out=run, overrides=TINY, plugins=[Crash(300)])
    assert (run / "config.json").is_file() and _ckpt_names(run) == []
    result = zoo_core.resume(run)
    assert "starting the run over from step 0" in capsys.readouterr().err
    assert result.agent.env_steps == 400
    zoo_core.train("dqn", "CartPole-v1", 400, seed=2, out=fresh, overrides=TINY)
    _same_checkpoint(run / "checkpoints" / "step_000000000400", fresh / "checkpoints" / "step_000000000400")
    rows = list(csv.DictReader(open(run / "progress.csv")))
    assert [r["env_steps"] for r in rows] == ["100", "200", "300", "400"]  # the failed attempt's rows went


def test_a_run_that_failed_before_its_first_step_leaves_nothing(tmp_path):
    with pytest.raises(ZooError, match="could not make the env"):
        zoo_core.train("dqn", "CartPole-v1", 200, out=tmp_path / "new" / "sub", overrides=TINY,
                       plugins=[BrokenEnv()])
    assert not (tmp_path / "new").exists()  # nor the parent it made
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="could not make the env"):
        zoo_core.train("dqn", "CartPole-v1", 200, out=tmp_path / "empty", overrides=TINY, plugins=[BrokenEnv()])
    assert list((tmp_path / "empty").iterdir()) == []
    zoo_core.train("dqn", "CartPole-v1", 200, out=tmp_path / "new", overrides=TINY)  # the retry works


def test_checkpoints_follow_the_wall_clock_too(tmp_path):
    run = tmp_path / "r"
    zoo_core.train("dqn", "CartPole-v1", 600, out=run,
                   overrides=TINY + ["run.checkpoint_minutes=0.0001", "run.keep_checkpoints=100"])
    assert len(_ckpt_names(run)) > 2  # run.checkpoint_every=0: only the clock could have taken these


# --- interrupted and damaged checkpoint writes ------------------------------------------------------


def test_resume_clears_partial_writes_and_falls_back_from_a_damaged_checkpoint(tmp_path, capsys):
    run = tmp_path / "r"
    settings = TINY + ["run.checkpoint_every=200", "run.keep_checkpoints=5"]
    zoo_core.train("dqn", "CartPole-v1", 400, seed=1, out=run, overrides=settings)
    partial = run / "checkpoints" / ".tmp-step_000000000600-4242"
    partial.mkdir()
    (partial / "model.safetensors").write_bytes(b"\0" * 4096)
    model = run / "checkpoints" / "step_000000000400" / "model.safetensors"
    model.write_bytes(model.read_bytes()[:-7] + b"garbage")
    capsys.readouterr()
    result = zoo_core.resume(run, steps=600)
    err = capsys.readouterr().err
    assert not partial.exists() and "removed the unfinished write" in err
    assert "step_000000000400 is damaged" in err and "resumed from step 200" in err
    assert (run / "checkpoints" / "damaged-step_000000000400").is_dir()
    assert result.agent.env_steps == 600
    zoo_core.train("dqn", "CartPole-v1", 600, seed=1, out=tmp_path / "whole", overrides=settings)
    _same_checkpoint(run / "checkpoints" / "step_000000000600", tmp_path / "whole/checkpoints/step_000000000600")


def test_a_replacement_cut_short_puts_the_previous_folder_back(tmp_path):
    run = tmp_path / "r"
    zoo_core.train("dqn", "CartPole-v1", 200, out=run, overrides=TINY + ["run.eval_every=100"])
    (run / "best").rename(run / ".old-best-4242")  # killed between moving best/ aside and the new one in
    zoo_core.resume(run, steps=300)
    assert (run / "best" / "model.safetensors").is_file() and not (run / ".old-best-4242").exists()


# --- what resume says and restores ------------------------------------------------------------------


def test_resume_reports_best_and_continues_the_wall_clock_and_the_command(tmp_path, capsys):
    run = tmp_path / "r"
    settings = TINY + ["run.eval_every=100", "run.checkpoint_every=200"]
    first = zoo_core.train("dqn", "CartPole-v1", 300, seed=0, out=run, overrides=settings)
    best_in_folder = json.loads((run / "best" / "config.json").read_text())["eval"]["eval_mean"]
    assert first.best == best_in_folder
    capsys.readouterr()
    later = zoo_core.resume(run, steps=500)
    assert "resumed from step 300" in capsys.readouterr().err
    best_in_folder = json.loads((run / "best" / "config.json").read_text())["eval"]["eval_mean"]
    assert later.best == best_in_folder == max(
        float(r["eval_mean"]) for r in csv.DictReader(open(run / "eval.csv")))
    rows = list(csv.DictReader(open(run / "progress.csv")))
    walls = [float(r["wall_s"]) for r in rows]
    assert walls == sorted(walls) and walls[3] > walls[2]  # the clock went on from the checkpoint's
    doc = json.loads((run / "config.json").read_text())
    assert doc["resumes"] == ["zoo_core.resume('" + str(run) + "', steps=500)"]
    assert main(["export", str(run), "--which", "latest", "--out", str(tmp_path / "x"), "--no-video",
                 "--episodes", "2"]) == 0
    card = (tmp_path / "x" / "README.md").read_text()
    assert "zoo_core.resume(" in card


def test_resuming_a_finished_run_does_nothing(tmp_path, capsys):
    run = tmp_path / "r"
    zoo_core.train("dqn", "CartPole-v1", 200, out=run, overrides=TINY)
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.name != LOCK}
    capsys.readouterr()
    assert main(["resume", str(run)]) == 0
    assert "is complete (200 of 200 steps); nothing to do" in capsys.readouterr().err
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.name != LOCK} == before


# --- interrupts in-process (the subprocess tests below send real signals to process groups) ----------


class SignalAt:
    name = "signal_at"

    def __init__(self, step: int, signum: int):
        self.step, self.signum = step, signum

    @hookimpl
    def zoo_on_log(self, agent, step, metrics):
        if step == self.step:
            os.kill(os.getpid(), self.signum)


def test_a_signal_stops_at_a_consistent_point_and_resume_is_exact(tmp_path):
    # Bursts of 50 gradient steps every 50 env steps: a KeyboardInterrupt would land inside one.
    settings = TINY + ["train_freq=50", "gradient_steps=50", "run.log_every=50"]
    with pytest.raises(RunInterrupted, match="SIGTERM: stopped at step 350.*zoo resume") as info:
        zoo_core.train("dqn", "CartPole-v1", 600, seed=4, out=tmp_path / "i", overrides=settings,
                       plugins=[SignalAt(350, signal.SIGTERM)])
    assert info.value.signum == signal.SIGTERM
    assert _ckpt_names(tmp_path / "i") == ["step_000000000350"]
    whole = zoo_core.train("dqn", "CartPole-v1", 600, seed=4, out=tmp_path / "u", overrides=settings)
    assert zoo_core.resume(tmp_path / "i").agent.updates == whole.agent.updates  # every burst whole
    _same_checkpoint(tmp_path / "i/checkpoints/step_000000000600", tmp_path / "u/checkpoints/step_000000000600")
    keep = ("env_steps", "updates", "episodes", "return_mean", "loss", "epsilon")
    rows = [[{k: r[k] for k in keep} for r in csv.DictReader(open(tmp_path / run / "progress.csv"))]
            for run in ("i", "u")]
    assert rows[0] == rows[1]


def test_when_no_checkpoint_verifies_resume_refuses_once_then_starts_over(tmp_path, capsys):
    run = tmp_path / "r"
    zoo_core.train("dqn", "CartPole-v1", 200, seed=1, out=run, overrides=TINY)
    state = run / "checkpoints" / "step_000000000200" / "train_state.json"
    state.write_text(state.read_text().replace("1", "2", 1))
    with pytest.raises(CheckpointError, match="no checkpoint of .* verifies"):
        zoo_core.resume(run, steps=300)
    assert "step_000000000200 is damaged" in capsys.readouterr().err
    assert zoo_core.resume(run, steps=300).agent.env_steps == 300
    assert "starting the run over from step 0" in capsys.readouterr().err


def test_target_return_says_it_stopped_the_run(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["train", "dqn", "--env", "CartPole-v1", "--steps", "5000", "--out", str(out), "--no-progress",
                 *[f"--set={s}" for s in TINY + ["run.eval_every=100", "run.target_return=9"]]]) == 0
    printed = capsys.readouterr().out
    assert "stopped at step 100: the evaluation mean" in printed and "run.target_return=9" in printed
    assert "best periodic evaluation:" in printed


def test_a_log_row_is_one_compact_line():
    from zoo_core.running.training import log_line

    row = {"env_steps": 32000, "episodes": 503, "return_mean": 97.05, "updates": 15620.0, "loss": 0.1973,
           "epsilon": float("nan"), "steps_per_s": 1375.2, "wall_s": 3723.4}
    assert log_line(row, 50000) == (
        "step 32,000/50,000 | episodes 503 | return 97.05 | updates 15,620 | loss 0.1973 | 1375 steps/s | 01:02:03"
    )
