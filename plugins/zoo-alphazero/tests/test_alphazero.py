"""The alphazero recipe end to end: self-play examples, the learner, exact resume, evaluation,
export, and tic-tac-toe learned well enough never to lose to perfect play."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_alphazero.arena import arena
from zoo_alphazero.games import CONNECT_FOUR, TIC_TAC_TOE
from zoo_alphazero.mcts import SearchConfig
from zoo_alphazero.models import uniform_evaluator
from zoo_alphazero.players import AgentPlayer, MinimaxPlayer, RandomPlayer
from zoo_alphazero.selfplay import Examples, SelfPlay
from zoo_alphazero.window import ReplayWindow

import zoo_core
from zoo_core.errors import ZooError
from zoo_core.running.evaluation import EvalProtocol, evaluate

# Small and fast: 8 games x 4 moves = 32 self-play moves per chunk.
SMALL = [
    "alphazero.parallel_games=8", "alphazero.moves_per_chunk=4", "alphazero.simulations=8",
    "alphazero.eval_simulations=8", "alphazero.learn_start=32", "alphazero.batch_size=16",
    "alphazero.channels=8", "alphazero.blocks=1", "alphazero.value_hidden=8",
    "run.eval_every=0", "run.eval_episodes=2", "run.log_every=32",
]


def _weights(run, step):
    return load_file(str(run / f"checkpoints/step_{step:012d}/model.safetensors"))


def test_self_play_examples_carry_visits_and_outcomes():
    noise = SearchConfig(dirichlet_alpha=1.0, noise_fraction=0.25)
    sp = SelfPlay(TIC_TAC_TOE, uniform_evaluator(TIC_TAC_TOE), 4, noise, 16, 2, True, np.random.default_rng(0))
    examples, records = sp.play(30)
    assert len(records) >= 8 and len(examples) == sum(len(r.moves) for r in records)
    np.testing.assert_allclose(examples.pi.sum(-1), 1.0, rtol=1e-5)
    start = 0
    for r in records:
        n = len(r.moves)
        state, reward, done = TIC_TAC_TOE.replay(r.moves)
        assert done
        z = examples.z[start:start + n]
        # The last mover's result is the last move's reward; the sign alternates back to move 1.
        assert z[-1] == reward and z[0] == r.result
        assert np.all(z[:-1] == -z[1:]) or reward == 0
        # Visit policies put no mass on illegal moves: at move 2, the cell of move 1 is taken.
        assert examples.pi[start + 1][r.moves[0]] == 0
        start += n


def test_window_augments_with_board_symmetries():
    window = ReplayWindow(CONNECT_FOUR, 4, augment=True)
    obs = np.zeros((1, 2, 6, 7), np.int8)
    obs[0, 0, 5, 0] = 1  # a stone in the bottom-left corner
    pi = np.zeros((1, 7), np.float32)
    pi[0, 1] = 1.0
    window.add(Examples(obs, pi, np.array([0.5], np.float32)))
    seen = set()
    for _ in range(20):
        o, p, z = window.sample(1, np.random.default_rng(len(seen) + _))
        corner = int(o[0, 0, 5].argmax())
        seen.add(corner)
        # The policy mirrors with the board: column 1 <-> column 5 as corner 0 <-> 6.
        assert int(p[0].argmax()) == (1 if corner == 0 else 5) and float(z[0]) == 0.5
    assert seen == {0, 6}
    window.add(Examples(np.repeat(obs, 5, 0), np.repeat(pi, 5, 0), np.zeros(5, np.float32)))
    assert len(window) == 4 and window.added == 6


def test_training_is_deterministic_and_resumes_exactly(tmp_path):
    settings = SMALL + ["run.checkpoint_every=256", "run.keep_checkpoints=5"]
    zoo_core.train("alphazero", "Game/TicTacToe-v0", 512, seed=1, out=tmp_path / "a", overrides=settings)
    zoo_core.train("alphazero", "Game/TicTacToe-v0", 256, seed=1, out=tmp_path / "b", overrides=settings)
    zoo_core.resume(tmp_path / "b", steps=512)
    a, b = _weights(tmp_path / "a", 512), _weights(tmp_path / "b", 512)
    assert all(torch.equal(a[k], b[k]) for k in a)
    mid = _weights(tmp_path / "a", 256)
    assert not all(torch.equal(a[k], mid[k]) for k in a)
    rows_a = list(csv.DictReader(open(tmp_path / "a/progress.csv")))
    rows_b = list(csv.DictReader(open(tmp_path / "b/progress.csv")))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("steps_per_s", "wall_s")} for r in rows]  # noqa: E731
    assert strip(rows_a) == strip(rows_b)
    assert float(rows_a[-1]["games"]) > 0 and float(rows_a[-1]["updates"]) > 0


def test_agent_plays_legal_moves_and_evaluates_with_epsilon(tmp_path):
    zoo_core.train("alphazero", "Game/ConnectFour-v0", 64, seed=0, out=tmp_path / "r", overrides=SMALL)
    agent = zoo_core.load(tmp_path / "r")
    state = CONNECT_FOUR.replay([0, 0, 0, 0, 0, 0, 1])[0]  # column 1 is full
    moves = agent.play(state, simulations=16)
    assert moves.shape == (1,) and moves[0] != 0
    # ε-random moves come from the legal ones (the env says which), so ε never plays an illegal move.
    make = lambda: agent.setup.make_env(training=False)  # noqa: E731
    res = evaluate(agent.act, make, EvalProtocol("Game/ConnectFour-v0", episodes=4, seed=0, epsilon=0.5))
    assert len(res.returns) == 4 and set(res.returns) <= {-1.0, 0.0, 1.0}


def test_export_traces_the_prior_over_legal_moves(tmp_path):
    zoo_core.train("alphazero", "Game/TicTacToe-v0", 64, seed=0, out=tmp_path / "r", overrides=SMALL)
    from zoo_core.publishing.agent_folder import export_agent

    folder = export_agent(tmp_path / "r", tmp_path / "folder", which="latest", episodes=2, video=False)
    module = torch.jit.load(str(folder / "agent.pt"))
    states = TIC_TAC_TOE.replay([4, 0, 8])[0]
    obs = torch.from_numpy(TIC_TAC_TOE.observe(states))
    action = int(module(obs)[0])
    assert TIC_TAC_TOE.legal(states)[0, action]


def test_non_game_envs_are_refused(tmp_path):
    with pytest.raises(ZooError, match="alphazero plays the Game/ environments"):
        zoo_core.train("alphazero", "CartPole-v1", 64, seed=0, out=tmp_path / "r", overrides=SMALL)
    with pytest.raises(ZooError, match="learn_start"):
        zoo_core.train("alphazero", "Game/TicTacToe-v0", 64, out=tmp_path / "s",
                       overrides=["alphazero.window=10", "alphazero.learn_start=20"])


def test_tictactoe_never_loses_to_perfect_play(tmp_path):
    """The issue's bar: a few minutes of training on two cores, then 100 games against the perfect
    solver with both colours and not one loss (about two minutes of training here)."""
    result = zoo_core.train("alphazero", "Game/TicTacToe-v0", 20_000, seed=0, out=tmp_path / "ttt",
                            overrides=["run.eval_every=0", "run.eval_episodes=10"])
    agent = result.agent
    perfect = arena(TIC_TAC_TOE, AgentPlayer(agent), MinimaxPlayer(TIC_TAC_TOE, np.random.default_rng(0)), 100, seed=0)
    assert perfect.total.losses == 0, perfect.summary()
    assert perfect.as_first.games == 50 and perfect.as_second.games == 50
    casual = arena(TIC_TAC_TOE, AgentPlayer(agent), RandomPlayer(TIC_TAC_TOE, np.random.default_rng(1)), 100, seed=0)
    assert casual.total.losses == 0 and casual.total.wins >= 80, casual.summary()
