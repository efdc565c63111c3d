"""The predictron's pure functions against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_predictron import lambda_preturn, lambda_weights, maze_connectivity, preturns, random_mazes


def t(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def test_preturns_by_hand():
    r, gamma, v = t([1.0, 2.0]), t([0.5, 0.25]), t([10.0, 20.0, 40.0])
    # g0 = v0 = 10; g1 = r1 + γ1 v1 = 1 + 0.5·20 = 11; g2 = r1 + γ1 (r2 + γ2 v2) = 1 + 0.5 (2 + 0.25·40) = 7
    assert preturns(r, gamma, v).tolist() == [[10.0, 11.0, 7.0]]


def test_one_core_step():
    r, gamma, v = t([3.0]), t([0.9]), t([1.0, 2.0])
    assert preturns(r, gamma, v).tolist() == [[1.0, pytest.approx(3.0 + 0.9 * 2.0)]]
    # K = 1: g^λ = (1 − λ0) g0 + λ0 g1
    assert lambda_preturn(r, gamma, t([0.25]), v).tolist() == [pytest.approx(0.75 * 1.0 + 0.25 * 4.8)]


def test_lambda_preturn_by_hand():
    r, gamma, v = t([1.0, 2.0]), t([0.5, 0.25]), t([10.0, 20.0, 40.0])  # preturns 10, 11, 7
    lam = t([0.5, 0.5])
    # w0 = 1 − λ0 = 0.5, w1 = (1 − λ1) λ0 = 0.25, w2 = λ0 λ1 = 0.25: 5 + 2.75 + 1.75 = 9.5
    assert lambda_weights(lam).tolist() == [[0.5, 0.25, 0.25]]
    assert lambda_preturn(r, gamma, lam, v).tolist() == [9.5]


def test_lambda_limits_pick_the_first_and_the_last_preturn():
    r, gamma, v = t([1.0, 2.0, -1.0]), t([0.5, 0.25, 1.0]), t([10.0, 20.0, 40.0, 8.0])
    g = preturns(r, gamma, v)
    assert lambda_preturn(r, gamma, torch.zeros(1, 3, dtype=torch.float64), v).tolist() == [10.0]  # λ = 0: g0 = v0
    assert lambda_preturn(r, gamma, torch.ones(1, 3, dtype=torch.float64), v).tolist() == [g[0, 3].item()]  # λ = 1: gK
    assert g[0, 3].item() == pytest.approx(1 + 0.5 * (2 + 0.25 * (-1 + 1.0 * 8.0)))


def test_lambda_preturn_matches_the_papers_recursion_and_weights_sum_to_one():
    gen = torch.Generator().manual_seed(0)
    b, k = 5, 4
    r, v = torch.randn(b, k, generator=gen), torch.randn(b, k + 1, generator=gen)
    gamma, lam = torch.rand(b, k, generator=gen), torch.rand(b, k, generator=gen)
    # g^{k,λ} = (1 − λ^k) v^k + λ^k (r^{k+1} + γ^{k+1} g^{k+1,λ}), g^{K,λ} = v^K
    g = v[:, k]
    for i in range(k - 1, -1, -1):
        g = (1 - lam[:, i]) * v[:, i] + lam[:, i] * (r[:, i] + gamma[:, i] * g)
    assert torch.allclose(lambda_preturn(r, gamma, lam, v), g, atol=1e-6)
    assert torch.allclose(lambda_weights(lam).sum(dim=1), torch.ones(b), atol=1e-6)


def test_trailing_prediction_dimensions_broadcast():
    r, gamma, v = torch.ones(2, 3, 4), torch.full((2, 3, 4), 0.5), torch.zeros(2, 4, 4)
    assert preturns(r, gamma, v).shape == (2, 4, 4)
    assert lambda_preturn(r, gamma, torch.full((2, 3, 4), 0.5), v).shape == (2, 4)
    with pytest.raises(ValueError, match=r"v \[B, K\+1, \.\.\.\]"):
        preturns(r, gamma, torch.zeros(2, 3, 4))


def maze(*rows: str) -> np.ndarray:
    """A maze from text: '#' a wall, '.' free."""
    return np.array([[c == "#" for c in row] for row in rows])[None]


def test_a_corridor_joins_every_diagonal_cell():
    walls = maze(
        "...",
        ".#.",
        "...",
    )
    assert maze_connectivity(walls).tolist() == [[1.0, 0.0, 1.0]]  # (1, 1) is a wall


def test_a_dead_end_is_not_joined():
    walls = maze(
        ".#..",
        "##..",
        "..#.",
        "..#.",
    )
    # (0, 0) is boxed in; (1, 1) a wall; (2, 2) a wall; (3, 3) the corner itself.
    assert maze_connectivity(walls).tolist() == [[0.0, 0.0, 0.0, 1.0]]
    walls = maze(
        "....",
        ".##.",
        ".#..",
        "....",
    )
    # (2, 2) reaches the corner through (2, 3); (0, 0) around the outside.
    assert maze_connectivity(walls).tolist() == [[1.0, 0.0, 1.0, 1.0]]


def test_a_walled_in_corner_joins_nothing():
    walls = maze(
        "...",
        "..#",
        ".#.",
    )
    assert maze_connectivity(walls).tolist() == [[0.0, 0.0, 1.0]]  # the corner reaches only itself
    walls[0, 2, 2] = True
    assert maze_connectivity(walls).tolist() == [[0.0, 0.0, 0.0]]  # a walled corner: nothing


def test_mazes_are_labelled_each_on_its_own():
    walls = np.concatenate([maze("..", ".."), maze(".#", "#.")])
    assert maze_connectivity(walls).tolist() == [[1.0, 1.0], [0.0, 1.0]]
    with pytest.raises(ValueError, match="square bool mazes"):
        maze_connectivity(np.zeros((1, 2, 3), bool))


def test_random_mazes_keep_the_corner_free_at_the_density_asked():
    walls = random_mazes(np.random.default_rng(0), 200, size=20, density=0.3)
    assert walls.shape == (200, 20, 20) and walls.dtype == np.bool_
    assert not walls[:, -1, -1].any()
    assert abs(walls.mean() - 0.3) < 0.01
    assert np.array_equal(walls, random_mazes(np.random.default_rng(0), 200))  # seeded: reproducible


def test_preturn_losses_by_hand():
    from zoo_predictron import lambda_loss, preturn_loss

    g, y = t([1.0, 2.0, 3.0]), t(2.0).reshape(1)
    assert preturn_loss(g, y).item() == pytest.approx(0.5 * (1 + 0 + 1) / 3)  # uniform over K+1
    w = t([0.5, 0.25, 0.25])
    assert preturn_loss(g, y, w).item() == pytest.approx(0.5 * (0.5 * 1 + 0.25 * 1))  # usage weighting
    assert lambda_loss(t(2.5).reshape(1), y).item() == pytest.approx(0.125)


def test_the_consistency_loss_stops_the_gradient_at_the_lambda_preturn():
    from zoo_predictron import consistency_loss

    g = t([1.0, 2.0, 3.0]).requires_grad_()
    g_lambda = t(2.5).reshape(1).requires_grad_()
    w = t([0.5, 0.25, 0.25]).requires_grad_()
    loss = consistency_loss(g, g_lambda, w)
    assert loss.item() == pytest.approx(0.5 * (0.5 * 2.25 + 0.25 * 0.25 + 0.25 * 0.25))
    loss.backward()
    assert g_lambda.grad is None and w.grad is None  # the target and the usage weights are stopped
    assert g.grad.tolist() == [[pytest.approx(0.5 * -1.5), pytest.approx(0.25 * -0.5), pytest.approx(0.25 * 0.5)]]


def test_a_maze_batch_is_a_function_of_its_seed():
    from zoo_predictron import maze_batch

    obs, y = maze_batch(7, 5, size=10)
    assert obs.shape == (5, 1, 10, 10) and obs.dtype == np.float32 and y.shape == (5, 10) and y.dtype == np.float32
    assert np.array_equal(y, maze_connectivity(obs[:, 0] > 0.5))  # the labels are the observation's
    again, _ = maze_batch(7, 5, size=10)
    other, _ = maze_batch(8, 5, size=10)
    assert np.array_equal(obs, again) and not np.array_equal(obs, other)
    # about half the diagonal cells of 20x20 mazes at density 0.3 reach the corner: the task is not trivial
    assert 0.2 < maze_batch(0, 200)[1].mean() < 0.8
