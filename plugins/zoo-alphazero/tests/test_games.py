"""The rules on edge cases (wins, draws, refusals, symmetries, batching) and the ``Game/`` envs."""

from __future__ import annotations

import numpy as np
import pytest
from zoo_alphazero.env import GameEnv, game_family, game_of, list_ids
from zoo_alphazero.games import CONNECT_FOUR, GAMES, TIC_TAC_TOE, Game, IllegalMove, State, outcome_for_first

from zoo_core.envs import make_env
from zoo_core.errors import ZooError
from zoo_core.host.manager import build_catalog, make_manager
from zoo_core.running.evaluation import EvalProtocol, evaluate

TTT_LINES = {
    "row 0": [0, 1, 2], "row 1": [3, 4, 5], "row 2": [6, 7, 8],
    "col 0": [0, 3, 6], "col 1": [1, 4, 7], "col 2": [2, 5, 8],
    "diagonal": [0, 4, 8], "antidiagonal": [2, 4, 6],
}
# A legal Connect Four game that fills the board with no four in a row (found by search).
C4_DRAW = [2, 5, 2, 4, 2, 4, 6, 1, 6, 2, 4, 2, 3, 2, 1, 5, 4, 6, 6, 3, 3, 5, 4, 4, 0, 3, 3, 6, 0, 3, 5, 5, 6, 1,
           0, 0, 1, 1, 5, 0, 1, 0]


def absolute(state: State) -> np.ndarray:
    """The first board with +1 for the first player's stones (X), whoever is to move."""
    return state.board[0] * (1 if state.player[0] == 0 else -1)


def random_positions(game: Game, n: int, seed: int) -> State:
    """``n`` positions reached by random legal moves (some finished), stacked into one batch."""
    rng = np.random.default_rng(seed)
    boards, players = [], []
    for _ in range(n):
        state = game.initial(1)
        for _ in range(rng.integers(0, game.rows * game.cols + 1)):
            legal = np.flatnonzero(game.legal(state)[0])
            if not len(legal):
                break
            state = game.step(state, rng.choice(legal, size=1)).state
        boards.append(state.board[0])
        players.append(state.player[0])
    return State(np.stack(boards), np.array(players, np.int8))


def same(a: State, b: State) -> bool:
    return np.array_equal(a.board, b.board) and np.array_equal(a.player, b.player)


# --- tic-tac-toe -------------------------------------------------------------------------------


def filler(game: Game, line: list[int], n: int) -> list[int]:
    """``n`` cells off ``line`` that hold no line of their own."""
    others = [c for c in range(game.rows * game.cols) if c not in line]
    chosen: list[int] = []
    for c in others:
        trial = chosen + [c]
        if not any(set(L) <= set(trial) for L in game.lines.tolist()):
            chosen = trial
        if len(chosen) == n:
            return chosen
    raise AssertionError("no filler")


@pytest.mark.parametrize("winner", [0, 1])
@pytest.mark.parametrize("name", list(TTT_LINES))
def test_tic_tac_toe_every_line_wins_for_either_player(name, winner):
    line = TTT_LINES[name]
    if winner == 0:  # X: line[0], O, line[1], O, line[2]
        other = filler(TIC_TAC_TOE, line, 2)
        record = [line[0], other[0], line[1], other[1], line[2]]
    else:  # O completes the line on move 6
        other = filler(TIC_TAC_TOE, line, 3)
        record = [other[0], line[0], other[1], line[1], other[2], line[2]]
    before, _, done_before = TIC_TAC_TOE.replay(record[:-1])
    state, reward, done = TIC_TAC_TOE.replay(record)
    assert not done_before and not TIC_TAC_TOE.won_by_last(before.board)[0]
    assert (reward, done) == (1.0, True)
    assert TIC_TAC_TOE.won_by_last(state.board)[0]
    assert outcome_for_first(reward, mover=winner) == (1.0 if winner == 0 else -1.0)
    assert not TIC_TAC_TOE.legal(state).any()
    # The winner's stones fill the line, seen from the board's absolute colours.
    assert (absolute(state).reshape(-1)[line] == (1 if winner == 0 else -1)).all()


