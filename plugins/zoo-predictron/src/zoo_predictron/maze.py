"""The predictron's maze task: random mazes and which diagonal cells reach the bottom-right corner.
Pure numpy."""

from __future__ import annotations

import numpy as np

__all__ = ["maze_batch", "maze_connectivity", "random_mazes"]


def maze_connectivity(walls: np.ndarray) -> np.ndarray:
    """Which diagonal cells are joined to the bottom-right corner.

    Args:
      walls: ``[N, H, H]`` bool, True where a cell is a wall.

    Returns:
      ``[N, H]`` float32: entry i is 1 where cell (i, i) is free and a path of free cells, moving
      between the four neighbours, joins it to (H−1, H−1); else 0 (a walled corner joins nothing).
    """
    walls = np.asarray(walls)
    if walls.ndim != 3 or walls.shape[1] != walls.shape[2] or walls.dtype != np.bool_:
        raise ValueError(f"expected square bool mazes [N, H, H]; got {walls.dtype} {list(walls.shape)}")
    free = ~walls
    reach = np.zeros_like(free)
    reach[:, -1, -1] = free[:, -1, -1]
    while True:  # flood fill from the corner, every maze at once
        grown = reach.copy()
        grown[:, 1:, :] |= reach[:, :-1, :]
        grown[:, :-1, :] |= reach[:, 1:, :]
        grown[:, :, 1:] |= reach[:, :, :-1]
        grown[:, :, :-1] |= reach[:, :, 1:]
        grown &= free
        if np.array_equal(grown, reach):
            break
        reach = grown
    index = np.arange(walls.shape[1])
    return reach[:, index, index].astype(np.float32)


def random_mazes(rng: np.random.Generator, n: int, size: int = 20, density: float = 0.3) -> np.ndarray:
    """``[n, size, size]`` bool mazes: each cell a wall with probability ``density``, independently,
    except the bottom-right cell, which is always free."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1]; got {density}")
    walls = rng.random((n, size, size)) < density
    walls[:, -1, -1] = False
    return walls


def maze_batch(seed: int, n: int, size: int = 20, density: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` mazes drawn from ``seed`` alone and their labels: observations ``[n, 1, size, size]``
    float32 (1 is a wall: the maze as a one-channel image) and targets ``[n, size]`` float32
    (:func:`maze_connectivity`). The same seed gives the same batch, so a held-out set is a list of
    seeds and a training stream is a seed per batch."""
    walls = random_mazes(np.random.default_rng(seed), n, size, density)
    return walls[:, None].astype(np.float32), maze_connectivity(walls)
