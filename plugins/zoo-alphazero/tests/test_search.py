"""The search on hand-made positions: wins found, losses avoided, values backed up with the right
sign, root noise, tree reuse, temperatures, batching and the UCT rule."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from zoo_alphazero.games import CONNECT_FOUR, TIC_TAC_TOE, Game, State
from zoo_alphazero.mcts import SearchConfig, Tree, advance, init_tree, search, set_roots, visit_policy
from zoo_alphazero.models import Evaluator, game_model, rollout_evaluator, uniform_evaluator

# Positions as game records, with the move that matters. The winning moves are not the lowest legal
# action, so the search's tie-breaking (first maximum) cannot find them by accident.
TTT_WIN = ([6, 3, 7, 4], 8)  # X: 6 7, O: 3 4; X to move wins at 9 (cell 8) and must, or O wins at 6
C4_WIN = ([4, 4, 5, 5, 6, 0], 3)  # X holds columns 5-7 of the bottom row: column 4 (action 3) wins
TTT_BLOCK = ([0, 4, 8, 2], 6)  # O: 5 3 threaten 7 (cell 6); X has no win of its own
C4_BLOCK = ([6, 0, 0, 1, 1, 2], 3)  # O holds columns 1-3 of the bottom row; X must take column 4


def position(game: Game, record: list[int]) -> State:
    return game.replay(record)[0]


def run(
    game: Game, state: State, evaluate: Evaluator, sims: int, config: SearchConfig | None = None,
    rng: np.random.Generator | None = None,
) -> Tree:
    """``sims`` simulations from fresh roots at ``state`` (a batch)."""
    root_fn, recurrent_fn = game_model(game, evaluate)
    return search(init_tree(root_fn(state), state, 1), recurrent_fn, sims, config or SearchConfig(), rng)


def prior_on(game: Game, action: int, logit: float, value: float = 0.0) -> Evaluator:
    """A hand-made evaluator: logit ``logit`` on ``action`` (0 elsewhere), the same value everywhere."""

    def evaluate(state: State) -> tuple[np.ndarray, np.ndarray]:
        logits = np.zeros((len(state.board), game.num_actions), np.float32)
        logits[:, action] = logit
        return logits, np.full(len(state.board), value, np.float32)

    return evaluate


def share(tree: Tree, action: int) -> float:
    visits = tree.child_visits[0, 0]
    return float(visits[action] / visits.sum())


# --- (a) wins found, (b) losses avoided, (c) visits concentrate, (d) against a misleading prior ------


@pytest.mark.parametrize("evaluator", ["uniform", "rollout"])
@pytest.mark.parametrize(("game", "case"), [(TIC_TAC_TOE, TTT_WIN), (CONNECT_FOUR, C4_WIN)], ids=["ttt", "c4"])
def test_mate_in_one_is_found_with_a_root_q_of_exactly_one(game, case, evaluator):
    record, win = case
    evaluate = uniform_evaluator(game) if evaluator == "uniform" else rollout_evaluator(game, np.random.default_rng(0))
    tree = run(game, position(game, record), evaluate, 60)
    assert visit_policy(tree, 0)[0].argmax() == win
    assert tree.root_q()[0, win] == 1.0  # the reward itself: the edge ends the game (discount 0)
    child = tree.children[0, 0, win]
    assert tree.terminal[0, child] and tree.child_reward[0, 0, win] == 1.0 and tree.child_discount[0, 0, win] == 0


@pytest.mark.parametrize(("game", "case", "sims"), [(TIC_TAC_TOE, TTT_BLOCK, 100), (CONNECT_FOUR, C4_BLOCK, 150)],
                         ids=["ttt", "c4"])
def test_the_only_block_is_chosen(game, case, sims):
    record, block = case
    tree = run(game, position(game, record), uniform_evaluator(game), sims)
    assert visit_policy(tree, 0)[0].argmax() == block
    q = tree.root_q()[0]
    legal = np.flatnonzero(game.legal(position(game, record))[0])
    # Every other move was refuted: the opponent's reply won, so its Q is below zero.
    others = [a for a in legal if a != block]
    assert (q[others] < 0).all() and q[block] >= 0


def test_visits_concentrate_on_the_winning_move_as_simulations_grow():
    record, win = TTT_WIN
    shares = [share(run(TIC_TAC_TOE, position(TIC_TAC_TOE, record), uniform_evaluator(TIC_TAC_TOE), n), win)
              for n in (10, 25, 100, 400)]
    assert shares == sorted(shares) and shares[0] < 0.8 <= shares[1]
    assert shares == pytest.approx([6 / 10, 21 / 25, 92 / 100, 384 / 400])  # hand-checked with PUCT c=1.25


@pytest.mark.parametrize(("game", "case", "bad"), [(TIC_TAC_TOE, TTT_WIN, 0), (CONNECT_FOUR, C4_WIN, 0)],
                         ids=["ttt", "c4"])
def test_puct_overcomes_a_prior_on_a_bad_move(game, case, bad):
    record, win = case
    state = position(game, record)
    evaluate = prior_on(game, bad, 3.0)
    early = run(game, state, evaluate, 10)
    assert early.prior[0, 0, bad] > 0.75 and early.child_visits[0, 0].argmax() == bad  # the prior leads at first
    late = run(game, state, evaluate, 200)
    assert late.child_visits[0, 0].argmax() == win and share(late, win) > 0.8


# --- (e) value backup, by hand ---------------------------------------------------------------------


def test_backed_up_values_on_a_three_simulation_tree():
    # O X X / O O . / X . X, O to move: O wins at cell 5 (3-4-5); O at cell 7 leaves cell 5 to X, who
    # wins there (2-5-8).
    state = position(TIC_TAC_TOE, [1, 0, 2, 3, 6, 4, 8])
    assert np.flatnonzero(TIC_TAC_TOE.legal(state)[0]).tolist() == [5, 7] and state.player[0] == 1
    # Prior 0.9 on action 7, 0.1 on 5; every live position valued 0.5 by its player to move.
    tree = run(TIC_TAC_TOE, state, prior_on(TIC_TAC_TOE, 7, float(np.log(9.0)), value=0.5), 3)
    # Sim 1: scores 7: 1.25*.9 = 1.125, 5: .125 -> expand 7 (node 1, X to move, value .5);
    #   root gets -0.5: (0.5 + -0.5) / 2 = 0.
    # Sim 2: 7: -0.5 + 1.25*.9*sqrt(2)/2 = .295 beats 5: 1.25*.1*sqrt(2) = .177 -> node 1's only move,
    #   X wins (node 2, terminal): node 1 (0.5 + 1) / 2 = .75, root (0 * 2 - 1) / 3 = -1/3.
    # Sim 3: 7: -.75 + 1.25*.9*sqrt(3)/3 = -.10 loses to 5: 1.25*.1*sqrt(3) = .217 -> O wins (node 3):
    #   root (-1/3 * 3 + 1) / 4 = 0.
    assert tree.size[0] == 4
    assert tree.children[0, 0, 7] == 1 and tree.children[0, 1, 5] == 2 and tree.children[0, 0, 5] == 3
    assert tree.terminal[0, :4].tolist() == [False, False, True, True]
    assert tree.node_visits[0, :4].tolist() == [4, 2, 1, 1]
    assert tree.node_value[0, :4] == pytest.approx([0.0, 0.75, 0.0, 0.0], abs=1e-6)
    assert tree.child_visits[0, 0, [5, 7]].tolist() == [1, 2]
    assert tree.child_reward[0, 1, 5] == 1.0 and tree.child_discount[0, 0, 7] == -1.0
    # O's move 7 lets X win: positive for X at node 1, negative Q for O at the root.
    assert tree.root_q()[0, [5, 7]] == pytest.approx([1.0, -0.75])
    assert tree.root_value()[0] == pytest.approx(0.0, abs=1e-6)
    # Two simulations in, the root had seen only X's win: -1/3.
    assert run(TIC_TAC_TOE, state, prior_on(TIC_TAC_TOE, 7, float(np.log(9.0)), 0.5), 2).root_value()[0] == \
        pytest.approx(-1 / 3)


# --- (f) root noise -----------------------------------------------------------------------------


def test_dirichlet_noise_stays_on_legal_moves_and_follows_the_rng():
    game = TIC_TAC_TOE
    state = State(*(np.concatenate(x) for x in zip(position(game, TTT_WIN[0]), position(game, []), strict=True)))
    evaluate = prior_on(game, 8, 1.0)
    plain = run(game, state, evaluate, 0).prior[:, 0]
    legal = game.legal(state)
    noisy = SearchConfig(dirichlet_alpha=0.3, noise_fraction=0.25)
    mixed = run(game, state, evaluate, 0, noisy, np.random.default_rng(7)).prior[:, 0]
    assert mixed.sum(-1) == pytest.approx([1.0, 1.0]) and (mixed[~legal] == 0).all() and (mixed[legal] > 0).all()
    noise = (mixed - 0.75 * plain) / 0.25  # what was mixed in is itself a distribution over legal moves
    assert noise.sum(-1) == pytest.approx([1.0, 1.0]) and (noise > -1e-6).all() and (noise[~legal] == 0).all()
    again = run(game, state, evaluate, 0, noisy, np.random.default_rng(7)).prior[:, 0]
    other = run(game, state, evaluate, 0, noisy, np.random.default_rng(8)).prior[:, 0]
    assert np.array_equal(mixed, again) and not np.allclose(mixed, other)
    off = SearchConfig(dirichlet_alpha=0.3, noise_fraction=0.0)
    assert np.array_equal(run(game, state, evaluate, 0, off).prior[:, 0], plain)
    with pytest.raises(ValueError, match="rng"):
        run(game, state, evaluate, 1, noisy)


# --- (g) tree reuse -----------------------------------------------------------------------------


def descendants(tree: Tree, b: int, node: int) -> list[int]:
    """``node`` and the nodes below it in tree ``b``, by following the parent links."""
    out = [node]
    for j in range(node + 1, tree.size[b]):
        if tree.parent[b, j] in out:
            out.append(j)
    return out


def test_advance_keeps_the_subtree_and_further_search_adds_to_it():
    game = TIC_TAC_TOE
    root_fn, recurrent_fn = game_model(game, uniform_evaluator(game))
    state = State(*(np.concatenate(x) for x in zip(position(game, []), position(game, [4]), strict=True)))
    old = search(init_tree(root_fn(state), state, 1), recurrent_fn, 80)
    action = old.child_visits[:, 0].argmax(-1)
    child = old.children[[0, 1], 0, action]
    new, reused = advance(old, action)
    assert reused.tolist() == [True, True]
    for b in range(2):
        c = child[b]
        assert new.node_visits[b, 0] == old.node_visits[b, c] and new.node_value[b, 0] == old.node_value[b, c]
        for field in ("child_visits", "child_value", "prior", "child_reward", "child_discount"):
            assert np.array_equal(getattr(new, field)[b, 0], getattr(old, field)[b, c]), field
        assert np.array_equal(new.children[b, 0] >= 0, old.children[b, c] >= 0)
        assert np.array_equal(new.embedding.board[b, 0], old.embedding.board[b, c])
        # The kept nodes are exactly the old child's descendants, each its parent's position after
        # its action, and every expanded node was visited once more than its children were.
        size = new.size[b]
        assert size == len(descendants(old, b, c))
        live = ~new.terminal[b, :size]
        assert (new.node_visits[b, :size][live] == 1 + new.child_visits[b, :size].sum(-1)[live]).all()
        for j in range(1, size):
            p, a = new.parent[b, j], new.action_in[b, j]
            parent = State(new.embedding.board[b, p][None], new.embedding.player[b, p][None])
            assert np.array_equal(game.step(parent, np.array([a])).state.board[0], new.embedding.board[b, j])
            assert new.children[b, p, a] == j
        assert (new.parent[b, size:] == -1).all() and (new.node_visits[b, size:] == 0).all()
    more = search(new, recurrent_fn, 20)
    assert (more.node_visits[:, 0] == new.node_visits[:, 0] + 20).all()
    assert (more.child_visits[:, 0].sum(-1) == new.child_visits[:, 0].sum(-1) + 20).all()


def test_advance_into_the_unknown_needs_fresh_roots():
    game = TIC_TAC_TOE
    root_fn, recurrent_fn = game_model(game, uniform_evaluator(game))
    # Row 0: one simulation expands only action 0. Row 1: the win at cell 8 is expanded and terminal.
    state = State(*(np.concatenate(x) for x in zip(position(game, []), position(game, TTT_WIN[0]), strict=True)))
    tree = search(init_tree(root_fn(state), state, 1), recurrent_fn, 30)
    empty = game.initial(1)
    one = search(init_tree(root_fn(empty), empty, 1), recurrent_fn, 1)
    assert np.flatnonzero(one.children[0, 0] >= 0).tolist() == [0]
    assert advance(one, np.array([4]))[1].tolist() == [False]
    new, reused = advance(tree, np.array([tree.child_visits[0, 0].argmax(), 8]))
    assert reused.tolist() == [True, False]
    assert new.node_visits[1, 0] == 0 and new.size[1] == 1  # an empty root, for the caller to refill
    # The game in row 1 is over, so the caller starts a new one there.
    fresh = position(game, [0])
    refilled = set_roots(new, np.array([False, True]), root_fn(fresh), fresh)
    assert refilled.node_visits[1, 0] == 1 and refilled.size[1] == 1 and (refilled.children[1] == -1).all()
    assert refilled.prior[1, 0].tolist() == pytest.approx([0.0] + [1 / 8] * 8)
    assert np.array_equal(refilled.embedding.board[1, 0], fresh.board[0])
    for field in ("node_visits", "node_value", "children", "child_visits", "size"):  # row 0 untouched
        assert np.array_equal(getattr(refilled, field)[0], getattr(new, field)[0]), field
    done = search(refilled, recurrent_fn, 10)
    assert done.node_visits[:, 0].tolist() == [new.node_visits[0, 0] + 10, 11]


# --- (h) temperatures -----------------------------------------------------------------------------


def test_visit_policy_temperatures():
    game = TIC_TAC_TOE
    root_fn, _ = game_model(game, uniform_evaluator(game))
    tree = init_tree(root_fn(game.initial(1)), game.initial(1), 1)
    visits = np.array([[3, 1, 0, 4, 4, 0, 0, 2, 6]], np.int32)
    tree = replace(tree, child_visits=visits[:, None, :])
    assert visit_policy(tree, 1.0)[0] == pytest.approx(visits[0] / 20)
    assert visit_policy(tree, 0.5)[0] == pytest.approx(visits[0] ** 2 / (visits[0] ** 2).sum())
    assert visit_policy(tree, 0.0)[0].tolist() == [0] * 8 + [1]
    cold = visit_policy(tree, 0.01)[0]
    assert np.isfinite(cold).all() and cold[8] == pytest.approx(1.0) and cold.sum() == pytest.approx(1.0)
    tied = replace(tree, child_visits=np.array([[[5, 0, 5, 1, 0, 0, 0, 0, 0]]], np.int32))
    assert visit_policy(tied, 0.0)[0].tolist() == [0.5, 0, 0.5] + [0] * 6
    assert visit_policy(tied, 0.001)[0][[0, 2]] == pytest.approx([0.5, 0.5])
    big = replace(tree, child_visits=np.array([[[10**6, 10**6 - 1] + [0] * 7]], np.int32))
    assert np.isfinite(visit_policy(big, 0.001)).all()


# --- (i) batching ---------------------------------------------------------------------------------


def fixed_evaluator(game: Game) -> Evaluator:
    """Deterministic, position-dependent and exact in float32 (small integers over a power of two),
    so a position's output cannot depend on what else is in the batch."""
    w = np.random.default_rng(0).integers(-2, 3, size=(game.rows * game.cols, game.num_actions))
    v = np.random.default_rng(1).integers(-2, 3, size=game.rows * game.cols)

    def evaluate(state: State) -> tuple[np.ndarray, np.ndarray]:
        flat = state.board.reshape(len(state.board), -1).astype(np.int64)
        return (flat @ w).astype(np.float32) / 4, np.clip(flat @ v / 8, -1, 1).astype(np.float32)

    return evaluate