def test_tic_tac_toe_full_board_draw_and_ninth_move_win():
    # X O X / X O O / O X X: no line.
    state, reward, done = TIC_TAC_TOE.replay([0, 1, 2, 4, 3, 5, 7, 6, 8])
    assert (reward, done) == (0.0, True)
    assert not TIC_TAC_TOE.won_by_last(state.board)[0] and TIC_TAC_TOE.finished(state)[0]
    assert absolute(state).reshape(-1).tolist() == [1, -1, 1, 1, -1, -1, -1, 1, 1]
    # X O X / O X O / O X X: the ninth move fills the board and completes 0-4-8: a win, not a draw.
    state, reward, done = TIC_TAC_TOE.replay([0, 1, 2, 3, 4, 5, 7, 6, 8])
    assert (reward, done) == (1.0, True)
    assert TIC_TAC_TOE.won_by_last(state.board)[0] and (state.board != 0).all()


def test_tic_tac_toe_refuses_taken_cells_and_moves_after_the_end():
    state = TIC_TAC_TOE.replay([4])[0]
    assert TIC_TAC_TOE.legal(state)[0].tolist() == [True] * 4 + [False] + [True] * 4
    with pytest.raises(IllegalMove, match=r"^TicTacToe: move 5 is illegal: cell 5 is taken$"):
        TIC_TAC_TOE.step(state, np.array([4]))
    with pytest.raises(IllegalMove, match="out of range 0..8"):
        TIC_TAC_TOE.step(state, np.array([9]))
    over = TIC_TAC_TOE.replay([0, 3, 1, 4, 2])[0]
    with pytest.raises(IllegalMove, match="move 9 is illegal: the game is over"):
        TIC_TAC_TOE.step(over, np.array([8]))


# --- Connect Four ------------------------------------------------------------------------------

C4_WINS = {
    # X fills the bottom row's columns 1-4 while O stacks on top.
    "horizontal": ([0, 0, 1, 1, 2, 2, 3], 0, [(5, 0), (5, 1), (5, 2), (5, 3)]),
    # O stacks four in column 2 while X splits its stones over columns 1 and 3.
    "vertical": ([0, 1, 2, 1, 0, 1, 2, 1], 1, [(5, 1), (4, 1), (3, 1), (2, 1)]),
    # X climbs a staircase from the bottom left.
    "rising": ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 0, [(5, 0), (4, 1), (3, 2), (2, 3)]),
    # Its mirror image.
    "falling": ([6 - a for a in [0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3]], 0, [(5, 6), (4, 5), (3, 4), (2, 3)]),
}


@pytest.mark.parametrize("name", list(C4_WINS))
def test_connect_four_wins_in_every_direction(name):
    record, winner, cells = C4_WINS[name]
    assert not CONNECT_FOUR.replay(record[:-1])[2]
    state, reward, done = CONNECT_FOUR.replay(record)
    assert (reward, done) == (1.0, True)
    assert len(record) % 2 == (1 if winner == 0 else 0)  # the winner made the last move
    board = absolute(state)
    assert [int(board[r, c]) for r, c in cells] == [1 if winner == 0 else -1] * 4
    with pytest.raises(IllegalMove, match="the game is over"):
        CONNECT_FOUR.step(state, np.array([5]))


def test_connect_four_gravity_full_columns_and_range():
    state = CONNECT_FOUR.initial(1)
    state = CONNECT_FOUR.step(state, np.array([3])).state
    assert absolute(state)[5, 3] == 1 and np.count_nonzero(state.board) == 1
    state = CONNECT_FOUR.step(state, np.array([3])).state
    assert absolute(state)[4, 3] == -1 and absolute(state)[5, 3] == 1
    full = CONNECT_FOUR.replay([0] * 6)[0]
    assert (absolute(full)[:, 0] == [-1, 1, -1, 1, -1, 1]).all()
    assert CONNECT_FOUR.legal(full)[0].tolist() == [False] + [True] * 6
    with pytest.raises(IllegalMove, match=r"^ConnectFour: move 1 is illegal: column 1 is full$"):
        CONNECT_FOUR.step(full, np.array([0]))
    for bad in (7, -1):
        with pytest.raises(IllegalMove, match=f"move {bad} is out of range 0..6"):
            CONNECT_FOUR.step(full, np.array([bad]))


def test_connect_four_full_board_draw():
    state, reward, done = CONNECT_FOUR.replay(C4_DRAW)
    assert (reward, done, len(C4_DRAW)) == (0.0, True, 42)
    assert (state.board != 0).all() and not CONNECT_FOUR.won_by_last(state.board)[0]
    assert (absolute(state) == 1).sum() == 21 and not CONNECT_FOUR.legal(state).any()
    # One move before the end the game is still on, with only the last column open.
    before = CONNECT_FOUR.replay(C4_DRAW[:-1])[0]
    assert np.flatnonzero(CONNECT_FOUR.legal(before)[0]).tolist() == [C4_DRAW[-1]]


