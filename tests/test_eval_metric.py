"""An algorithm judged by a metric on a held-out set: the protocol's metric and direction, ranking,
best-agent and ablation bookkeeping in that direction, and the one evaluation entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from zoo_core.errors import ZooError
from zoo_core.host.recipes import Algorithm
from zoo_core.host.session import resolve
from zoo_core.publishing.leaderboard import Board, list_boards, protocol_hash, rank
from zoo_core.running.ablation import frames_to_reach, summarize
from zoo_core.running.evaluation import EvalProtocol, EvalResult


def test_a_return_protocol_keeps_its_json_and_hash():
    p = EvalProtocol("CartPole-v1", episodes=5, seed=3)
    assert set(p.to_json()) == {"env_id", "episodes", "seed", "epsilon", "max_steps"}
    # Every shipped board (written before metrics existed) still reads, and its entries still carry
    # the hash of the protocol as it is now.
    for board in list_boards(ROOT / "leaderboards"):
        if board.metric != "return":
            continue  # the predictron's board, made with the metric
        assert not board.lower_is_better
        assert all(e["protocol_sha256"] == board.sha256 for e in board.entries), board.env_id


def test_a_metric_protocol_round_trips_and_judges_in_its_direction():
    p = EvalProtocol("Predictron/Maze20-v0", episodes=10, seed=7, metric="mse", lower_is_better=True)
    doc = p.to_json()
    assert doc["metric"] == "mse" and doc["lower_is_better"] is True
    assert EvalProtocol.from_json(doc) == p
    assert protocol_hash(doc) != protocol_hash(EvalProtocol("Predictron/Maze20-v0", 10, 7).to_json())
    assert p.better(0.1, 0.2) and p.better(0.2, 0.2) and not p.better(0.3, 0.2)
    assert EvalProtocol("CartPole-v1").better(3.0, 2.0) and not EvalProtocol("CartPole-v1").better(1.0, 2.0)


@pytest.mark.parametrize("fields, message", [
    ({"metric": "Mean Error"}, "metric must be a lowercase name"),
    ({"metric": "mse", "lower_is_better": "yes"}, "lower_is_better must be true or false"),
    ({"lower_is_better": True}, "a return is never lower-is-better"),
])
def test_bad_metric_fields_are_one_line_errors(fields, message):
    with pytest.raises(ZooError, match=message):
        EvalProtocol("X-v0", **fields)


def test_a_held_out_result_reads_as_items_not_episodes():
    p = EvalProtocol("Predictron/Maze20-v0", episodes=4, metric="mse", lower_is_better=True)
    line = EvalResult(p, [0.0, 0.01, 0.02, 0.5], [1, 1, 1, 1]).headline()
    assert line.startswith("mean mse 0.1325 ") and "over 4 held-out items" in line and "lower is better" in line


def test_rank_follows_the_direction():
    entries = [{"name": "a", "iqm": 0.2, "mean": 0.3}, {"name": "b", "iqm": 0.1, "mean": 0.5},
               {"name": "c", "iqm": 0.1, "mean": 0.4}]
    assert [e["name"] for e in rank(entries)] == ["a", "b", "c"]
    assert [e["name"] for e in rank(entries, lower_is_better=True)] == ["c", "b", "a"]  # ties: lower mean


def test_a_board_may_rank_a_metric(tmp_path):
    doc = json.loads((ROOT / "leaderboards" / "CartPole-v1.json").read_text())
    doc["entries"] = []
    doc["protocol"].update(metric="mse", lower_is_better=True)
    (tmp_path / "b.json").write_text(json.dumps(doc))
    board = Board.read(tmp_path / "b.json")
    assert board.metric == "mse" and board.lower_is_better
    assert board.eval_protocol.metric == "mse" and board.eval_protocol.lower_is_better
    doc["protocol"]["rank_by"] = "median"
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with pytest.raises(ZooError, match="protocol keys must be .* optionally metric, lower_is_better"):
        Board.read(tmp_path / "c.json")


def test_an_agent_is_scored_only_by_what_its_algorithm_is_judged_by():
    setup = resolve("dqn", "CartPole-v1")
    assert setup.protocol(5, 0).metric == "return"
    held_out = EvalProtocol("CartPole-v1", 5, metric="mse", lower_is_better=True)
    with pytest.raises(ZooError, match=r"the protocol scores mse \(lower is better\); the dqn algorithm is "
                                        r"judged by return \(higher is better\)"):
        setup.evaluate(None, held_out)


def test_an_algorithm_with_a_metric_brings_its_evaluator():
    with pytest.raises(ValueError, match="comes with its own evaluate"):
        Algorithm("p", object, lambda ctx: None, metric="mse", lower_is_better=True)
    with pytest.raises(ValueError, match="comes with its own evaluate"):
        Algorithm("p", object, lambda ctx: None, evaluate=lambda *a, **k: None)


def _runs(folder, curves, finals, lower):
    protocol = {"env_id": "E", "episodes": 3, "seed": 0, "epsilon": 0.0, "max_steps": None}
    if lower:
        protocol.update(metric="mse", lower_is_better=True)
    for seed, (ys, final) in enumerate(zip(curves, finals, strict=True)):
        run = folder / f"seed{seed}"
        run.mkdir(parents=True)
        rows = "".join(f"{100 * (k + 1)},{y},0,{y},3\n" for k, y in enumerate(ys))
        (run / "eval.csv").write_text("env_steps,eval_mean,eval_std,eval_iqm,eval_episodes\n" + rows)
        (run / "results.json").write_text(json.dumps({"mean": final, "protocol": protocol}))


def test_an_ablation_of_an_error_times_the_fall_and_keeps_the_lowest_point(tmp_path):
    assert frames_to_reach(np.array([1, 2, 3]), np.array([0.9, 0.4, 0.2]), 0.4, lower_is_better=True) == 2
    full, other = tmp_path / "full", tmp_path / "other"
    _runs(full, [[0.5, 0.3, 0.1], [0.5, 0.3, 0.1]], [0.1, 0.1], lower=True)
    _runs(other, [[0.5, 0.08, 0.2], [0.5, 0.12, 0.2]], [0.2, 0.2], lower=True)
    rows = summarize("dqn+dueling", "CartPole-v1", {"dqn+dueling": full, "dqn+dueling-dueling": other}, 2, tmp_path)
    assert [r["frames_to_reference_final"] for r in rows] == [300, 200]
    assert [r["best_mean"] for r in rows] == pytest.approx([0.1, 0.1])  # the lowest point, not the highest
    text = (tmp_path / "ablation.md").read_text()
    assert "Measure: held-out mse (lower is better)." in text and "| 0.1 ± 0 |" in text


def test_a_metric_board_renders_lowest_first_with_its_metric(tmp_path):
    from zoo_core.publishing.page import render

    doc = json.loads((ROOT / "leaderboards" / "Predictron_Maze20-v0.json").read_text())

    def entry(name, values):
        return {"name": name, "agent": f"registry:{name}", "files": {"model.safetensors": name * 8,
                "config.json": "c" * 64}, "episode_returns": values, "episode_lengths": [1] * len(values),
                "mean": float(np.mean(values)), "std": float(np.std(values)), "iqm": float(np.mean(values)),
                "ci": [0.0, 1.0], "protocol_sha256": "x"}

    doc["entries"] = [entry("worse", [0.3, 0.2]), entry("better", [0.01, 0.02])]
    (tmp_path / "Predictron_Maze20-v0.json").write_text(json.dumps(doc))
    board = Board.read(tmp_path / "Predictron_Maze20-v0.json")
    assert [e["name"] for e in board.ranked()] == ["better", "worse"]
    assert board.entry_text(board.entries[1]) == "IQM 0.015 [0, 1], mean 0.015 ± 0.005 over 2 held-out items (mse)"
    render([board], tmp_path / "site")
    page = (tmp_path / "site" / "index.html").read_text()
    assert "mse on 1000 held-out items" in page and "lower is better" in page
    assert page.index("<td>better</td>") < page.index("<td>worse</td>")