@pytest.mark.parametrize(("game", "records"), [
    (TIC_TAC_TOE, [[], TTT_WIN[0], TTT_BLOCK[0], [0, 1, 2, 4, 3, 5, 7, 6]]),
    (CONNECT_FOUR, [[], C4_WIN[0], C4_BLOCK[0]]),
], ids=["ttt", "c4"])
def test_batched_search_equals_searching_each_tree_alone(game, records):
    evaluate = fixed_evaluator(game)
    states = [position(game, r) for r in records]
    batch = State(np.concatenate([s.board for s in states]), np.concatenate([s.player for s in states]))
    together = run(game, batch, evaluate, 40)
    for b, state in enumerate(states):
        alone = run(game, state, evaluate, 40)
        for field in ("node_visits", "node_value", "parent", "action_in", "terminal", "children", "prior",
                      "child_visits", "child_value", "child_reward", "child_discount", "size"):
            assert np.array_equal(getattr(together, field)[b], getattr(alone, field)[0]), (b, field)
        assert np.array_equal(together.embedding.board[b], alone.embedding.board[0])


# --- (j) UCT ------------------------------------------------------------------------------------


@pytest.mark.parametrize("record", [[], TTT_WIN[0]])
def test_uct_visits_every_legal_child_before_revisiting(record):
    game = TIC_TAC_TOE
    state = position(game, record)
    legal = game.legal(state)[0]
    n = int(legal.sum())
    config = SearchConfig(rule="uct", c=1.4)
    for sims in range(1, n + 1):
        visits = run(game, state, uniform_evaluator(game), sims, config).child_visits[0, 0]
        assert visits.sum() == sims and visits.max() == 1 and (visits[~legal] == 0).all()
    visits = run(game, state, uniform_evaluator(game), n + 1, config).child_visits[0, 0]
    assert (visits[legal] >= 1).all() and visits.sum() == n + 1
