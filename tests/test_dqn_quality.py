"""The quality claim: the `dqn` recipe's final agent on CartPole-v1, on a seed no default was tuned
on (the recipe was tuned on seeds 1-8), at the end of its 50k-step budget with no early stopping,
scored over 100 episodes it never saw."""

from __future__ import annotations

import pytest

import zoo_core
from zoo_core.host.session import resolve
from zoo_core.running.evaluation import EvalProtocol, evaluate

SEED = 9


@pytest.mark.slow
def test_the_final_dqn_agent_balances_cartpole(tmp_path):
    result = zoo_core.train("dqn", "CartPole-v1", 50_000, seed=SEED, out=tmp_path / "run",
                            overrides=["run.eval_every=0", "run.checkpoint_every=0"])
    assert result.agent.env_steps == 50_000 and result.stopped_early is None
    setup = resolve("dqn", "CartPole-v1")
    final = evaluate(result.agent.act, lambda: setup.make_env(training=False),
                     EvalProtocol("CartPole-v1", episodes=100, seed=7_000_000))
    assert final.summary["mean"] >= 475, final.summary
