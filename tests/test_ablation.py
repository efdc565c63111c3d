"""`zoo ablate`: variants, resumability, the mean ± standard error summary."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import TINY, run_zoo

from zoo_core import Recipe, hookimpl
from zoo_core.running.ablation import mean_and_se, variants


def test_mean_and_standard_error_by_hand():
    mean, se = mean_and_se([np.array([1.0, 2.0]), np.array([3.0, 6.0])])
    assert mean.tolist() == [2.0, 4.0]
    # sample std of (1, 3) = sqrt(2); / sqrt(2) seeds -> 1.0; of (2, 6): sqrt(8)/sqrt(2) = 2.0
    assert se == pytest.approx([1.0, 2.0])
    assert mean_and_se([np.array([5.0])])[1].tolist() == [0.0]


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
    stamp = (out / "dqn+dueling" / "seed0" / "results.json").stat().st_mtime_ns
    proc = run_zoo("ablate", "dqn+dueling", "--env", "CartPole-v1", "--steps", "200", "--seeds", "2",
                   "--out", str(out), *sets)
    assert proc.returncode == 0, proc.stderr
    assert (out / "dqn+dueling" / "seed0" / "results.json").stat().st_mtime_ns == stamp  # not retrained
