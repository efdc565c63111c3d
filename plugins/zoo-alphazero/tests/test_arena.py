"""The arena and its players: real matches with asserted outcomes, the interval, the records."""

from __future__ import annotations

import json

import numpy as np
import pytest
from zoo_alphazero.arena import arena, play_match, wilson_interval
from zoo_alphazero.games import CONNECT_FOUR, TIC_TAC_TOE, State, outcome_for_first
from zoo_alphazero.players import (
    AgentPlayer,
    MCTSPlayer,
    MinimaxPlayer,
    RandomPlayer,
    make_opponent,
    solve,
)

from zoo_core.errors import ZooError

TTT = TIC_TAC_TOE


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def board(rows: str) -> State:
    """A tic-tac-toe position from the mover's view: ``x`` the mover, ``o`` the opponent."""
    cells = [{"x": 1, "o": -1, ".": 0}[c] for c in rows.replace(" ", "")]
    return State(np.array(cells, np.int8).reshape(1, 3, 3), np.zeros(1, np.int8))


def test_solver_knows_every_position_and_its_value():
    table = solve(TTT)
    assert len(table) == 5478  # every legal tic-tac-toe position
    value, best = table[TTT.initial(1).board[0].tobytes()]
    assert value == 0 and list(best) == list(range(9))  # every opening draws
    player = MinimaxPlayer(TTT, rng(0))
    assert player.value(board("xx. oo. ...")) == [1]
    assert player.act(board("xx. oo. ...")) == [2]  # win now rather than block
    assert player.act(board("x.. oo. x..")) == [5]  # the only move that does not lose
    assert player.value(board("o.. .x. ...")) == [0]


def test_minimax_never_loses_to_random_and_wins_most():
    result = arena(TTT, MinimaxPlayer(TTT, rng(0)), RandomPlayer(TTT, rng(1)), games=100, seed=0)
    assert result.total.losses == 0 and result.total.wins >= 85
    assert result.as_first.games == result.as_second.games == 50
    assert result.as_first.wins == 50  # first, perfect play beats random every time here
    assert result.score == pytest.approx((result.total.wins + result.total.draws / 2) / 100)


def test_minimax_against_itself_always_draws_and_games_vary():
    result = arena(TTT, MinimaxPlayer(TTT, rng(0)), MinimaxPlayer(TTT, rng(1)), games=20)
    assert result.total.draws == 20
    assert len({tuple(r.moves) for r in result.records}) > 10  # random among optimal moves


def test_pure_mcts_beats_random_and_never_beats_perfect_play():
    mcts = MCTSPlayer(TTT, 200, rng(0))
    vs_random = arena(TTT, mcts, RandomPlayer(TTT, rng(1)), games=24)
    assert vs_random.total.losses == 0 and vs_random.score >= 0.9
    vs_perfect = arena(TTT, mcts, MinimaxPlayer(TTT, rng(2)), games=8)
    assert vs_perfect.total.wins == 0


def test_pure_mcts_beats_random_at_connect_four():
    result = arena(CONNECT_FOUR, MCTSPlayer(CONNECT_FOUR, 25, rng(0)), RandomPlayer(CONNECT_FOUR, rng(1)), games=8)
    assert result.total.wins >= 7


def test_odd_games_give_a_the_extra_first_move_and_records_replay():
    other = RandomPlayer(TTT, rng(1))
    other.name = "random 2"
    result = arena(TTT, RandomPlayer(TTT, rng(0)), other, games=7)
    assert (result.as_first.games, result.as_second.games) == (4, 3)
    assert [r.first == result.a for r in result.records] == [True, False] * 3 + [True]
    for_a = 0
    for record in result.records:
        _, reward, done = TTT.replay(record.moves)
        assert done
        assert record.result == outcome_for_first(reward, (len(record.moves) - 1) % 2)
        for_a += record.result if record.first == result.a else -record.result
    assert for_a == result.total.wins - result.total.losses


