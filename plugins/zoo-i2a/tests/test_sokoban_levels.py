"""Level generation: every level solvable (breadth-first search on small sizes), one level per seed,
trivial levels rejected."""

from __future__ import annotations

import numpy as np
import pytest
from zoo_i2a import generate, solve, step
from zoo_i2a.generate import is_trivial


@pytest.mark.parametrize("height, width, boxes", [(6, 6, 1), (7, 7, 2)])
def test_every_generated_level_is_solvable_and_not_trivial(height, width, boxes):
    lengths = []
    for seed in range(100):
        level = generate(seed, height, width, boxes)
        assert not is_trivial(level.targets, level.boxes)
        solution = solve(level)
        assert solution is not None, seed
        state = (level.boxes, level.player)
        for a in solution:  # the solution replays to a solved level under the env's rules
            *state, _, solved = step(level.walls, level.targets, state[0], state[1], a)
        assert solved
        lengths.append(len(solution))
    assert min(lengths) >= 2 and np.mean(lengths) > 3  # at least two pushes' worth of moves


def test_a_seed_is_one_level():
    a, b, c = generate(11, 7, 7, 2), generate(11, 7, 7, 2), generate(12, 7, 7, 2)
    assert np.array_equal(a.walls, b.walls) and np.array_equal(a.targets, b.targets)
    assert (a.boxes, a.player) == (b.boxes, b.player)
    assert not (np.array_equal(a.walls, c.walls) and a.boxes == c.boxes and a.player == c.player)


def test_trivial_levels_are_recognised():
    targets = np.zeros((6, 6), bool)
    targets[2, 2] = targets[3, 3] = True
    assert is_trivial(targets, frozenset({(2, 2), (1, 4)}))  # a box already on a target
    assert is_trivial(targets, frozenset({(2, 1), (3, 4)}))  # each one push from a target: 2 < 2 x 2
    assert not is_trivial(targets, frozenset({(1, 1), (4, 4)}))  # 2 + 2 cells away


def test_the_paper_size_generates():
    level = generate(0, 10, 10, 4)
    assert level.walls.shape == (10, 10) and len(level.boxes) == 4 and not is_trivial(level.targets, level.boxes)


def test_an_impossible_room_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no solvable non-trivial 5x5 level with 9 boxes"):
        generate(0, 5, 5, 9, tries=20)
