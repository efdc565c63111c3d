"""The sum tree's two inner loops, compiled with numba.

A batched descent or write costs log2(P) dependent steps per element. Vectorised over the batch
in numpy that is ~20 levels of several array operations each, and on a 1M-leaf tree the fixed
cost of those ~150 small operations dominated (about 800 us per sample + update of 256); the
same loops compiled run in a few microseconds. The arithmetic is the numpy version's, step for
step, so results are bit-identical to it (and to `SumTree.rebuild`).

Layout (see `SumTree`): `nodes` [2P] float64, node 1 the root, node i's children 2i and 2i + 1,
leaf j at node P + j.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["BAD_INDEX", "BAD_VALUE", "descend", "scatter", "write_leaves"]


@numba.njit(cache=True, nogil=True)
def descend(nodes: np.ndarray, leaf0: int, u: np.ndarray) -> np.ndarray:
    """[B] int64 leaf indices j with u_b in leaf j's prefix-sum interval, for `u` [B] float64.

    Go left if u is below the left child's sum, else subtract that sum and go right; a right
    child of sum 0 is never entered, so a value rounded to or past the total still lands on a
    positive leaf.
    """
    out = np.empty(u.shape[0], np.int64)
    for b in range(u.shape[0]):
        x = u[b]
        node = 1
        while node < leaf0:
            left = 2 * node
            left_sum = nodes[left]
            if x >= left_sum and nodes[left + 1] > 0.0:
                x -= left_sum
                node = left + 1
            else:
                node = left
        out[b] = node - leaf0
    return out


BAD_INDEX, BAD_VALUE = 1, 2


@numba.njit(cache=True, nogil=True)
def write_leaves(nodes: np.ndarray, leaf0: int, capacity: int, indices: np.ndarray, values: np.ndarray) -> int:
    """Sets leaf `indices[b]` to `values[b]` in order (a repeated index: the last write wins).

    Each write then recomputes its ancestors as left + right from their current children. An
    ancestor's last recomputation comes after every write below it, so the tree ends as the pure
    function of its leaves that `SumTree.rebuild` computes, bit for bit.

    Returns 0, or `BAD_INDEX` / `BAD_VALUE` (and writes nothing) when an index is outside
    [0, capacity) or a value is negative or not finite.
    """
    for b in range(indices.shape[0]):
        if indices[b] < 0 or indices[b] >= capacity:
            return BAD_INDEX
        if not (values[b] >= 0.0 and values[b] < np.inf):  # also false for nan
            return BAD_VALUE
    for b in range(indices.shape[0]):
        node = indices[b] + leaf0
        nodes[node] = values[b]
        node >>= 1
        while node >= 1:
            nodes[node] = nodes[2 * node] + nodes[2 * node + 1]
            node >>= 1
    return 0


@numba.njit(cache=True, nogil=True)
def scatter(dst: np.ndarray, indices: np.ndarray, values: np.ndarray) -> None:
    """dst[indices[b]] = values[b] in order, so a repeated index keeps its last value.

    numpy's `dst[indices] = values` does not promise which repeated write lands. Compiled code
    does not bounds-check, so an index outside [0, len(dst)) raises before anything is written.
    """
    for b in range(indices.shape[0]):
        if indices[b] < 0 or indices[b] >= dst.shape[0]:
            raise IndexError("scatter: index outside the destination")
    for b in range(indices.shape[0]):
        dst[indices[b]] = values[b]