# --- shared machinery --------------------------------------------------------------------------


@pytest.mark.parametrize("game", GAMES.values(), ids=list(GAMES))
def test_replay_equals_stepping_and_names_the_illegal_move(game):
    record = C4_DRAW[:20] if game.gravity else [4, 0, 8, 2, 1]
    state = game.initial(1)
    for a in record:
        step = game.step(state, np.array([a]))
        state = step.state
    replayed, reward, done = game.replay(record)
    assert same(replayed, state) and (reward, done) == (float(step.reward[0]), bool(step.done[0]))
    bad = [0] * 7 if game.gravity else [4, 0, 4]
    unit = "column 1 is full" if game.gravity else "cell 5 is taken"
    with pytest.raises(IllegalMove, match=f"^move {len(bad)} of the record: {game.name}: .*{unit}$"):
        game.replay(bad)


def test_tic_tac_toe_has_eight_distinct_symmetries_forming_a_group():
    perms = [p for _, p in TIC_TAC_TOE.symmetries()]
    assert len(perms) == 8 and len({tuple(p) for p in perms}) == 8
    assert all(sorted(p.tolist()) == list(range(9)) for p in perms)
    # Composing two symmetries gives a third: the set is the square's whole symmetry group.
    assert {tuple(p[q]) for p in perms for q in perms} == {tuple(p) for p in perms}
    names = dict(TIC_TAC_TOE.symmetries())
    assert names["rot90"].tolist() == [2, 5, 8, 1, 4, 7, 0, 3, 6]
    assert [p.tolist() for _, p in CONNECT_FOUR.symmetries()][1][:7] == [6, 5, 4, 3, 2, 1, 0]
    assert CONNECT_FOUR.action_perm(dict(CONNECT_FOUR.symmetries())["mirror"]).tolist() == [6, 5, 4, 3, 2, 1, 0]


@pytest.mark.parametrize("game", GAMES.values(), ids=list(GAMES))
def test_symmetries_keep_wins_legal_moves_and_the_effect_of_moves(game):
    states = random_positions(game, 40, seed=1)
    b = len(states.board)
    for name, perm in game.symmetries():
        image = State(states.board.reshape(b, -1)[:, perm].reshape(states.board.shape), states.player)
        act = game.action_perm(perm)
        assert (game.legal(image) == game.legal(states)[:, act]).all(), name
        assert (game.won_by_last(image.board) == game.won_by_last(states.board)).all(), name
        assert (game.finished(image) == game.finished(states)).all(), name
        # Action j in the image is action act[j] in the original: playing them gives images again.
        for i in np.flatnonzero(~game.finished(states)):
            for j in np.flatnonzero(game.legal(image)[i]):
                one = State(states.board[i:i + 1], states.player[i:i + 1])
                mine = game.step(State(image.board[i:i + 1], image.player[i:i + 1]), np.array([j]))
                theirs = game.step(one, np.array([act[j]]))
                assert np.array_equal(mine.state.board.reshape(-1), theirs.state.board.reshape(-1)[perm]), name
                assert mine.reward[0] == theirs.reward[0] and mine.done[0] == theirs.done[0]


@pytest.mark.parametrize("game", GAMES.values(), ids=list(GAMES))
def test_observation_round_trips(game):
    states = random_positions(game, 30, seed=2)
    obs = game.observe(states)
    assert obs.shape == (30, *game.obs_shape) and obs.dtype == np.float32
    assert set(np.unique(obs)) <= {0.0, 1.0} and (obs.sum(1) <= 1).all()
    assert same(game.from_observation(obs), states)
    assert same(game.from_observation(obs[3]), State(states.board[3:4], states.player[3:4]))


def test_parse_and_format_moves():
    assert TIC_TAC_TOE.parse_move(" 9 ") == 8 and CONNECT_FOUR.parse_move("1") == 0
    assert TIC_TAC_TOE.format_move(8) == "9"
    cases = [
        (TIC_TAC_TOE, "x", "expected a cell number 1-9, got 'x'"),
        (TIC_TAC_TOE, "0", "expected a cell number 1-9, got 0"),
        (TIC_TAC_TOE, "10", "expected a cell number 1-9, got 10"),
        (CONNECT_FOUR, "8", "expected a column number 1-7, got 8"),
        (CONNECT_FOUR, "", "expected a column number 1-7, got ''"),
    ]
    for game, text, message in cases:
        with pytest.raises(IllegalMove) as info:
            game.parse_move(text)
        assert str(info.value) == message


