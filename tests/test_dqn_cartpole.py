"""Done means: `zoo train dqn --env CartPole-v1` reaches 475 within 50k env steps (fixed seed)."""

from __future__ import annotations

import pytest

import zoo_core
from zoo_core.running.evaluation import EvalProtocol, evaluate


@pytest.mark.slow
def test_dqn_reaches_475_on_cartpole_within_50k_steps(tmp_path):
    # The recipe's classic-control defaults; evaluations every 2,500 steps over 20 episodes, and
    # the run stops once one reaches 475 (as SB3's StopTrainingOnRewardThreshold would).
    result = zoo_core.train(
        "dqn", "CartPole-v1", 50_000, seed=0, out=tmp_path / "run",
        overrides=["run.eval_every=2500", "run.eval_episodes=20", "run.target_return=475",
                   "run.checkpoint_every=0"],
    )
    assert result.agent.env_steps <= 50_000
    assert result.best_eval_mean >= 475, result.evaluations
    # The saved best agent, re-evaluated on 20 episodes it has never seen, still scores 475+.
    agent = zoo_core.load(tmp_path / "run", which="best")
    check = evaluate(agent.act, lambda: agent.setup.make_env(training=False),
                     EvalProtocol("CartPole-v1", episodes=20, seed=123))
    assert check.summary["mean"] >= 475, check.returns
