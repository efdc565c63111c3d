"""The peer benchmark's budget argument (the benchmarks themselves are run by hand, not in the suite)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from peer_sb3 import BUDGETS, parse_args, parse_budgets  # noqa: E402


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
