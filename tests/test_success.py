"""Success rates: an env that reports ``info["is_success"]`` at an episode's end gets its episodes'
successes recorded by the evaluation, written by the trainer, compared by ``zoo ablate --measure
success``, and ranked first on a leaderboard whose protocol says ``success``."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from zoo_core.errors import ZooError
from zoo_core.publishing.leaderboard import Bootstrap, _check_successes, discrepancies, rank
from zoo_core.running.evaluation import EvalProtocol, EvalResult, evaluate


class Guess(gym.Env):
    """One step: action 1 succeeds on even reset seeds, action 0 on odd ones; reward 1 on success."""

    observation_space = gym.spaces.Box(0, 1, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, report: bool = True):
        self.report = report

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.parity = (seed or 0) % 2
        return np.array([self.parity], np.float32), {}

    def step(self, action):
        won = int(action) == 1 - self.parity
        return np.zeros(1, np.float32), float(won), True, False, ({"is_success": won} if self.report else {})


def test_evaluation_records_each_episodes_success():
    protocol = EvalProtocol("Guess", episodes=6, seed=10)
    result = evaluate(lambda obs: np.ones(len(obs), np.int64), Guess, protocol)
    assert result.successes == [True, False, True, False, True, False]  # seeds 10..15: even ones win
    assert result.summary["success_rate"] == 0.5 and result.returns == [1.0, 0.0] * 3
    assert "success 50%" in result.headline()
    again = EvalResult.from_json(json.loads(json.dumps(result.to_json())))
    assert again.successes == result.successes and again.to_json() == result.to_json()

    silent = evaluate(lambda obs: np.ones(len(obs), np.int64), lambda: Guess(report=False), protocol)
    assert silent.successes is None and "success_rate" not in silent.summary
    assert "episode_successes" not in silent.to_json() and "success" not in silent.headline()
    with pytest.raises(ZooError, match="6 returns but 2 successes"):
        EvalResult(protocol, silent.returns, silent.lengths, successes=[True, False])
    with pytest.raises(ZooError, match="episode_successes must be a list of true/false"):
        EvalResult.from_json({**result.to_json(), "episode_successes": [1, 0, 1, 0, 1, 0]})


def _entry(name, rate, iqm, successes=None):
    successes = successes if successes is not None else [True] * int(rate * 4) + [False] * (4 - int(rate * 4))
    return {"name": name, "success_rate": rate, "episode_successes": successes, "iqm": iqm, "mean": iqm,
            "episode_returns": [iqm] * 4}


def test_a_success_board_ranks_by_success_rate_then_iqm():
    entries = [_entry("a", 0.5, 9.0), _entry("b", 0.75, 1.0), _entry("c", 0.75, 2.0)]
    assert [e["name"] for e in rank(entries, success=True)] == ["c", "b", "a"]
    assert [e["name"] for e in rank(entries)] == ["a", "c", "b"]  # a return board ignores them
    _check_successes(0, entries[0])
    with pytest.raises(ValueError, match="lacks its episode_successes or success_rate, or they disagree"):
        _check_successes(0, _entry("d", 0.25, 1.0, successes=[True, True, False, False]))
    with pytest.raises(ValueError, match="lacks its episode_successes"):
        _check_successes(0, {k: v for k, v in entries[0].items() if k != "episode_successes"})


def test_verification_compares_successes():
    entry = {**_entry("a", 0.5, 1.0, successes=[True, False, True, False]), "protocol_sha256": "x",
             "files": {}, "episode_lengths": [1] * 4, "std": 0.0}
    boot = Bootstrap(reps=10)
    from zoo_core.publishing.leaderboard import score

    entry.update(score(entry["episode_returns"], boot))
    assert discrepancies(entry, "x", {}, [1.0] * 4, [1] * 4, boot, [True, False, True, False]) == []
    problems = discrepancies(entry, "x", {}, [1.0] * 4, [1] * 4, boot, [True, True, True, False])
    assert problems == ["episode successes differ in 1 of 4 episodes (episode 1: recorded False, re-evaluated True)"]


def test_ablation_compares_success_rates(tmp_path):
    from zoo_core.running.ablation import summarize

    def runs(folder, curves, finals, column=True):
        for seed, (ys, final) in enumerate(zip(curves, finals, strict=True)):
            run = folder / f"seed{seed}"
            run.mkdir(parents=True)
            rows = "".join(f"{100 * (k + 1)},0,0,0,5,{y if column else ''}\n" for k, y in enumerate(ys))
            (run / "eval.csv").write_text("env_steps,eval_mean,eval_std,eval_iqm,eval_episodes,eval_success\n" + rows)
            (run / "results.json").write_text(json.dumps({"mean": 0.0, **({"success_rate": final} if column else {})}))

    runs(tmp_path / "full", [[0.0, 0.4, 0.8], [0.0, 0.6, 0.8]], [0.8, 0.9])
    runs(tmp_path / "less", [[0.0, 0.2, 0.4], [0.0, 0.2, 0.6]], [0.5, 0.6])
    rows = summarize("dqn+dueling", "CartPole-v1", {"dqn+dueling": tmp_path / "full", "dqn+dueling-dueling":
                                                    tmp_path / "less"}, 2, tmp_path, measure="success")
    assert [round(r["final_mean"], 6) for r in rows] == [0.85, 0.55]
    assert [r["frames_to_reference_final"] for r in rows] == [None, None]  # 0.85 reached by neither mean curve
    text = (tmp_path / "ablation-success.md").read_text()
    assert "success rate of the evaluations" in text and "| 0.85 ± 0.05 |" in text

    runs(tmp_path / "silent", [[0.0, 0.1, 0.2]], [0.0], column=False)
    with pytest.raises(ZooError, match="reports no successes"):
        summarize("dqn", "CartPole-v1", {"dqn": tmp_path / "silent"}, 1, tmp_path, measure="success")


def test_a_sampling_protocol_hands_the_policy_the_episodes_own_draws():
    seen = []

    def policy(obs, draws):
        seen.append(np.asarray(draws).copy())
        return (np.asarray(draws) < 0.5).astype(np.int64)  # action 1 when the draw is below a half

    protocol = EvalProtocol("Guess", episodes=5, seed=3, sample=True)
    assert protocol.to_json()["sample"] is True and "sample" not in EvalProtocol("Guess").to_json()
    one = evaluate(policy, Guess, protocol, batch=1)
    many = evaluate(policy, Guess, protocol, batch=5)
    assert one.returns == many.returns  # a draw belongs to its episode, not to its slot
    draws = [float(np.random.default_rng([3, i]).random()) for i in range(5)]
    assert np.allclose(np.concatenate(seen[:5]), draws)  # batch=1: episodes one after another
    wins = [int((d < 0.5) == (s % 2 == 0)) for d, s in zip(draws, range(3, 8), strict=True)]
    assert one.returns == [float(w) for w in wins]
    with pytest.raises(ZooError, match="sample must be true or false"):
        EvalProtocol("Guess", sample=1)


def test_sampling_needs_a_policy_and_follows_its_probabilities(tmp_path):
    import zoo_core
    from zoo_core.host.session import resolve

    setup = resolve("dqn", "CartPole-v1")
    agent = zoo_core.train("dqn", "CartPole-v1", 50, seed=0, out=tmp_path / "d",
                           overrides=["learning_starts=10", "run.eval_every=0", "run.eval_episodes=1"]).agent
    with pytest.raises(ZooError, match="acts by its values, with no policy to sample"):
        setup.evaluate(agent, setup.protocol(1, 0, sample=True))

    agent = zoo_core.train("impala", "CartPole-v1", 40, seed=0, out=tmp_path / "i",
                           overrides=["impala.num_actors=1", "impala.envs_per_actor=2", "impala.unroll_length=5",
                                      "impala.batch_size=1", "run.eval_every=0", "run.eval_episodes=1"]).agent
    obs = np.zeros((1, 4), np.float32)
    import torch

    with torch.no_grad():
        logits = agent.network(torch.as_tensor(obs)[None], torch.zeros(1, 1), ())[0][0, 0]
    p0 = float(torch.softmax(logits.double(), -1)[0])
    grid = np.linspace(0, 1, 1000, endpoint=False)
    actions = agent.act_sampled(np.repeat(obs, len(grid), 0), grid)
    assert abs((actions == 0).mean() - p0) <= 1e-3  # the inverse CDF: a draw below p0 is action 0
