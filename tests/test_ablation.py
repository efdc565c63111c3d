"""`zoo ablate`: variants, resumability, the mean ± standard error summary."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import TINY, assert_one_line_error, run_zoo, zoo_in_process

from zoo_core import Recipe, hookimpl
from zoo_core.running.ablation import frames_to_reach, mean_and_se, plan, reference_variant, variants


def test_mean_and_standard_error_by_hand():
    mean, se = mean_and_se([np.array([1.0, 2.0]), np.array([3.0, 6.0])])
    assert mean.tolist() == [2.0, 4.0]
    # sample std of (1, 3) = sqrt(2); / sqrt(2) seeds -> 1.0; of (2, 6): sqrt(8)/sqrt(2) = 2.0
    assert se == pytest.approx([1.0, 2.0])
    assert mean_and_se([np.array([5.0])])[1].tolist() == [0.0]


def test_the_train_measure_reads_the_recent_return_column(tmp_path):
    from zoo_core.running.ablation import curve, final_score

    (tmp_path / "progress.csv").write_text("env_steps,return_mean\n100,\n200,1.5\n300,2.5\n")
    xs, ys = curve(tmp_path, "train")
    assert xs.tolist() == [200.0, 300.0] and ys.tolist() == [1.5, 2.5]  # no episode had ended by 100
    assert final_score(tmp_path, "train") == 2.5


def test_frames_to_reach_is_the_first_evaluation_at_or_above_the_score():
    xs, mean = np.array([100, 200, 300, 400]), np.array([0.1, 0.5, 0.4, 0.9])
    assert frames_to_reach(xs, mean, 0.5) == 200  # reached exactly counts
    assert frames_to_reach(xs, mean, 0.45) == 200  # the first crossing, not a later one
    assert frames_to_reach(xs, mean, 0.95) is None
    assert frames_to_reach(xs, mean, -1.0) == 100


def test_the_reference_is_the_base_when_a_recipe_declares_one():
    assert reference_variant("unreal") == "unreal base"
    assert reference_variant("dqn+dueling") == "dqn+dueling"


def test_variants_leave_each_plugin_out():
    names = [v.recipe for v in variants("dqn+dueling")]
    assert names == ["dqn+dueling", "dqn+dueling-dueling"]


class WithAblations:
    name = "with_ablations"

    @hookimpl
    def zoo_register_agents(self, register):
        register(Recipe("ddqn", "dqn", (), {}, {}, "test", ablations={"no-double": {"dqn": {"double_q": False}}}))


def test_declared_ablations_become_overrides(monkeypatch):
    import zoo_core.running.ablation as ablation
    from zoo_core.host.session import all_recipes

    monkeypatch.setattr(ablation, "all_recipes", lambda: all_recipes([WithAblations()]))
    arms = variants("ddqn")
    assert [(a.name, a.recipe, a.overrides) for a in arms] == [
        ("ddqn", "ddqn", ()), ("ddqn no-double", "ddqn", ("dqn.double_q=false",))]


def test_cli_ablate_writes_table_and_plot_and_resumes(tmp_path):
    sets = []
    for s in [x for x in TINY if not x.startswith("run.eval_every")] + ["run.eval_every=100"]:
        sets += ["--set", s]
    out = tmp_path / "abl"
    proc = run_zoo("ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--seeds", "2",
                   "--out", str(out), *sets)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out / "ablation.csv")))
    assert [r["variant"] for r in rows] == ["dqn+dueling", "dqn+dueling-dueling"]
    assert all(r["seeds"] == "2" and r["env_steps"] == "200" for r in rows)
    assert (out / "ablation.png").read_bytes()[:4] == b"\x89PNG"
    assert "| dqn+dueling |" in (out / "ablation.md").read_text()
    assert "env steps to dqn+dueling's final" in (out / "ablation.md").read_text()
    assert {r["reference"] for r in rows} == {"dqn+dueling"}
    (finished,) = out.glob("dqn+dueling/*/seed0/results.json")  # under the folder of its settings
    stamp = finished.stat().st_mtime_ns
    proc = run_zoo("ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--seeds", "2",
                   "--out", str(out), *sets)
    assert proc.returncode == 0, proc.stderr
    assert finished.stat().st_mtime_ns == stamp  # not retrained
    proc = run_zoo("ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--seeds", "2",
                   "--out", str(out), "--measure", "train", *sets)
    assert proc.returncode == 0, proc.stderr
    assert finished.stat().st_mtime_ns == stamp  # the same runs, re-read
    train = list(csv.DictReader(open(out / "ablation-train.csv")))
    assert [r["variant"] for r in train] == ["dqn+dueling", "dqn+dueling-dueling"]
    assert "Measure: training return (last 100 episodes)." in (out / "ablation-train.md").read_text()
    assert (out / "ablation-train.png").read_bytes()[:4] == b"\x89PNG" and (out / "ablation.csv").exists()


def test_every_variant_is_checked_before_any_trains(tmp_path, capsys, monkeypatch):
    import zoo_core.running.training as training

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained before validating"))
    out = tmp_path / "abl"
    base = ["ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--out", str(out)]
    proc = zoo_in_process(capsys, *base, "--set", "run.eval_every=500")
    assert_one_line_error(proc, "variant 'dqn+dueling' has run.eval_every=500", "--set run.eval_every=N", "200")
    proc = zoo_in_process(capsys, *base, "--set", "run.eval_every=0")
    assert_one_line_error(proc, "run.eval_every=0")
    assert_one_line_error(zoo_in_process(capsys, *base, "--set", "lrr=1"), "unknown hyperparameter 'lrr'")
    proc = zoo_in_process(capsys, "ablate", "dqn", "--env", "CartPol-v1", "--steps", "200", "--out", str(out),
                          "--set", "run.eval_every=100")
    assert_one_line_error(proc, "unknown environment 'CartPol-v1'")
    assert not out.exists()


def test_finished_runs_are_keyed_by_their_settings():
    sets = ["run.eval_every=100"]
    first = plan("dqn+dueling", "CartPole-v1", 200, sets)
    assert [arm.name for arm, _ in first] == ["dqn+dueling", "dqn+dueling-dueling"]
    assert plan("dqn+dueling", "CartPole-v1", 200, sets) == first  # same settings: same folders
    assert first[0][1] != first[1][1]
    for other in (plan("dqn+dueling", "CartPole-v1", 200, [*sets, "lr=0.002"]),
                  plan("dqn+dueling", "CartPole-v1", 300, sets),
                  plan("dqn+dueling", "Acrobot-v1", 200, sets)):
        assert all(a == b and k != j for (a, k), (b, j) in zip(first, other, strict=True))


def test_a_recipe_with_a_base_adds_its_other_plugins_one_at_a_time():
    arms = variants("unreal")  # zoo-unreal: the base is impala
    assert [(a.name, a.recipe) for a in arms] == [
        ("unreal", "unreal"),
        ("unreal base", "unreal-pixel_control-reward_prediction-value_replay"),
        ("unreal base+pixel_control", "unreal-reward_prediction-value_replay"),
        ("unreal base+reward_prediction", "unreal-pixel_control-value_replay"),
        ("unreal base+value_replay", "unreal-pixel_control-reward_prediction"),
    ]


def test_variants_picks_the_arms_to_train_and_keeps_the_reference(tmp_path, capsys):
    sets = []
    for s in [x for x in TINY if not x.startswith("run.eval_every")] + ["run.eval_every=100"]:
        sets += ["--set", s]
    out = tmp_path / "abl"
    base = ["ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--seeds", "1", "--out", str(out)]
    proc = zoo_in_process(capsys, *base, "--variants", "dqn+dueling-dueling", *sets)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out / "ablation.csv")))
    assert [r["variant"] for r in rows] == ["dqn+dueling", "dqn+dueling-dueling"]  # the reference came along
    proc = zoo_in_process(capsys, *base, "--variants", "dqn+dueling", *sets)
    assert proc.returncode == 0, proc.stderr
    assert [r["variant"] for r in csv.DictReader(open(out / "ablation.csv"))] == ["dqn+dueling"]
    proc = zoo_in_process(capsys, *base, "--variants", "dqn", *sets)
    assert_one_line_error(proc, "'dqn' is not a variant of dqn+dueling", "dqn+dueling-dueling")


def _fake_runs(folder, curves, finals):
    import json

    for seed, (ys, final) in enumerate(zip(curves, finals, strict=True)):
        run = folder / f"seed{seed}"
        run.mkdir(parents=True)
        rows = "".join(f"{100 * (k + 1)},{y},0,{y},5\n" for k, y in enumerate(ys))
        (run / "eval.csv").write_text("env_steps,eval_mean,eval_std,eval_iqm,eval_episodes\n" + rows)
        (run / "results.json").write_text(json.dumps({"mean": final}))


def test_frames_to_the_reference_are_timed_only_when_the_reference_learned(tmp_path):
    from zoo_core.running.ablation import summarize

    full, left_out = tmp_path / "full", tmp_path / "left_out"
    _fake_runs(full, [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]], [2.0, 2.0])
    _fake_runs(left_out, [[0.0, 2.0, 2.0], [0.0, 3.0, 2.0]], [2.0, 2.0])
    folders = {"dqn+dueling": full, "dqn+dueling-dueling": left_out}
    rows = summarize("dqn+dueling", "CartPole-v1", folders, 2, tmp_path)
    assert [r["frames_to_reference_final"] for r in rows] == [300, 200]
    assert "| 200 (67%) |" in (tmp_path / "ablation.md").read_text()

    flat, other = tmp_path / "flat", tmp_path / "other"
    _fake_runs(flat, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [0.0, 0.0])
    _fake_runs(other, [[0.0, 0.5, 0.0], [0.0, 0.0, 0.0]], [0.0, 0.0])
    rows = summarize("dqn+dueling", "CartPole-v1", {"dqn+dueling": flat, "dqn+dueling-dueling": other}, 2, tmp_path)
    assert [r["frames_to_reference_final"] for r in rows] == ["n/a", "n/a"]  # nothing learned to reach
    assert "n/a (the reference ended no better than its first point)" in (tmp_path / "ablation.md").read_text()


def test_the_plugin_that_provides_the_algorithm_is_not_left_out():
    # alphazero's recipe is the alphazero plugin alone: without it there is nothing to train.
    assert [v.name for v in variants("alphazero")] == ["alphazero"]