def test_play_match_keeps_colours_fixed():
    result = play_match(TTT, MinimaxPlayer(TTT, rng(0)), RandomPlayer(TTT, rng(1)), games=6)
    assert result.as_first.games == 6 and result.as_second.games == 0 and result.total.wins == 6


def test_wilson_interval_hand_computed_and_narrower_with_more_games():
    # p = 0.8, n = 10: centre (0.8 + z^2/20) / (1 + z^2/10), half-width z/(1 + z^2/10) * sqrt(0.016 + z^2/400).
    assert wilson_interval(8, 10) == pytest.approx((0.49016, 0.94332), abs=1e-5)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    lo, hi = wilson_interval(80, 100)
    assert 0.49016 < lo < 0.8 < hi < 0.94332


def test_result_interval_contains_the_score_and_json_round_trips():
    small = arena(TTT, MinimaxPlayer(TTT, rng(0)), RandomPlayer(TTT, rng(1)), games=10, seed=3)
    large = arena(TTT, MinimaxPlayer(TTT, rng(0)), RandomPlayer(TTT, rng(1)), games=60, seed=3)
    for r in (small, large):
        assert r.score_ci[0] <= r.score <= r.score_ci[1]
        assert r.win_rate_ci[0] <= r.win_rate <= r.win_rate_ci[1]
    assert large.score_ci[1] - large.score_ci[0] < small.score_ci[1] - small.score_ci[0]
    doc = json.loads(json.dumps(small.to_json(), allow_nan=False))
    assert doc["total"] == {"games": 10, "wins": small.total.wins, "draws": small.total.draws,
                            "losses": small.total.losses, "score": small.score}
    assert doc["interval"] == "wilson-95" and doc["seed"] == 3 and len(doc["records"]) == 10
    first = doc["records"][0]
    assert first["notation"] == " ".join(str(m + 1) for m in first["moves"])
    assert "minimax vs random, TicTacToe, 10 games:" in small.summary()


def test_progress_bar_runs(capsys):
    arena(TTT, RandomPlayer(TTT, rng(0)), RandomPlayer(TTT, rng(1)), games=4, progress=True)


class FakeAgent:
    """Stands in for a trained agent: perfect tic-tac-toe through ``play``."""

    game = TTT

    def __init__(self):
        self.solver = MinimaxPlayer(TTT, rng(5))
        self.calls: list[int | None] = []

    def play(self, state: State, simulations: int | None = None) -> np.ndarray:
        self.calls.append(simulations)
        return self.solver.act(state)


def test_agent_player_passes_simulations_and_plays():
    agent = FakeAgent()
    player = AgentPlayer(agent, simulations=32, name="fake")
    result = arena(TTT, player, RandomPlayer(TTT, rng(1)), games=10)
    assert result.total.losses == 0 and set(agent.calls) == {32}
    with pytest.raises(ZooError, match="not a board-game agent"):
        AgentPlayer(object(), name="dqn-run")


@pytest.mark.parametrize(
    ("spec", "game", "message"),
    [
        ("alphago", TTT, "unknown opponent 'alphago'; expected random, mcts:N"),
        ("mcts", TTT, "mcts takes a positive number of simulations"),
        ("mcts:0", TTT, "mcts takes a positive number of simulations"),
        ("mcts:many", TTT, "mcts takes a positive number of simulations"),
        ("minimax", CONNECT_FOUR, "plays TicTacToe only, not ConnectFour"),
        ("random", None, "needs a game"),
    ],
)
def test_bad_opponent_specs(spec, game, message):
    with pytest.raises(ZooError, match=message):
        make_opponent(spec, game, 0)


def test_opponent_specs():
    assert make_opponent("random", TTT, 0).name == "random"
    assert make_opponent("MCTS:300", TTT, 0).name == "mcts:300"
    assert make_opponent("perfect", TTT, 0).name == "minimax"