@pytest.mark.parametrize("game", GAMES.values(), ids=list(GAMES))
def test_batched_step_equals_one_by_one(game):
    states = random_positions(game, 60, seed=3)
    live = ~game.finished(states)
    states = State(states.board[live], states.player[live])
    rng = np.random.default_rng(4)
    action = [rng.choice(np.flatnonzero(m)) for m in game.legal(states)]
    # Mixed in: a winning move and a drawing last move, so the batch holds every kind of step.
    win, draw = (C4_WINS["rising"][0], C4_DRAW) if game.gravity else ([0, 3, 1, 4, 2], [0, 1, 2, 4, 3, 5, 7, 6, 8])
    ends = [game.replay(record[:-1])[0] for record in (win, draw)]
    states = State(np.concatenate([states.board] + [e.board for e in ends]),
                   np.concatenate([states.player] + [e.player for e in ends]))
    action = np.array(action + [win[-1], draw[-1]])
    batch = game.step(states, action)
    assert batch.done[-2:].all() and batch.reward[-2:].tolist() == [1.0, 0.0]
    for i, a in enumerate(action):
        one = game.step(State(states.board[i:i + 1], states.player[i:i + 1]), np.array([a]))
        assert np.array_equal(one.state.board[0], batch.state.board[i])
        assert one.state.player[0] == batch.state.player[i] == 1 - states.player[i]
        assert (one.reward[0], one.done[0]) == (batch.reward[i], batch.done[i])
    # One illegal row refuses the whole batch, naming that row's move.
    action[-1] = np.flatnonzero(~game.legal(states)[-1])[0] if (~game.legal(states)[-1]).any() else 99
    with pytest.raises(IllegalMove):
        game.step(states, action)


# --- the Game/ envs ----------------------------------------------------------------------------


def lowest(game: Game, state: State, rng: np.random.Generator) -> int:
    """A scripted opponent: the lowest legal action."""
    return int(np.flatnonzero(game.legal(state)[0])[0])


def test_env_colours_alternate_with_the_seed_and_the_episode():
    env = GameEnv(TIC_TAC_TOE)
    obs, info = env.reset(seed=0)
    assert info["player"] == 0 and env.moves == [] and not obs.any() and info["legal"].all()
    obs, info = env.reset(seed=1)
    assert info["player"] == 1 and len(env.moves) == 1
    # The opponent's first stone is on plane 1 (the opponent's), none on the agent's plane.
    assert obs[0].sum() == 0 and obs[1].reshape(-1)[env.moves[0]] == 1 and obs[1].sum() == 1
    assert info["legal"].sum() == 8 and not info["legal"][env.moves[0]]
    assert [env.reset(seed=4)[1]["player"], env.reset()[1]["player"], env.reset()[1]["player"]] == [0, 1, 0]
    assert env.reset(seed=1, options={"agent_first": True})[1]["player"] == 0
    assert env.observation_space.contains(obs) and env.action_space.n == 9


def test_env_rewards_win_loss_and_draw_from_the_agents_side():
    env = GameEnv(TIC_TAC_TOE, opponent=lowest)
    env.reset(seed=0)
    results = [env.step(a)[1:3] for a in (4, 2, 6)]  # opponent: 0, 1; the agent completes 2-4-6
    assert results == [(0.0, False), (0.0, False), (1.0, True)]
    assert env.moves == [4, 0, 2, 1, 6]
    env.reset(seed=0)
    steps = [env.step(a) for a in (8, 7, 5)]  # opponent: 0, 1, then 2 completes the top row
    assert [s[1:3] for s in steps] == [(0.0, False), (0.0, False), (-1.0, True)]
    obs = steps[-1][0]
    assert obs[1].reshape(-1)[[0, 1, 2]].tolist() == [1, 1, 1]  # the opponent's line, on its plane
    assert obs[0].reshape(-1)[[5, 7, 8]].tolist() == [1, 1, 1] and obs.sum() == 6
    # As O against the lowest-cell X: X 0, O 1, X 2, O 3, X 4, O 6, X 5, O 8, X 7 fills the board, no line.
    env.reset(seed=1)
    results = [env.step(a)[1:3] for a in (1, 3, 6, 8)]
    assert results == [(0.0, False)] * 3 + [(0.0, True)]
    assert env.moves == [0, 1, 2, 3, 4, 6, 5, 8, 7] and TIC_TAC_TOE.replay(env.moves)[1:] == (0.0, True)


