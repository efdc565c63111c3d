"""An array-backed sum tree with batched update and stratified sampling.

numpy plus two numba-compiled loops (`sum_tree_kernels`); no zoo or pluggy imports.
"""

from __future__ import annotations

import numpy as np

from zoo_per.sum_tree_kernels import BAD_INDEX, BAD_VALUE, descend, write_leaves


class SumTree:
    """A complete binary tree over `capacity` non-negative leaves; each node holds its subtree's sum.

    Layout: a flat float64 array of 2 * P nodes, P = the next power of two >= capacity; node 1 is
    the root, node i has children 2i and 2i + 1, and leaf j is node P + j (leaves >= capacity stay
    0). Parents are always recomputed as left + right from their children (never patched by a
    delta), so the tree is a pure function of its leaves: no drift, and rebuilding it from the
    leaves gives bit-identical sums.

    `update` and `find` run as compiled loops over the batch (one Python call each).
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, (int, np.integer)) or capacity < 1:
            raise ValueError(f"SumTree capacity must be a positive integer, got {capacity!r}")
        self._capacity = int(capacity)
        self._leaf0 = 1 << max(0, (self._capacity - 1).bit_length())  # P
        self._nodes = np.zeros(2 * self._leaf0, np.float64)

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._nodes[1])

    @property
    def leaves(self) -> np.ndarray:
        """[capacity] a read-only view of the leaf values."""
        view = self._nodes[self._leaf0 : self._leaf0 + self._capacity]
        view.flags.writeable = False
        return view

    def __getitem__(self, indices: np.ndarray | int) -> np.ndarray | float:
        return self._nodes[self._leaf0 + np.asarray(indices)]

    def update(self, indices: np.ndarray, values: np.ndarray) -> None:
        """Sets leaves `indices` [B] to `values` [B] (>= 0, finite); repeated indices: last write wins."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        values = np.asarray(values, dtype=np.float64)
        if values.shape != indices.shape:
            values = np.broadcast_to(values, indices.shape)
        code = write_leaves(self._nodes, self._leaf0, self._capacity, indices, values)
        if code == BAD_INDEX:
            raise IndexError(f"SumTree indices must be in [0, {self._capacity})")
        if code == BAD_VALUE:
            raise ValueError("SumTree values must be finite and non-negative")

    def rebuild(self, values: np.ndarray) -> None:
        """Sets all `capacity` leaves at once and recomputes every parent (O(P))."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (self._capacity,):
            raise ValueError(f"SumTree.rebuild expects {self._capacity} values, got shape {values.shape}")
        if not (np.isfinite(values).all() and (values >= 0).all()):
            raise ValueError("SumTree values must be finite and non-negative")
        nodes = self._nodes
        nodes[:] = 0.0
        nodes[self._leaf0 : self._leaf0 + self._capacity] = values
        lo = self._leaf0
        while lo > 1:
            half = lo >> 1
            nodes[half:lo] = nodes[lo : 2 * lo : 2] + nodes[lo + 1 : 2 * lo : 2]
            lo = half

    def find(self, cumulative: np.ndarray) -> np.ndarray:
        """[B] leaf indices whose prefix-sum interval [S_{j-1}, S_j) holds each value of `cumulative` [B].

        Descends level by level: go left if the value is below the left child's sum, else subtract
        it and go right. A right child whose sum is 0 is never entered, so every answer is a leaf
        with a positive value (if the total is positive), even when rounding puts a value at or
        past the total.
        """
        if not self._nodes[1] > 0:
            raise ValueError("SumTree is empty (total priority is 0): nothing to sample")
        return descend(self._nodes, self._leaf0, np.asarray(cumulative, dtype=np.float64).reshape(-1))

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """[batch_size] int64 leaf indices, leaf j drawn with probability value_j / total.

        Stratified as in Schaul et al. (2016, Appendix B.2.1): the range [0, total) is split into
        batch_size equal segments and one value is drawn uniformly in each, so each index's
        expected count in the batch is exactly batch_size * value_j / total.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        total = self._nodes[1]
        u = (np.arange(batch_size, dtype=np.float64) + rng.random(batch_size)) * (total / batch_size)
        return self.find(u)
