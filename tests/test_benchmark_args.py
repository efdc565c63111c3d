"""The peer benchmark's budget argument (the benchmarks themselves are run by hand, not in the suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from peer_sb3 import BUDGETS, merge_summaries, parse_args, parse_budgets, read_summary  # noqa: E402


def test_one_budget_for_every_env_or_pairs_for_some():
    envs = ["CartPole-v1", "MinAtar/Breakout-v1"]
    assert parse_budgets(None, envs) == {}
    assert parse_budgets("5000", envs) == {"CartPole-v1": 5000, "MinAtar/Breakout-v1": 5000}
    assert parse_budgets("MinAtar/Breakout-v1=100000", envs) == {"MinAtar/Breakout-v1": 100_000}
    args = parse_args(["--steps", "MinAtar/Breakout-v1=100000,MinAtar/SpaceInvaders-v1=200000", "--out", "/x"])
    assert args.budgets == {"MinAtar/Breakout-v1": 100_000, "MinAtar/SpaceInvaders-v1": 200_000}
    assert set(BUDGETS) == set(args.env_ids)


@pytest.mark.parametrize("text", ["0", "-5", "Pong=100", "CartPole-v1=0", "CartPole-v1=x"])
def test_bad_budgets_are_one_line_errors(text, capsys):
    with pytest.raises(SystemExit) as exc:
        parse_args(["--steps", text, "--out", "/x"])
    assert exc.value.code == 2
    assert "--steps" in capsys.readouterr().err


def _summary(rows: dict[str, dict[str, float]], steps: int = 100_000, seeds=(11, 12)) -> dict:
    envs = {env: {"steps": steps, "agents": {a: {"mean": m} for a, m in agents.items()}}
            for env, agents in rows.items()}
    return {"eval": {"episodes": 100}, "seeds": list(seeds), "smoke": False, "envs": envs}


def test_a_summary_of_some_rows_keeps_the_others():
    old = _summary({"CartPole-v1": {"dqn": 500.0, "sb3-dqn": 330.0},
                    "MinAtar/Breakout-v1": {"dqn": 5.6, "rainbow": 3.9}})
    new = _summary({"MinAtar/Breakout-v1": {"rainbow": 6.1}})
    merged = merge_summaries(old, new)
    assert merged["envs"]["CartPole-v1"] == old["envs"]["CartPole-v1"]
    breakout = merged["envs"]["MinAtar/Breakout-v1"]["agents"]
    assert breakout == {"dqn": {"mean": 5.6}, "rainbow": {"mean": 6.1}}
    # sb3-dqn comes last, whatever order the pieces were run in
    later = merge_summaries(_summary({"Acrobot-v1": {"sb3-dqn": -84.0}}), _summary({"Acrobot-v1": {"dqn": -74.0}}))
    assert list(later["envs"]["Acrobot-v1"]["agents"]) == ["dqn", "sb3-dqn"]
    assert list(merged["envs"]) == ["CartPole-v1", "MinAtar/Breakout-v1"]
    assert list(merge_summaries(new, old)["envs"]) == ["CartPole-v1", "MinAtar/Breakout-v1"]


@pytest.mark.parametrize("change", [{"seeds": [1, 2]}, {"smoke": True}, {"eval": {"episodes": 10}}])
def test_a_summary_of_another_protocol_or_budget_is_replaced(change):
    old = _summary({"CartPole-v1": {"dqn": 500.0}, "MinAtar/Breakout-v1": {"dqn": 5.6}})
    new = {**_summary({"MinAtar/Breakout-v1": {"rainbow": 6.1}}), **change}
    assert merge_summaries(old, new) == new
    other_budget = _summary({"MinAtar/Breakout-v1": {"rainbow": 6.1}}, steps=1_000_000)
    breakout = "MinAtar/Breakout-v1"
    assert merge_summaries(old, other_budget)["envs"][breakout] == other_budget["envs"][breakout]


def test_an_unreadable_summary_is_none(tmp_path):
    assert read_summary(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert read_summary(tmp_path / "bad.json") is None
    (tmp_path / "list.json").write_text("[1, 2]")
    assert read_summary(tmp_path / "list.json") is None