def test_env_rewards_match_the_record_against_the_random_opponent():
    env = GameEnv(CONNECT_FOUR)
    for seed in range(10):
        _, info = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, done, truncated, info = env.step(int(np.flatnonzero(info["legal"])[-1]))
            total += reward
            assert not truncated
        _, last, _ = CONNECT_FOUR.replay(env.moves)
        agent_moved_last = (len(env.moves) - 1) % 2 == info["player"]
        assert total == (last if agent_moved_last else -last)
        assert same(env.unwrapped.state, CONNECT_FOUR.replay(env.moves)[0])
        assert not info["legal"].any()


def test_env_refuses_illegal_moves_with_the_games_message():
    env = GameEnv(TIC_TAC_TOE, opponent=lowest)
    env.reset(seed=0)
    env.step(4)
    with pytest.raises(IllegalMove, match=r"^TicTacToe: move 1 is illegal: cell 1 is taken$"):
        env.step(0)
    with pytest.raises(IllegalMove, match="out of range"):
        env.step(9)
    for a in (2, 6):
        env.step(a)
    with pytest.raises(IllegalMove, match="the game is over"):
        env.step(8)
    with pytest.raises(ZooError, match="unknown opponent 'best'"):
        GameEnv(TIC_TAC_TOE, opponent="best")


def test_env_render_and_seeded_reproducibility():
    env = GameEnv(CONNECT_FOUR, render_mode="ansi")
    env.reset(seed=3)
    env.step(3)
    text = env.render()
    assert text == CONNECT_FOUR.render(env.state) and text.endswith("1 2 3 4 5 6 7")
    assert text.count("X") == 2 and text.count("O") == 1  # the agent (O) played once, the opponent (X) twice
    assert GameEnv(TIC_TAC_TOE).render() is None
    with pytest.raises(ZooError, match="renders as 'ansi'"):
        GameEnv(TIC_TAC_TOE, render_mode="human")
    image = GameEnv(CONNECT_FOUR, render_mode="rgb_array")
    image.reset(seed=0)  # seed 0: the agent moves first
    image.step(3)
    frame = image.render()
    assert frame.shape == (6 * 48, 7 * 48, 3) and frame.dtype == np.uint8
    # The agent's first stone (red, first player) sits at the bottom of column 4, the cell's centre.
    assert tuple(frame[5 * 48 + 24, 3 * 48 + 24]) == (215, 40, 40)

    def play(seed: int) -> list[int]:
        env = GameEnv(CONNECT_FOUR)
        _, info = env.reset(seed=seed)
        done = False
        while not done:
            _, _, done, _, info = env.step(int(np.flatnonzero(info["legal"])[0]))
        return env.moves

    assert play(6) == play(6) and play(8) == play(8)
    assert len({tuple(play(s)) for s in (0, 2, 4, 6, 8)}) > 1  # the opponent's moves follow the seed


def test_game_family_through_the_plugin_and_core_evaluation():
    families = list(build_catalog(make_manager(["alphazero"])).env_families.values())
    assert "games" in [f.name for f in families]
    assert list_ids() == ["Game/TicTacToe-v0", "Game/ConnectFour-v0"]
    env = make_env("Game/ConnectFour-v0", training=False, families=families)
    assert isinstance(env, GameEnv) and env.game is CONNECT_FOUR and env.observation_space.shape == (2, 6, 7)
    assert game_of("Game/TicTacToe-v0") is TIC_TAC_TOE
    with pytest.raises(ZooError, match="did you mean Game/TicTacToe-v0"):
        make_env("Game/TicTacToe-v1", training=False, families=[game_family()])
    with pytest.raises(ZooError, match="'CartPole-v1' is not a board game"):
        game_of("CartPole-v1")

    def first_free(obs: np.ndarray) -> np.ndarray:
        return np.array([int(np.flatnonzero(o.sum(0).reshape(-1) == 0)[0]) for o in obs])

    protocol = EvalProtocol("Game/TicTacToe-v0", episodes=6, seed=10)
    make = lambda: make_env("Game/TicTacToe-v0", training=False, families=families)  # noqa: E731
    one, three = evaluate(first_free, make, protocol, batch=1), evaluate(first_free, make, protocol, batch=3)
    assert one.returns == three.returns and one.lengths == three.lengths
    assert set(one.returns) <= {-1.0, 0.0, 1.0} and all(1 <= n <= 5 for n in one.lengths)
